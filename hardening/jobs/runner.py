"""Run one job as the user who asked for it, recording each step on its row.

Bookkeeping runs on the schema owner's connection (the `maintenance` policy on `jobs`); the
job's own work runs as its user, so their row-level security applies as it would have in
the request. Cancellation is seen between steps: a cancelled job writes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from hardening.db.engine import Actor, transaction
from hardening.errors import HardeningError
from hardening.jobs.kinds import job_kind
from hardening.jobs.store import result_json

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


class _Cancelled(Exception):
    pass


def _book(engine: Engine, job_id: int, sql: str, **values: Any) -> Any:
    with engine.begin() as conn:
        result = conn.execute(text(sql), {"id": job_id, **values})
        return result.first() if result.returns_rows else None


def _step(engine: Engine, job_id: int, progress: float, step: str) -> None:
    row = _book(
        engine,
        job_id,
        "UPDATE jobs SET progress = :p, step = CASE WHEN cancel_requested THEN step ELSE :s END "
        "WHERE job_id = :id RETURNING cancel_requested",
        p=progress,
        s=step,
    )
    if row is not None and row[0]:
        raise _Cancelled


def _actor(engine: Engine, user_id: int | None) -> Actor:
    if user_id is None:
        return Actor.system()
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT org_id, active FROM users WHERE user_id = :u"), {"u": user_id}
        ).first()
    if row is None or not row[1]:
        raise HardeningError("the person who asked for it no longer has an active account")
    return Actor(user_id=user_id, org_id=row[0])


def run_job(engine: Engine, job_id: int, progress: Progress | None = None) -> str:
    """Run job_id if it is still queued; returns its final status. engine: the owner's."""
    claimed = _book(
        engine,
        job_id,
        "UPDATE jobs SET status = 'running', started_at = now(), progress = 0.05, "
        "step = 'reading the data' WHERE job_id = :id AND status = 'queued' "
        "RETURNING kind, user_id, params",
    )
    if claimed is None:
        return "skipped"  # cancelled before it started, or another worker has it
    kind, user_id, params = claimed
    spec = job_kind(kind)

    def step(fraction: float, words: str) -> None:
        _step(engine, job_id, fraction, words)
        if progress is not None:
            progress(fraction, words)

    try:
        actor = _actor(engine, user_id)
        with transaction(engine, actor) as conn:
            result = spec.read(conn, actor, params)
        if spec.solve is not None:
            step(0.2, spec.solving)
            result = spec.solve(result, params)
        if spec.write is not None:
            step(0.9, "saving")
            with transaction(engine, actor) as conn:
                result = spec.write(conn, actor, params, result)
        step(1.0, "done")
    except _Cancelled:
        _finish(engine, job_id, "cancelled", "cancelled while running; nothing was saved")
        return "cancelled"
    except HardeningError as exc:
        _finish(engine, job_id, "failed", "failed", error=str(exc))
        return "failed"
    except Exception:
        log.exception("job %s (%s) failed", job_id, kind)
        _finish(engine, job_id, "failed", "failed", error="it failed unexpectedly; the "
                "worker's log says why")  # fmt: skip
        return "failed"
    _finish(engine, job_id, "succeeded", "done", result=result_json(result))
    return "succeeded"


def _finish(
    engine: Engine, job_id: int, status: str, step: str, error: str | None = None,
    result: str | None = None,
) -> None:  # fmt: skip
    _book(
        engine,
        job_id,
        "UPDATE jobs SET status = :status, step = :step, error = :error, "
        "result = CAST(:result AS jsonb), finished_at = now(), "
        "progress = CASE WHEN :status = 'succeeded' THEN 1 ELSE progress END "
        "WHERE job_id = :id",
        status=status,
        step=step,
        error=error,
        result=result,
    )
