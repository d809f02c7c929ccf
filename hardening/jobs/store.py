"""Asking for a job, reading how it goes, cancelling it: as the connection's actor, whose own
jobs are all they see (row-level security on `jobs`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, text
from sqlalchemy.exc import DBAPIError

from hardening.clikit import to_json
from hardening.errors import NotFoundError, OverloadedError
from hardening.jobs.kinds import job_kind
from hardening.models import Result

RETRY_AFTER_S = 15  # a refused job: about the time one job takes to finish
_COLUMNS = (
    "job_id, kind, params, status, progress, step, result, error, created_at, started_at, "
    "finished_at"
)


def submit(conn: Connection, kind: str, params: dict[str, Any], queue: bool = True) -> int:
    """A new job for conn's actor; queue=False: the caller runs it itself (runner.run_job).
    At most a few unfinished jobs per user: beyond them OverloadedError (503, Retry-After)."""
    job_kind(kind)
    try:
        job_id: int = conn.execute(
            text("SELECT job_submit(:kind, CAST(:params AS jsonb), :queue)"),
            {"kind": kind, "params": to_json(params), "queue": queue},
        ).scalar_one()
    except DBAPIError as exc:
        if "too_many_jobs" not in str(exc.orig):
            raise
        limit = str(getattr(getattr(exc.orig, "diag", None), "message_detail", "") or "")
        raise OverloadedError(
            f"you have as many unfinished jobs as one person may ({limit}): wait for one to "
            "finish, or cancel one",
            RETRY_AFTER_S,
        ) from exc
    return job_id


@dataclass(frozen=True)
class Job(Result):
    """A job as people and clients read it: its kind in words, how far it is, what it gave."""

    job_id: int
    kind: str
    title: str
    params: dict[str, Any]
    status: str  # queued, running, succeeded, failed or cancelled
    progress: float  # 0 to 1
    step: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    result: Any  # what the long route would have answered, once succeeded


def describe(row: RowMapping) -> Job:
    status = str(row["status"])
    return Job(
        row["job_id"], row["kind"], job_kind(row["kind"]).title, row["params"], status,
        round(float(row["progress"]), 3), row["step"], row["created_at"], row["started_at"],
        row["finished_at"], row["error"], row["result"] if status == "succeeded" else None,
    )  # fmt: skip


def get(conn: Connection, job_id: int) -> Job:
    row = (
        conn.execute(text(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = :id"), {"id": job_id})
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"you have no job {job_id}")
    return describe(row)


def recent(conn: Connection, kind: str | None = None, limit: int = 20) -> list[Job]:
    """conn's actor's latest jobs, newest first (results left out: fetch one job for its)."""
    if kind is not None:
        job_kind(kind)
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM jobs WHERE (CAST(:kind AS text) IS NULL OR kind = :kind) "
            "AND user_id IS NOT DISTINCT FROM app_user_id() ORDER BY job_id DESC LIMIT :limit"
        ),
        {"kind": kind, "limit": limit},
    ).mappings()
    return [replace(describe(r), result=None) for r in rows]


def cancel(conn: Connection, job_id: int) -> Job:
    """Cancel: a queued job never starts; a running one stops at its next step, saving
    nothing. A finished job is left as it is."""
    outcome = conn.execute(text("SELECT job_cancel(:id)"), {"id": job_id}).scalar_one()
    if outcome is None:
        raise NotFoundError(f"you have no job {job_id}")
    return get(conn, job_id)


def result_json(result: dict[str, Any]) -> str:
    """A result as stored: dates as ISO text, as the API would send them."""
    return json.dumps(json.loads(to_json(result)))
