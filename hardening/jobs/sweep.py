"""Keeping the books of jobs honest after a worker dies, and keeping them no longer than needed.

A worker killed mid-job (power cut, OOM, `kill -9`) leaves its job's row 'running' for ever,
counted against its asker's unfinished jobs (jobs_per_user()), so four such crashes would lock a
person out of heavy work. Procrastinate knows a worker has gone when its heartbeat stops; a
running job whose worker has no fresh heartbeat is failed here, with words saying to ask again.
A job run in the asking process (queue=False) has no worker: it is failed when it has run longer
than any job may. Finished jobs are deleted after RETENTION_DAYS: their results are plans and
reports people asked for, not records to keep (the audit log keeps what was read)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

HEARTBEAT_GRACE_S: Final = 120  # procrastinate beats every 10 s; its own timeout is 30 s
IN_PROCESS_LIMIT_H: Final = 6
RETENTION_DAYS: Final = 30
STALLED: Final = "the worker running it stopped before it finished; nothing was saved: ask again"

_STALLED = text(f"""
    SELECT j.job_id, q.id AS queue_id FROM jobs j
    LEFT JOIN procrastinate.procrastinate_jobs q ON q.id = j.queue_job_id AND q.status = 'doing'
    WHERE j.status = 'running' AND CASE
        WHEN j.queue_job_id IS NULL
            THEN j.started_at < now() - make_interval(hours => {IN_PROCESS_LIMIT_H})
        ELSE NOT EXISTS (
            SELECT 1 FROM procrastinate.procrastinate_workers w
            WHERE w.id = q.worker_id
              AND w.last_heartbeat > now() - make_interval(secs => {HEARTBEAT_GRACE_S}))
        END
    FOR UPDATE OF j SKIP LOCKED
""")
_FORGET_OLD = text(
    "DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') "
    f"AND finished_at < now() - make_interval(days => {RETENTION_DAYS}) RETURNING job_id"
)


@dataclass(frozen=True)
class Swept:
    failed: list[int]
    deleted: int


def sweep(engine: Engine) -> Swept:
    """One pass, on the schema owner's engine (the `maintenance` policy on jobs)."""
    with engine.begin() as conn:
        stalled = conn.execute(_STALLED).all()
        for row in stalled:
            if row.queue_id is not None:  # procrastinate's row too, or it stays 'doing'
                conn.execute(
                    text("SELECT procrastinate.procrastinate_finish_job_v1(:q, 'failed', false)"),
                    {"q": row.queue_id},
                )
        failed = [row.job_id for row in stalled]
        conn.execute(
            text(
                "UPDATE jobs SET status = 'failed', step = 'failed', error = :error, "
                "finished_at = now() WHERE job_id = ANY(:ids)"
            ),
            {"error": STALLED, "ids": failed},
        )
        deleted = len(conn.execute(_FORGET_OLD).all())
    return Swept(failed, deleted)


def sweep_forever(engine: Engine, every_s: float, say: Callable[[str], None]) -> None:
    """The worker's background pass; a failing pass is logged and tried again."""
    while True:
        try:
            swept = sweep(engine)
            if swept.failed:
                say(f"jobs whose worker stopped, now failed: {swept.failed}")
            if swept.deleted:
                say(f"finished jobs older than {RETENTION_DAYS} days deleted: {swept.deleted}")
        except Exception:
            log.exception("job sweep failed; trying again in %s s", every_s)
        time.sleep(every_s)
