"""Re-scoring the address a visit is about, when the risk model reads what the visit recorded.

What the risk factors read of a visit (hardening/risk/factors.py, worktables.py): a vulnerable
occupant or a subject type such as a Class A user or a cuckooed occupant (`vulnerability`), and
a visit to a cuckooed occupant as an earlier cuckooing report (`prior_here`, `prior_block`,
`near_repeat`...). The signs-of-cuckooing checklist and SAFE markers feed no factor, so they
alone trigger nothing.

Scores are computed from all the data and written by the system or analysts only (a visit team
may not see works or cameras, and scores computed from its view would be wrong). So a visit
recorded by a system, admin or analyst actor is re-scored in its own transaction; one recorded
by a visit team asks the system worker for it (hardening.risk.queue), the way a completed
order does; the caller gets back only how many addresses, or "deferred".
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from hardening.errors import HardeningError
from hardening.risk import queue
from hardening.risk.events import Selector
from hardening.risk.factors import BY_NAME
from hardening.risk.incremental import rescore_after
from hardening.risk.model import Model, load
from hardening.risk.scoring import latest_run
from hardening.visits.models import VisitInput

log = logging.getLogger(__name__)
Status = Literal["done", "deferred", "not_needed", "failed"]


def feeds_model(model: Model, visit: VisitInput, today: date) -> bool:
    """Whether any factor of the model reads this visit (inside the factor's window)."""
    for name, p in model.params("addresses").items():
        factor = BY_NAME[name]
        window = p.get("window_days")
        if window is not None and visit.visited_on < today - timedelta(days=int(window)):
            continue
        if factor.source == "visits" and (
            visit.occupant_vulnerable or visit.subject_type in p.get("subject_types", ())
        ):
            return True
        if (
            factor.source == "events"
            and visit.subject_type == "cuckooed_occupant"  # the visits worktables reads
            and Selector.parse(p["events"]).matches("cuckooing", "", "visit")
        ):
            return True
    return False


def _scored_model(conn: Connection) -> Model | None:
    """The default model when a full run of it exists (no scores yet: nothing to keep fresh)."""
    model = load(conn, None, store=False)
    return model if latest_run(conn, model.version, "addresses") is not None else None


def after_visit(
    conn: Connection, visit_id: int, visit: VisitInput, today: date
) -> tuple[Status, int | None]:
    """Re-score now when the actor may write scores; else say it is deferred."""
    model = _scored_model(conn)
    if model is None or not feeds_model(model, visit, today):
        return "not_needed", None
    if not queue.may_write_scores(conn):
        queue.request(conn, "visit", visit_id)
        return "deferred", None
    return rescore_visit(conn, visit_id)


def rescore_visit(conn: Connection, visit_id: int) -> tuple[Status, int | None]:
    """Re-score what the visit reaches, in a savepoint: a scoring failure never loses the
    visit (the next full run puts the score right)."""
    try:
        with conn.begin_nested():
            _, uprns = rescore_after(conn, "visit", visit_id, as_of=datetime.now(UTC))
    except (HardeningError, SQLAlchemyError) as exc:
        log.warning("re-scoring after visit %s failed: %s", visit_id, exc)
        return "failed", None
    return "done", len(uprns)
