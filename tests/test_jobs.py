"""Long work as jobs (docs/capacity.md): long routes answer 202 with the job's URL; the worker
(procrastinate) runs the job as the user who asked; progress, result and cancel; one user's
unfinished jobs are capped (503 with Retry-After) while look-ups keep answering; nobody sees
another's job. No timings here (benchmarks/bench_mixed.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from engines import run_queued_jobs
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from typer.testing import CliRunner
from world import NORTH, World

from hardening.api.app import create_app
from hardening.cli import app as cli
from hardening.db.engine import transaction
from hardening.jobs import store
from hardening.jobs.runner import run_job
from hardening.jobs.sweep import sweep

PLAN = {"area": NORTH, "new_sites": 1, "time_limit_s": 1}
LIGHT = "/v1/layers/stations"  # a control-room look-up


def bearer(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def client(test_db_url: URL) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(autouse=True)
def no_jobs_left(owner_engine: Engine) -> Iterator[None]:
    """Each test starts and ends with an empty queue, so the per-user cap is its own."""

    def empty() -> None:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM jobs"))
            conn.execute(text("DELETE FROM procrastinate.procrastinate_jobs"))

    empty()
    yield
    empty()


def job_of(client: TestClient, response: httpx.Response, token: dict[str, str]) -> Any:
    return client.get(response.headers["location"], headers=token)


def test_a_plan_is_a_job_the_worker_runs_as_the_user_who_asked(
    client: TestClient, tokens: dict[str, str], owner_engine: Engine
) -> None:
    planner = bearer(tokens, "planner")
    asked = client.post("/v1/plans/cctv", json={**PLAN, "name": "Job plan"}, headers=planner)
    assert asked.status_code == 202, asked.text
    queued = asked.json()
    assert queued["status"] == "queued" and queued["title"] == "CCTV siting plan"
    assert asked.headers["location"].endswith(f"/v1/jobs/{queued['job_id']}")
    assert queued["url"] == asked.headers["location"]

    # Nobody else sees it: not another user, not the control room.
    for other in ("analyst", "control_room"):
        assert job_of(client, asked, bearer(tokens, other)).status_code == 404

    run_queued_jobs(owner_engine)
    done = job_of(client, asked, planner).json()
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1 and done["step"] == "done" and done["finished_at"]
    assert done["result"]["kind"] == "cctv" and done["result"]["area_id"] == NORTH
    # Written as the planner: the saved plan is theirs to read.
    plan = client.get(f"/v1/plans/{done['result']['plan_id']}", headers=planner)
    assert plan.status_code == 200 and plan.json()["name"] == "Job plan"
    listed = client.get("/v1/jobs", headers=planner).json()
    assert [j["job_id"] for j in listed] == [queued["job_id"]]
    assert client.get("/v1/jobs", headers=bearer(tokens, "analyst")).json() == []


def test_schedule_and_report_are_jobs_too(
    client: TestClient, tokens: dict[str, str], owner_engine: Engine
) -> None:
    schedule = client.get(
        "/v1/works/schedule", params={"start": "2026-03-02", "days": 2, "seconds": 0.5},
        headers=bearer(tokens, "housing_a"),
    )  # fmt: skip
    report = client.get(
        "/v1/reports/kpi", params={"year": 2025}, headers=bearer(tokens, "visit_team")
    )
    assert schedule.status_code == report.status_code == 202, (schedule.text, report.text)
    # Refused at once, not as a failed job: a role the report is not for, an unknown area.
    refused = client.get(
        "/v1/reports/kpi", params={"year": 2025}, headers=bearer(tokens, "housing_a")
    )
    assert refused.status_code == 403
    unknown = client.post("/v1/plans/cctv", json={**PLAN, "area": "nowhere"},
                          headers=bearer(tokens, "planner"))  # fmt: skip
    assert unknown.status_code == 404 and "nowhere" in unknown.json()["description"]

    run_queued_jobs(owner_engine)
    made = job_of(client, schedule, bearer(tokens, "housing_a")).json()
    assert made["status"] == "succeeded", made
    assert {"visits", "unscheduled"} <= set(made["result"])
    kpi = job_of(client, report, bearer(tokens, "visit_team")).json()
    assert kpi["status"] == "succeeded", kpi
    assert kpi["result"]["year"] == 2025


def test_cancelled_before_it_starts_it_never_runs(
    client: TestClient, tokens: dict[str, str], owner_engine: Engine
) -> None:
    planner = bearer(tokens, "planner")
    asked = client.post("/v1/plans/cctv", json=PLAN, headers=planner)
    job_id = asked.json()["job_id"]
    assert (
        client.post(f"/v1/jobs/{job_id}/cancel", headers=bearer(tokens, "analyst")).status_code
        == 404
    )
    cancelled = client.post(f"/v1/jobs/{job_id}/cancel", headers=planner)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    run_queued_jobs(owner_engine)
    after = job_of(client, asked, planner).json()
    assert after["status"] == "cancelled" and after["result"] is None
    assert after["started_at"] is None


def test_cancelled_while_running_it_stops_and_saves_nothing(
    owner_engine: Engine, world: World
) -> None:
    planner = world.actors["planner"]
    with transaction(owner_engine, planner) as conn:
        job_id = store.submit(conn, "cctv_plan", {**PLAN, "name": "Never saved"}, queue=False)
    seen: list[tuple[float, str]] = []

    def cancel_once_solving(fraction: float, step: str) -> None:
        seen.append((fraction, step))
        if len(seen) == 1:
            with transaction(owner_engine, planner) as conn:
                assert store.cancel(conn, job_id).step == "cancelling"

    assert run_job(owner_engine, job_id, cancel_once_solving) == "cancelled"
    assert seen == [(0.2, "choosing camera sites")]
    with transaction(owner_engine, planner) as conn:
        job = store.get(conn, job_id)
        saved = conn.execute(text("SELECT count(*) FROM coverage_plans WHERE name = 'Never saved'"))
        assert saved.scalar_one() == 0
    assert job.status == "cancelled" and "nothing was saved" in (job.step or "")


def test_a_failed_job_says_why(owner_engine: Engine, world: World) -> None:
    planner = world.actors["planner"]
    with transaction(owner_engine, planner) as conn:  # past the route's check, as if stale
        job_id = store.submit(conn, "cctv_plan", {**PLAN, "area": "gone"}, queue=False)
    assert run_job(owner_engine, job_id) == "failed"
    with transaction(owner_engine, planner) as conn:
        job = store.get(conn, job_id)
    assert job.status == "failed" and "unknown area 'gone'" in (job.error or "")
    assert run_job(owner_engine, job_id) == "skipped"  # a finished job is not run again


def test_too_many_unfinished_jobs_is_503_while_lookups_answer(
    client: TestClient, tokens: dict[str, str], owner_engine: Engine
) -> None:
    planner = bearer(tokens, "planner")
    with owner_engine.connect() as conn:
        cap = conn.execute(text("SELECT jobs_per_user()")).scalar_one()
    for _ in range(cap):
        assert client.post("/v1/plans/cctv", json=PLAN, headers=planner).status_code == 202
    busy = client.post("/v1/plans/cctv", json=PLAN, headers=planner)
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == str(store.RETRY_AFTER_S)
    assert busy.json()["code"] == "overloaded" and "unfinished jobs" in busy.json()["description"]
    # Another user's work and the control room's look-ups are not held up by the planner's.
    assert (
        client.post("/v1/plans/cctv", json=PLAN, headers=bearer(tokens, "analyst")).status_code
        == 202
    )
    assert client.get(LIGHT, headers=bearer(tokens, "control_room")).status_code == 200
    # Cancelling one frees a place.
    first = client.get("/v1/jobs", headers=planner).json()[-1]["job_id"]
    client.post(f"/v1/jobs/{first}/cancel", headers=planner)
    assert client.post("/v1/plans/cctv", json=PLAN, headers=planner).status_code == 202


def test_unknown_job_ids_are_refused(client: TestClient, tokens: dict[str, str]) -> None:
    planner = bearer(tokens, "planner")
    missing = client.get("/v1/jobs/999999", headers=planner)
    assert missing.status_code == 404 and "no job 999999" in missing.json()["description"]
    assert client.get("/v1/jobs/0", headers=planner).status_code == 422
    assert client.get("/v1/jobs", params={"kind": "nope"}, headers=planner).status_code == 400


def test_cli_no_wait_queues_and_jobs_commands_follow_it(
    test_db_url: URL, owner_engine: Engine
) -> None:
    runner = CliRunner()
    queued = runner.invoke(
        cli, ["plan", "cctv", "--area", NORTH, "--new-sites", "1", "--no-wait", "--json"]
    )
    assert queued.exit_code == 0, queued.output
    job = json.loads(queued.stdout)
    assert job["status"] == "queued" and job["kind"] == "cctv_plan"
    unknown = runner.invoke(cli, ["plan", "cctv", "--area", "nowhere", "--no-wait"])
    assert unknown.exit_code == 1 and "unknown area 'nowhere'" in unknown.output

    run_queued_jobs(owner_engine)
    waited = runner.invoke(cli, ["jobs", "wait", str(job["job_id"]), "--json"])
    assert waited.exit_code == 0, waited.output
    assert "CCTV siting plan: succeeded" in waited.stderr
    assert json.loads(waited.stdout)["result"]["kind"] == "cctv"

    again = runner.invoke(cli, ["report", "kpi", "--year", "2025", "--no-wait", "--json"])
    second = json.loads(again.stdout)["job_id"]
    cancelled = runner.invoke(cli, ["jobs", "cancel", str(second)])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    assert runner.invoke(cli, ["jobs", "wait", str(second)]).exit_code == 1
    assert runner.invoke(cli, ["jobs", "show", "999999"]).exit_code == 1


def _claimed_by_a_worker(owner_engine: Engine, job_id: int, heartbeat_age_s: int) -> int:
    """What a worker's fetch does to a queued job, by a worker last heard of that long ago."""
    with owner_engine.begin() as conn:
        worker = conn.execute(
            text(
                "INSERT INTO procrastinate.procrastinate_workers (last_heartbeat) "
                "VALUES (now() - make_interval(secs => :age)) RETURNING id"
            ),
            {"age": heartbeat_age_s},
        ).scalar_one()
        queue_id = conn.execute(
            text(
                "UPDATE procrastinate.procrastinate_jobs q SET status = 'doing', worker_id = :w "
                "FROM jobs j WHERE j.job_id = :id AND q.id = j.queue_job_id RETURNING q.id"
            ),
            {"w": worker, "id": job_id},
        ).scalar_one()
        conn.execute(
            text("UPDATE jobs SET status = 'running', started_at = now() WHERE job_id = :id"),
            {"id": job_id},
        )
    return int(queue_id)


