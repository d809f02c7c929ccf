"""Long work on a page: ask for it as a job, then follow it. The page remembers the job it
asked for; a later visit (another session too) finds the user's latest job of that kind, so a
person can leave a page while a plan is made and come back to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from hardening.db.engine import Actor
from hardening.jobs import store
from hardening.jobs.store import Job
from hardening.works.problem import LOCAL_TZ
from ui.labels import day
from ui.session import as_actor

UNFINISHED = ("queued", "running")
REFRESH_S = 2.0
LOCAL = ZoneInfo(LOCAL_TZ)
RECENT = timedelta(hours=12)  # from an earlier visit, a job of today's work is picked up


def ask(actor: Actor, key: str, kind: str, params: dict[str, Any]) -> None:
    """Queue kind for the signed-in user; the page follows it under key."""
    with as_actor(actor) as conn:
        st.session_state[key] = store.submit(conn, kind, params)


def put_aside(key: str) -> None:
    """The page is done with its job (committed, discarded): show it no more."""
    st.session_state[key] = None


def latest(actor: Actor, key: str, kinds: tuple[str, ...], pick_up: bool = True) -> Job | None:
    """The job the page asked for in this session (page changes keep it), else, with pick_up,
    the user's latest of these kinds from an earlier session when it is recent (today's
    work)."""
    with as_actor(actor) as conn:
        if key in st.session_state:
            job_id = st.session_state[key]
            return None if job_id is None else store.get(conn, int(job_id))
        if not pick_up:
            return None
        jobs = [j for kind in kinds for j in store.recent(conn, kind, limit=1)]
        since = datetime.now(UTC) - RECENT
        jobs = [j for j in jobs if j.created_at >= since]
        if not jobs:
            return None
        newest = max(jobs, key=lambda j: j.job_id)
        st.session_state[key] = newest.job_id
        return store.get(conn, newest.job_id)


def follow(actor: Actor, key: str, kinds: tuple[str, ...], pick_up: bool = True) -> Job | None:
    """Progress (with Cancel) while the latest job runs; the job once it has succeeded; what
    went wrong, in words, when it failed or was cancelled."""
    job = latest(actor, key, kinds, pick_up)
    if job is None:
        return None
    if job.status in UNFINISHED:
        _progress(actor, job.job_id)
        return None
    if job.status == "failed":
        st.error(f"The {job.title} failed: {job.error}")
    elif job.status == "cancelled":
        st.info(f"The {job.title} was cancelled.")
    elif job.finished_at is not None:
        done = job.finished_at.astimezone(LOCAL)
        st.caption(f"Your {job.title}, made {day(done)} at {done:%H:%M}.")
    return job if job.status == "succeeded" else None


@st.fragment(run_every=REFRESH_S)
def _progress(actor: Actor, job_id: int) -> None:
    with as_actor(actor) as conn:
        job = store.get(conn, job_id)
    if job.status not in UNFINISHED:
        st.rerun()  # the whole page, to show the result
    waiting = "waiting for the worker" if job.status == "queued" else job.step
    st.progress(job.progress, text=f"{job.title}: {waiting}")
    st.caption("You can leave this page; the result waits for you here.")
    if st.button("Cancel", key=f"cancel-job-{job_id}"):
        with as_actor(actor) as conn:
            store.cancel(conn, job_id)
        st.rerun()
