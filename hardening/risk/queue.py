"""Re-scoring asked for by people and done by the system.

Scores and their factor explanations are computed from all the data and written only by the
system or analysts (a visit team or a housing provider sees too little to compute them, and
must not be able to write them). So when such a user records something the risk model reads (a
visit, a completed order), their transaction asks for a re-score (`request`, a row in
rescore_requests that the database accepts only for what the user can see) and a system worker
(`hardening risk drain --watch`, started by `make run`) does it (`drain`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hardening.db.engine import Actor, transaction
from hardening.errors import HardeningError
from hardening.risk.incremental import rescore_after
from hardening.security import access

log = logging.getLogger(__name__)
QueuedCause = Literal["visit", "measure"]


def may_write_scores(conn: Connection) -> bool:
    """Whether the transaction's actor writes scores itself (the risk_scores policies)."""
    return access.may(conn, "app_writes_scores")


def request(conn: Connection, cause: QueuedCause, object_id: int) -> None:
    """Ask, in the caller's transaction, for the system to re-score what object_id reaches."""
    conn.execute(
        text("INSERT INTO rescore_requests (cause, object_id) VALUES (:c, :o)"),
        {"c": cause, "o": object_id},
    )


@dataclass(frozen=True)
class Drained:
    request_id: int
    cause: str
    object_id: int
    outcome: str


def drain(conn: Connection, limit: int = 100) -> list[Drained]:
    """Do up to `limit` waiting requests, oldest first, as the system; each in a savepoint, so
    one failure (recorded as its outcome) never blocks the rest. Concurrent workers skip what
    another holds."""
    waiting = conn.execute(
        text(
            "SELECT request_id, cause, object_id FROM rescore_requests WHERE done_at IS NULL "
            "ORDER BY request_id LIMIT :n FOR UPDATE SKIP LOCKED"
        ),
        {"n": limit},
    ).all()
    done: list[Drained] = []
    for row in waiting:
        try:
            with conn.begin_nested():
                _, uprns = rescore_after(conn, row.cause, row.object_id, datetime.now(UTC))
            outcome = f"re-scored {len(uprns)} address(es)"
        except (HardeningError, SQLAlchemyError) as exc:
            log.warning("re-score request %s failed: %s", row.request_id, exc)
            outcome = f"failed: {str(exc).splitlines()[0][:300]}"
        conn.execute(
            text("UPDATE rescore_requests SET done_at = now(), outcome = :o WHERE request_id = :r"),
            {"o": outcome, "r": row.request_id},
        )
        done.append(Drained(int(row.request_id), str(row.cause), int(row.object_id), outcome))
    return done


def drain_forever(
    engine: Engine, every_s: float, say: Callable[[str], None], rounds: int | None = None
) -> None:
    """Drain, then wait every_s seconds when nothing was waiting; `rounds` bounds it (tests)."""
    count = 0
    while rounds is None or count < rounds:
        count += 1
        with transaction(engine, Actor.system()) as conn:
            done = drain(conn)
        for d in done:
            say(f"{d.cause} {d.object_id}: {d.outcome}")
        if not done:
            time.sleep(every_s)
