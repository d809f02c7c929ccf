"""`/v1/jobs`: follow, fetch and cancel long work. Long routes (plans, schedules, the yearly
report) answer 202 with the job, and its URL in `Location`; see `accepted`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Connection

from hardening.api.deps import ConnDep
from hardening.api.models import MAX_ID
from hardening.jobs import store
from hardening.jobs.kinds import KINDS

router = APIRouter(prefix="/jobs", tags=["jobs"])
JobIdPath = Annotated[int, Path(gt=0, le=MAX_ID, description="The job's id")]
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Queued: follow the job at its URL (the `Location` header)."},
    503: {"description": "You have as many unfinished jobs as one person may: Retry-After."},
}


def accepted(
    conn: Connection, request: Request, response: Response, kind: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Queue kind for the request's user; the route answers 202 with the job and its URL."""
    job = store.get(conn, store.submit(conn, kind, params))
    url = str(request.url_for("get_job", job_id=job.job_id))
    response.headers["Location"] = url
    return job.as_dict() | {"url": url}


@router.get("", summary="Your latest jobs, newest first")
def list_jobs(
    conn: ConnDep,
    kind: Annotated[str | None, Query(description=", ".join(sorted(KINDS)))] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    return [job.as_dict() for job in store.recent(conn, kind, limit)]


@router.get("/{job_id}", name="get_job", summary="One job: progress, and its result when done")
def get_job(conn: ConnDep, job_id: JobIdPath) -> dict[str, Any]:
    """`status` is queued, running, succeeded, failed or cancelled; `progress` runs from 0 to 1
    with `step` in words; `result` is what the long route would have answered, once
    succeeded; `error` says why it failed."""
    return store.get(conn, job_id).as_dict()


@router.post("/{job_id}/cancel", summary="Cancel a job")
def cancel_job(conn: ConnDep, job_id: JobIdPath) -> dict[str, Any]:
    """A queued job never starts; a running one stops at its next step and saves nothing; a
    finished one is left as it was."""
    return store.cancel(conn, job_id).as_dict()
