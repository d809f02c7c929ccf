"""`hardening worker` and `hardening jobs ...`; `queue_instead` lets long commands take
`--no-wait` (queue the work for a worker, print the job, return at once)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from hardening.clikit import JsonOption, emit, info, system_connection, system_engine_scope
from hardening.jobs import store
from hardening.jobs.queue import work
from hardening.jobs.store import Job
from hardening.jobs.sweep import sweep, sweep_forever
from hardening.risk.queue import drain_forever
from hardening.settings import get_settings

jobs_app = typer.Typer(help="Long work queued for the worker: follow, wait for, cancel.")

NoWaitOption = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="Queue it for the worker (`hardening worker`) and print the job id at once; "
        "follow it with `hardening jobs wait ID`.",
    ),
]
JobId = Annotated[int, typer.Argument(min=1, help="The job's id.")]


def _line(job: Job) -> str:
    tail = f": {job.error}" if job.error else ""
    return f"job {job.job_id} {job.title}: {job.status} ({job.progress:.0%}, {job.step}){tail}"


def queue_instead(
    kind: str,
    params: dict[str, Any],
    as_json: bool,
    check: Callable[[Connection], None] | None = None,
) -> None:
    """Queue kind as the system and print the job (the --no-wait path of long commands);
    check refuses unknown ids first, so a job never starts only to fail on one."""
    with system_connection() as conn:
        if check is not None:
            check(conn)
        job = store.get(conn, store.submit(conn, kind, params))
    follow = f"\nfollow it: hardening jobs wait {job.job_id}"
    emit(job.as_dict(), as_json, lambda _: _line(job) + follow)


def _job(job_id: int) -> Job:
    with system_connection() as conn:
        return store.get(conn, job_id)


@jobs_app.command("list")
def list_cmd(
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. cctv_plan.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: JsonOption = False,
) -> None:
    """The system's latest jobs (those queued with --no-wait), newest first."""
    with system_connection() as conn:
        jobs = store.recent(conn, kind, limit)
    said = "\n".join(map(_line, jobs)) or "no jobs yet"
    emit([j.as_dict() for j in jobs], as_json, lambda _: said)


@jobs_app.command("show")
def show_cmd(job_id: JobId, as_json: JsonOption = False) -> None:
    """One job: its progress, and its result once it has succeeded."""
    job = _job(job_id)
    emit(job.as_dict(), as_json, lambda _: _line(job))


@jobs_app.command("wait")
def wait_cmd(
    job_id: JobId,
    every: Annotated[float, typer.Option(min=0.2, help="Seconds between looks.")] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Wait for a job, showing its progress on stderr; prints it when it ends (exit 1 when it
    failed or was cancelled)."""
    last = ""
    while True:
        job = _job(job_id)
        if _line(job) != last:
            last = _line(job)
            info(last)
        if job.status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(every)
    emit(job.as_dict(), as_json, lambda _: _line(job))
    if job.status != "succeeded":
        raise typer.Exit(1)


@jobs_app.command("cancel")
def cancel_cmd(job_id: JobId, as_json: JsonOption = False) -> None:
    """Cancel a job: a queued one never starts; a running one stops at its next step."""
    with system_connection() as conn:
        job = store.cancel(conn, job_id)
    emit(job.as_dict(), as_json, lambda _: _line(job))


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        concurrency: Annotated[int, typer.Option(min=1, max=16, help="Jobs at once.")] = 2,
        once: Annotated[
            bool, typer.Option("--once", help="Run what is queued, then stop (no re-scores).")
        ] = False,
        nice: Annotated[int, typer.Option(min=0, max=19, help="Lower CPU priority.")] = 10,
    ) -> None:
        """Run queued jobs (plans, schedules, reports, scoring) as the people who asked, and
        the re-scores that visits and completed orders ask for; until stopped (`make run`
        starts one)."""
        settings = get_settings()
        with system_engine_scope() as engine:
            if not once:
                threading.Thread(
                    target=drain_forever, args=(engine, 5.0, info), daemon=True,
                    name="rescore-drain",
                ).start()  # fmt: skip
                threading.Thread(
                    target=sweep_forever, args=(engine, 60.0, info), daemon=True,
                    name="job-sweep",
                ).start()  # fmt: skip
            else:
                sweep(engine)
            info("worker: running queued jobs" + (" until the queue is empty" if once else ""))
            work(settings, engine, concurrency, once, nice)
