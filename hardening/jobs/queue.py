"""The queue: procrastinate, on the project's own database (schema `procrastinate`, installed by
`hardening db migrate`), no other server. Jobs are queued by job_submit() in SQL; this module
gives the worker that runs them."""

from __future__ import annotations

import logging
import os

import procrastinate
from sqlalchemy import Engine

from hardening.db.urls import libpq_conninfo, owner_url
from hardening.jobs.runner import run_job
from hardening.settings import Settings

QUEUE = "heavy"  # job_submit() queues here


def queue_app(settings: Settings, engine: Engine) -> procrastinate.App:
    """The queue of settings' database; its jobs run on engine (the schema owner's)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_conninfo(owner_url(settings)),
        kwargs={"options": "-c search_path=procrastinate,public"},
        min_size=1,
        max_size=4,
    )
    app = procrastinate.App(connector=connector)

    @app.task(name="run_job", queue=QUEUE)
    def run_job_task(job_id: int) -> None:
        run_job(engine, job_id)

    return app


def work(settings: Settings, engine: Engine, concurrency: int, once: bool, nice: int) -> None:
    """Run jobs until stopped (once: until the queue is empty). Niced, so look-ups and the
    control room's requests come first on a shared machine."""
    if nice:
        os.nice(nice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    queue_app(settings, engine).run_worker(
        queues=[QUEUE], concurrency=concurrency, wait=not once, install_signal_handlers=not once
    )
