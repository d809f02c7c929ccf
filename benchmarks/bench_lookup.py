"""Control-room look-up over HTTP with row-level security on, against the same look-up as raw
SQL in the same run.

    .venv/bin/python benchmarks/bench_lookup.py                       # 20k addresses, 2k markers
    .venv/bin/python benchmarks/bench_lookup.py --addresses 500000 --markers 50000 \
        --database hardening_markers_bench --reuse

Builds (or reuses) a database holding the sample town at the given size, tops the SAFE markers
up to --markers, issues a bearer token to the sample's control-room operator, starts the API
with uvicorn on loopback, and runs a closed-loop load at --concurrency for --seconds: each
request a `GET /v1/lookup` by UPRN (or, for --text-share of them, by the address as text),
with a reason (uvicorn's HTTP parser and event loop by --http and --loop: by default
httptools and uvloop, as the service runs). Reports latency percentiles, throughput, errors and
the server's CPU per request; then the look-up's one SQL statement alone (set the actor, run
it on its prepared generic plan as the service does, commit) as the reference, one connection
at a time and again at --concurrency (the database's own speed under the same load), the
in-process service call (statement + match + audit row), the 1-minute load average, and
whether the plan uses the GiST indexes. One JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_match import control_room_actor, prepare, say
from serving import free_port, start_api

from hardening.addresses.api import router as match_router
from hardening.api.app import create_app
from hardening.db.engine import Actor, set_actor, transaction
from hardening.markers.lookup import LOOKUP_SQL, lookup, run_lookup_sql
from hardening.security.users import issue_token

REASON = "benchmark: simulated call for service"
REASONS = ("cuckooing", "vulnerable_occupant", "threat_to_life", "drug_supply", "weapons")


def bench_app() -> FastAPI:
    """The service's app, with the control-room routers if the lead has not mounted them yet."""
    app = create_app()
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/v1/lookup" not in paths:
        from hardening.markers.api import router as markers_router

        app.include_router(markers_router, prefix="/v1")
    if "/v1/match" not in paths:
        app.include_router(match_router, prefix="/v1")
    return app


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc): the server's own cost, which the
    machine's other load does not inflate as it does latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def top_up_markers(engine: Engine, wanted: int, seed: int) -> int:
    """Add synthetic markers (on addresses without one) until there are `wanted`."""
    with transaction(engine, Actor.system()) as conn:
        have = int(conn.execute(text("SELECT count(*) FROM safe_markers")).scalar_one())
        missing = wanted - have
        if missing > 0:
            say(f"adding {missing:,} markers")
            conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
            conn.execute(
                text(
                    "INSERT INTO safe_markers (uprn, scope, reason_category, grading_advice, "
                    "org_id, review_due, expires_on, area_id) "
                    "SELECT a.uprn, CASE WHEN a.property_type = 'block' THEN 'block' "
                    "ELSE 'address' END, (CAST(:reasons AS text[]))[1 + (random() * 4)::int], "
                    "'Synthetic benchmark marker: attend in pairs.', "
                    "(SELECT org_id FROM organisations WHERE kind = 'police' ORDER BY org_id "
                    "LIMIT 1), current_date + 30 + (random() * 90)::int, "
                    "current_date + 180 + (random() * 180)::int, a.area_id "
                    "FROM addresses a WHERE NOT EXISTS (SELECT 1 FROM safe_markers m "
                    "WHERE m.uprn = a.uprn) ORDER BY random() LIMIT :n"
                ),
                {"n": missing, "reasons": list(REASONS)},
            )
        total = int(conn.execute(text("SELECT count(*) FROM safe_markers")).scalar_one())
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE safe_markers"))
    return total


