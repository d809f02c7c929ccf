"""Control-room look-ups while long work runs: do jobs and the connection budget keep them fast?

    .venv/bin/python benchmarks/bench_mixed.py                 # 12 plans, 4 schedules, 1 KPI
    .venv/bin/python benchmarks/bench_mixed.py --planners 4 --seconds 30   # a quick check

Builds (or reuses) its own database, `hardening_bench_mixed`, holding the sample town (as
bench_soak.py), adds --planners planner users and --schedulers housing users, and starts
`uvicorn --factory hardening.api.app:create_app` and `hardening worker` (the job queue's
worker, --worker-concurrency jobs at once) as subprocesses (docs/capacity.md). Control-room
look-ups (`GET /v1/lookup` by UPRN and `GET /v1/markers/{id}`, both with a reason) go at a
fixed rate, open loop: first alone for --alone seconds (the reference, measured in the same
run), then for --seconds while every planner keeps one `POST /v1/plans/cctv` (--time-limit
solver seconds) in flight, every scheduler one `GET /v1/works/schedule`, and --kpi analysts
each ask once for `GET /v1/reports/kpi`. Each of those is a job (202): the user follows its
URL every second until it has finished, then asks for the next; a job counts as an error
unless it succeeded, and its latency is from asking to its result. Jobs under way when the
window ends are waited for and counted.

One JSON document: look-up p50/p99 alone and under load with their ratio, and per kind of
request: count, errors by status, p50/p99. Targets (issue 17): p99 under load within 2x of
alone, 0 errors, no 5xx.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_soak import drop_database, prepare, say, use_database
from serving import free_port, start_api

from hardening.db.engine import Actor, system_engine, transaction
from hardening.security.users import add_user, issue_token
from hardening.settings import get_settings

REASON = "mixed benchmark: simulated call for service"
POLICE = "cumbria-police"
HOUSING = "harbourlight-homes"
AREAS = ("south-cumbria",)


@dataclass(frozen=True)
class Fixtures:
    control: str
    planners: list[str]
    schedulers: list[str]
    analysts: list[str]
    uprns: list[int]
    markers: list[int]


def _user(conn: Any, name: str, org: str, role: str) -> str:
    known = conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": name}).first()
    if known is None:
        add_user(conn, name, org, [role], secrets.token_urlsafe(24), "Benchmark user")
    return issue_token(conn, name, 1, "bench_mixed").token


def fixtures(planners: int, schedulers: int, analysts: int, seed: int) -> Fixtures:
    engine = system_engine(get_settings())
    try:
        with transaction(engine, Actor.system()) as conn:
            conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
            control = issue_token(conn, "demo.control", 1, "bench_mixed").token
            plan = [_user(conn, f"bench.planner.{i}", POLICE, "planner") for i in range(planners)]
            sched = [
                _user(conn, f"bench.housing.{i}", HOUSING, "housing") for i in range(schedulers)
            ]
            kpi = [_user(conn, f"bench.analyst.{i}", POLICE, "analyst") for i in range(analysts)]
            uprns = list(
                conn.execute(
                    text(
                        "(SELECT uprn FROM safe_markers WHERE status = 'active' "
                        "ORDER BY random() LIMIT 150) UNION ALL "
                        "(SELECT uprn FROM addresses ORDER BY random() LIMIT 150)"
                    )
                ).scalars()
            )
            markers = list(
                conn.execute(
                    text(
                        "SELECT marker_id FROM safe_markers WHERE status = 'active' "
                        "ORDER BY random() LIMIT 100"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    return Fixtures(control, plan, sched, kpi, uprns, markers)


@dataclass(frozen=True)
class Sample:
    kind: str
    status: int  # 0: no answer
    latency: float
    note: str


def send(client: httpx.Client, kind: str, token: str, method: str, path: str,
         params: dict[str, Any], body: dict[str, Any] | None = None) -> Sample:  # fmt: skip
    started = time.perf_counter()
    try:
        response = client.request(method, path, params=params, json=body,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        status, note = response.status_code, response.text
    except httpx.HTTPError as exc:
        status, note = 0, type(exc).__name__
    return Sample(kind, status, time.perf_counter() - started, note)


def lookups(base: str, f: Fixtures, rate: float, seconds: float, seed: int) -> list[Sample]:
    """Open loop at a fixed rate: request i is due at i / rate seconds, whatever came back."""
    rng = random.Random(seed)
    local = threading.local()

    def one(i: int) -> Sample:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=60)
        if i % 4 == 3:
            marker = rng.choice(f.markers)
            return send(local.client, "marker", f.control, "GET", f"/v1/markers/{marker}",
                        {"reason": REASON})  # fmt: skip
        params = {"uprn": rng.choice(f.uprns), "reason": REASON}
        return send(local.client, "lookup", f.control, "GET", "/v1/lookup", params)

    pool = ThreadPoolExecutor(max_workers=16)
    started = time.monotonic()
    futures = []
    for i in range(int(rate * seconds)):
        wait = started + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        futures.append(pool.submit(one, i))
    samples = [fut.result() for fut in futures]
    pool.shutdown()
    return samples


def follow(client: httpx.Client, asked: Sample, token: str) -> Sample:
    """A 202's job followed to its end: its status is the job's (200 when it succeeded, 500
    when it failed, 499 cancelled), its latency from asking to the result."""
    if asked.status != 202:
        return asked
    url, started = json.loads(asked.note)["url"], time.perf_counter() - asked.latency
    while True:
        time.sleep(1.0)
        got = send(client, asked.kind, token, "GET", url, {})
        if got.status != 200:
            return Sample(asked.kind, got.status, time.perf_counter() - started, got.note)
        job = json.loads(got.note)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            status = {"succeeded": 200, "failed": 500, "cancelled": 499}[job["status"]]
            note = job["error"] or job["status"]
            return Sample(asked.kind, status, time.perf_counter() - started, note)


def heavy(base: str, f: Fixtures, args: argparse.Namespace, stop: threading.Event) -> list[Sample]:
    """One thread per user, each keeping one heavy request in flight until stop."""
    samples: list[Sample] = []
    lock = threading.Lock()
    monday = date.today() + timedelta(days=(7 - date.today().weekday()) % 7 or 7)

    def loop(kind: str, token: str, i: int) -> None:
        with httpx.Client(base_url=base, timeout=600) as client:
            n = 0
            while not stop.is_set():
                if kind == "cctv_plan":
                    body = {"area": AREAS[i % len(AREAS)], "new_sites": 5 + (i + n) % 10,
                            "time_limit_s": args.time_limit}  # fmt: skip
                    s = send(client, kind, token, "POST", "/v1/plans/cctv", {}, body)
                elif kind == "schedule":
                    params = {"start": monday.isoformat(), "days": 5, "seconds": args.schedule_s}
                    s = send(client, kind, token, "GET", "/v1/works/schedule", params)
                else:
                    params = {"year": date.today().year}
                    s = send(client, kind, token, "GET", "/v1/reports/kpi", params)
                s = follow(client, s, token)
                with lock:
                    samples.append(s)
                n += 1
                if kind == "kpi":
                    return  # a yearly report is asked for once, not kept in flight

    threads = [threading.Thread(target=loop, args=("cctv_plan", t, i))
               for i, t in enumerate(f.planners)]  # fmt: skip
    threads += [threading.Thread(target=loop, args=("schedule", t, i))
                for i, t in enumerate(f.schedulers)]  # fmt: skip
    threads += [threading.Thread(target=loop, args=("kpi", t, i)) for i, t in enumerate(f.analysts)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    return samples


def stats(samples: list[Sample]) -> dict[str, Any]:
    ms = np.array([s.latency * 1000 for s in samples]) if samples else np.array([0.0])
    errors = [s for s in samples if not 200 <= s.status < 300]
    return {
        "requests": len(samples),
        "errors": len(errors),
        "errors_by_status": dict(Counter(str(s.status) for s in errors)),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--planners", type=int, default=12, help="Users each with a CCTV plan.")
    parser.add_argument("--schedulers", type=int, default=4, help="Housing users scheduling.")
    parser.add_argument("--kpi", type=int, default=1, help="Analysts asking for the KPIs.")
    parser.add_argument("--rate", type=float, default=10.0, help="Look-ups per second.")
    parser.add_argument("--alone", type=float, default=30.0, help="Seconds of look-ups alone.")
    parser.add_argument("--seconds", type=float, default=90.0, help="Seconds under load.")
    parser.add_argument("--time-limit", type=float, default=20.0, help="Plans' solver limit.")
    parser.add_argument("--schedule-s", type=float, default=10.0, help="Schedules' limit.")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Jobs run at once.")
    parser.add_argument("--database", default="hardening_bench_mixed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="Drop and reload the database.")
    args = parser.parse_args()

    use_database(args.database)
    if args.rebuild:
        drop_database()
    addresses = prepare()
    f = fixtures(args.planners, args.schedulers, args.kpi, args.seed)
    if not f.markers or not f.uprns:
        raise SystemExit(f"{args.database} lacks the sample's markers")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_api(port, extra=["--timeout-keep-alive", "120"])
    hardening = str(Path(sys.executable).with_name("hardening"))
    jobs = subprocess.Popen([hardening, "worker", "--concurrency",
                             str(args.worker_concurrency)], stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        say(f"warming up; then look-ups alone for {args.alone:g} s")
        lookups(base, f, args.rate, 5, args.seed + 1)
        alone = lookups(base, f, args.rate, args.alone, args.seed)
        say(f"{args.planners} plans, {args.schedulers} schedules, {args.kpi} KPI reports in "
            f"flight for {args.seconds:g} s, look-ups at {args.rate:g}/s")  # fmt: skip
        stop = threading.Event()
        done: list[Sample] = []
        worker = threading.Thread(target=lambda: done.extend(heavy(base, f, args, stop)))
        worker.start()
        time.sleep(2)  # the heavy requests have arrived
        loaded = lookups(base, f, args.rate, args.seconds, args.seed + 2)
        stop.set()
        say("waiting for the heavy requests still in flight")
        worker.join()
    finally:
        for process in (server, jobs):
            process.terminate()
            process.wait(timeout=30)
    by_kind = {k: stats([s for s in done if s.kind == k]) for k in ("cctv_plan", "schedule", "kpi")}
    alone_stats, loaded_stats = stats(alone), stats(loaded)
    everything = [*alone, *loaded, *done]
    fivexx = sum(s.status >= 500 or s.status == 0 for s in everything)
    ratio = round(loaded_stats["p99_ms"] / max(alone_stats["p99_ms"], 1e-9), 3)
    result = {
        "benchmark": "mixed",
        "database": args.database,
        "addresses": addresses,
        "planners": args.planners,
        "schedulers": args.schedulers,
        "kpi_reports": args.kpi,
        "lookup_rate_per_s": args.rate,
        "plan_time_limit_s": args.time_limit,
        "schedule_seconds": args.schedule_s,
        "worker_concurrency": args.worker_concurrency,
        "window_s": args.seconds,
        "lookup_alone": alone_stats,
        "lookup_under_load": loaded_stats,
        "lookup_p99_ratio": ratio,
        "heavy": by_kind,
        "heavy_error_samples": [
            f"{s.kind} {s.status} {s.note[:200]}" for s in done if s.status >= 300
        ][:5],
        "errors": sum(not 200 <= s.status < 300 for s in everything),
        "server_errors_5xx_or_no_answer": fivexx,
        "cpus": os.cpu_count(),
        "load_average_end": os.getloadavg(),
        "targets": {"lookup_p99_ratio_max": 2.0, "errors": 0, "5xx": 0},
    }
    result["meets_targets"] = ratio <= 2.0 and result["errors"] == 0 and fivexx == 0
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