def test_a_job_whose_worker_died_is_failed_and_frees_its_place(
    owner_engine: Engine, world: World
) -> None:
    planner = world.actors["planner"]
    with transaction(owner_engine, planner) as conn:
        dead, alive = (store.submit(conn, "cctv_plan", PLAN) for _ in range(2))
    dead_queue = _claimed_by_a_worker(owner_engine, dead, heartbeat_age_s=600)
    _claimed_by_a_worker(owner_engine, alive, heartbeat_age_s=1)

    assert sweep(owner_engine).failed == [dead]
    with transaction(owner_engine, planner) as conn:
        died, running = store.get(conn, dead), store.get(conn, alive)
    assert died.status == "failed" and "ask again" in (died.error or "")
    assert running.status == "running"
    with owner_engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM procrastinate.procrastinate_jobs WHERE id = :q"),
            {"q": dead_queue},
        ).scalar_one()
    assert status == "failed"
    assert sweep(owner_engine).failed == []  # nothing twice


def test_finished_jobs_are_kept_thirty_days(owner_engine: Engine, world: World) -> None:
    with transaction(owner_engine, world.actors["planner"]) as conn:
        old, recent = (store.submit(conn, "cctv_plan", PLAN, queue=False) for _ in range(2))
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE jobs SET status = 'succeeded', finished_at = now() - CASE job_id "
                "WHEN :old THEN interval '31 days' ELSE interval '29 days' END "
                "WHERE job_id IN (:old, :recent)"
            ),
            {"old": old, "recent": recent},
        )
    assert sweep(owner_engine).deleted == 1
    with owner_engine.connect() as conn:
        left = conn.execute(text("SELECT array_agg(job_id) FROM jobs")).scalar_one()
    assert left == [recent]