def targets(engine: Engine, n: int, seed: int) -> list[dict[str, Any]]:
    """Half marked addresses (or flats of marked blocks), half any address."""
    with transaction(engine, Actor.system()) as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        marked = conn.execute(
            text(
                "SELECT a.uprn, a.full_address FROM safe_markers m JOIN addresses a "
                "ON a.uprn = m.uprn OR a.parent_uprn = m.uprn WHERE m.status = 'active' "
                "ORDER BY random() LIMIT :n"
            ),
            {"n": n // 2},
        ).all()
        anywhere = conn.execute(
            text("SELECT uprn, full_address FROM addresses ORDER BY random() LIMIT :n"),
            {"n": n - len(marked)},
        ).all()
    rows = [{"uprn": r[0], "text": r[1]} for r in (*marked, *anywhere)]
    random.Random(seed).shuffle(rows)
    return rows


def load(
    port: int,
    token: str,
    goals: list[dict[str, Any]],
    concurrency: int,
    seconds: float,
    text_share: float,
    seed: int,
) -> dict[str, Any]:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[list[str]] = [[] for _ in range(concurrency)]
    stop = time.monotonic() + seconds

    def worker(w: int) -> None:
        rng = random.Random(seed + w)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            while time.monotonic() < stop:
                goal = rng.choice(goals)
                params: dict[str, Any] = {"reason": REASON}
                if rng.random() < text_share:
                    params["q"] = goal["text"].lower().replace(",", "")
                else:
                    params["uprn"] = goal["uprn"]
                started = time.perf_counter()
                try:
                    response = client.get("/v1/lookup", params=params, timeout=10)
                    ok = response.status_code == 200
                except httpx.HTTPError as exc:
                    ok, response = False, None
                    errors[w].append(type(exc).__name__)
                latencies[w].append(time.perf_counter() - started)
                if not ok and response is not None:
                    errors[w].append(f"{response.status_code}")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    all_latencies = [x for per in latencies for x in per]
    all_errors = [e for per in errors for e in per]
    return {
        "requests": len(all_latencies),
        "errors": len(all_errors),
        "error_kinds": sorted(set(all_errors)),
        "throughput_per_s": round(len(all_latencies) / elapsed, 1),
        "latency_ms": percentiles(all_latencies),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000
    return {f"p{p}": round(float(np.percentile(a, p)), 2) for p in (50, 95, 99)}


def sql_reference(
    engine: Engine, actor: Actor, goals: list[dict[str, Any]], n: int, first: int = 0
) -> Any:
    """The look-up's statement alone, each in its own transaction as the actor."""
    now = datetime.now(UTC)
    times: list[float] = []
    with engine.connect() as conn:
        for i in range(first, first + n):
            goal = goals[i % len(goals)]
            started = time.perf_counter()
            with conn.begin():
                set_actor(conn, actor)
                run_lookup_sql(
                    conn,
                    {
                        "uprn": goal["uprn"],
                        "x": None,
                        "y": None,
                        "radius": 50.0,
                        "nearby": 50.0,
                        "scan": 64,
                        "on": date.today(),
                        "since": now - timedelta(days=56),
                        "until": now,
                        "limit": 100,
                        "near_m": 400.0,
                    },
                )
            times.append(time.perf_counter() - started)
    return times[n // 10 :]  # first tenth: warm-up (plans get prepared)


def sql_reference_concurrent(
    engine: Engine, actor: Actor, goals: list[dict[str, Any]], n: int, concurrency: int
) -> list[float]:
    """The same at the HTTP load's concurrency: what the database itself does when that many
    look-ups share the machine (each worker on its own connection and goals)."""
    results: list[list[float]] = [[] for _ in range(concurrency)]

    def worker(w: int) -> None:
        results[w] = list(sql_reference(engine, actor, goals, n, first=w * 997))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for per in results for x in per]


def service_reference(engine: Engine, actor: Actor, goals: list[dict[str, Any]], n: int) -> Any:
    """The service function in-process: statement, audit row, commit (no HTTP, no auth)."""
    times: list[float] = []
    for i in range(n):
        goal = goals[i % len(goals)]
        started = time.perf_counter()
        with transaction(engine, actor) as conn:
            lookup(conn, reason=REASON, uprn=goal["uprn"])
        times.append(time.perf_counter() - started)
    return times[n // 10 :]


def plan_uses_indexes(engine: Engine, actor: Actor, uprn: int) -> dict[str, bool]:
    now = datetime.now(UTC)
    with transaction(engine, actor) as conn:
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN " + LOOKUP_SQL.text),
                {
                    "uprn": uprn,
                    "x": None,
                    "y": None,
                    "radius": 50.0,
                    "nearby": 50.0,
                    "scan": 64,
                    "on": date.today(),
                    "since": now - timedelta(days=56),
                    "until": now,
                    "limit": 100,
                    "near_m": 400.0,
                },
            ).scalars()
        )
    return {
        name: name in plan
        for name in (
            "safe_markers_active_gist",
            "incidents_geom_time_gist",
            "addresses_pkey",
            "safe_markers_uprn",
        )
    } | {"no_seq_scan": "Seq Scan" not in plan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--markers", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--text-share", type=float, default=0.0, help="share of look-ups by text")
    parser.add_argument("--sql-iterations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database", default="hardening_bench_lookup")
    parser.add_argument("--reuse", action="store_true", help="keep a database of this size")
    parser.add_argument(
        "--http",
        choices=("httptools", "h11"),
        default="httptools",
        help="uvicorn's HTTP parser (h11: the pure-Python one, for a before/after)",
    )
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()

    engine = prepare(args.database, args.addresses, args.seed, args.reuse)
    load_start = round(os.getloadavg()[0], 2)  # the machine's other work skews every figure
    markers = top_up_markers(engine, args.markers, args.seed)
    with transaction(engine, Actor.system()) as conn:
        actor = control_room_actor(conn)
        token = issue_token(conn, actor.username, days=1, label="bench_lookup").token
    goals = targets(engine, 2000, args.seed)
    port = free_port()
    say(f"starting the API on 127.0.0.1:{port}")
    env = {"HARDENING_DATABASE_NAME": args.database}
    env["HARDENING_POOL_SIZE"] = str(args.concurrency + 2)
    server = start_api(
        port,
        env,
        app="bench_lookup:bench_app",
        extra=("--http", args.http, "--loop", args.loop),
        timeout_s=60,
    )
    try:
        load(port, token, goals, args.concurrency, 2.0, args.text_share, args.seed)  # warm-up
        cpu_before = cpu_seconds(server.pid)
        http = load(
            port, token, goals, args.concurrency, args.seconds, args.text_share, args.seed + 1
        )
        http["server_cpu_ms_per_request"] = round(
            (cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, http["requests"]), 2
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    sql_times = sql_reference(engine, actor, goals, args.sql_iterations)
    sql_concurrent = percentiles(
        sql_reference_concurrent(
            engine, actor, goals, args.sql_iterations // args.concurrency, args.concurrency
        )
    )
    service_times = service_reference(engine, actor, goals, max(100, args.sql_iterations // 2))
    sql = percentiles(sql_times)
    report = {
        "benchmark": "control_room_lookup",
        "addresses": args.addresses,
        "markers": markers,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "text_share": args.text_share,
        "server": {"http": args.http, "loop": args.loop},
        "http": http,
        "reference_raw_sql": {"latency_ms": sql, "iterations": len(sql_times)},
        "service_in_process": {"latency_ms": percentiles(service_times)},
        "reference_raw_sql_at_concurrency": {"latency_ms": sql_concurrent},
        "p99_ratio_http_to_sql": round(http["latency_ms"]["p99"] / sql["p99"], 2),
        "p99_ratio_http_to_sql_at_concurrency": round(
            http["latency_ms"]["p99"] / sql_concurrent["p99"], 2
        ),
        "load_average_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        "plan": plan_uses_indexes(engine, actor, goals[0]["uprn"]),
    }
    print(json.dumps(report, indent=2))
    engine.dispose()


if __name__ == "__main__":
    main()
