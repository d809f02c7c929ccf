"""Soak: minutes of mixed API load at a moderate, fixed rate against a real uvicorn server.

    .venv/bin/python benchmarks/bench_soak.py                  # 10 minutes at 20 requests/s
    .venv/bin/python benchmarks/bench_soak.py --minutes 1      # a quick check

Builds (or reuses) its own database, `hardening_bench_soak`, holding the sample town
(`hardening db migrate`, `sample load`, `risk score`), issues bearer tokens to the sample's
control-room operator, visit team officer, housing officer, analyst and planner, and starts
`uvicorn --factory hardening.api.app:create_app` as a subprocess. Every kind of request is sent
once (each must succeed), then a warm-up, then requests at a fixed rate for --minutes: open loop,
so a slow answer never slows the sender. The mix: control-room look-ups (by UPRN, by text, by
point), risk views, map layers, housing works, visits (listing, due, and new visits recorded),
address matching, the yearly KPIs and active lines.

One JSON document: requests, errors (by kind and status), latency per minute, the drift ratio
p99(last minute) / p99(first minute), and the server's resident memory after the warm-up and at
the end with their ratio. The issue's targets: 0 errors, drift within 1.2, memory growth < 10 %.
Both ratios compare the run with itself, so machine load matters less than for absolute times;
the load average is reported beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from serving import free_port, start_api
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hardening.db.engine import Actor, system_engine, transaction
from hardening.db.urls import libpq_conninfo, owner_url
from hardening.security.users import issue_token
from hardening.settings import get_settings

HARDENING = str(Path(sys.executable).with_name("hardening"))
REASON = "soak benchmark: simulated request"
BBOX = "-3.26,54.09,-3.18,54.15"  # Barrow-in-Furness
USERS = {
    "control": "demo.control",
    "visits": "demo.visits",
    "housing": "demo.housing.harbourlight",
    "analyst": "demo.analyst",
    "planner": "demo.planner",
}
HOUSING_ORG = "harbourlight-homes"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the database ------------------------------------------------------------------------------
def use_database(name: str) -> None:
    """Point this process and its children at the benchmark's own database."""
    os.environ["HARDENING_DATABASE_NAME"] = name
    if os.environ.get("HARDENING_DATABASE_URL"):
        url = make_url(os.environ["HARDENING_DATABASE_URL"]).set(database=name)
        os.environ["HARDENING_DATABASE_URL"] = url.render_as_string(hide_password=False)
    get_settings.cache_clear()


def cli(*args: str) -> None:
    if subprocess.run([HARDENING, *args], stdout=subprocess.DEVNULL, check=False).returncode:
        raise SystemExit(
            f"`hardening {' '.join(args)}` failed (above); --rebuild drops and reloads the "
            "benchmark's own database"
        )


def drop_database() -> None:
    owner = owner_url(get_settings())
    with psycopg.connect(libpq_conninfo(owner.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{owner.database}" WITH (FORCE)')


def prepare() -> int:
    """Migrate; load the sample town and score it unless already there. Returns addresses."""
    cli("db", "migrate")
    engine = system_engine(get_settings())
    try:
        with transaction(engine, Actor.system()) as conn:
            addresses = int(conn.execute(text("SELECT count(*) FROM addresses")).scalar_one())
            scored = int(conn.execute(text("SELECT count(*) FROM risk_scores")).scalar_one())
    finally:
        engine.dispose()
    if not addresses:
        say("loading the sample town")
        cli("sample", "load")
    if not scored:
        say("scoring risk")
        cli("risk", "score")
    engine = system_engine(get_settings())
    try:
        with transaction(engine, Actor.system()) as conn:
            return int(conn.execute(text("SELECT count(*) FROM addresses")).scalar_one())
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Fixtures:
    tokens: dict[str, str]
    user_ids: dict[str, int]
    places: list[dict[str, Any]]  # uprn, text, lon, lat
    marked: list[int]
    homes: list[int]  # the housing provider's scored homes


def fixtures(seed: int) -> Fixtures:
    engine = system_engine(get_settings())
    try:
        with transaction(engine, Actor.system()) as conn:
            conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
            tokens = {
                role: issue_token(conn, user, 1, "bench_soak").token for role, user in USERS.items()
            }
            user_ids: dict[str, int] = dict(
                conn.execute(
                    text("SELECT username, user_id FROM users WHERE username = ANY(:u)"),
                    {"u": list(USERS.values())},
                ).all()
            )
            places = [
                dict(row._mapping)
                for row in conn.execute(
                    text(
                        "SELECT uprn, lower(replace(full_address, ',', '')) AS text, "
                        "ST_X(ST_Transform(geom, 4326)) AS lon, "
                        "ST_Y(ST_Transform(geom, 4326)) AS lat "
                        "FROM addresses ORDER BY random() LIMIT 500"
                    )
                )
            ]
            marked = list(
                conn.execute(
                    text(
                        "SELECT uprn FROM safe_markers WHERE status = 'active' "
                        "ORDER BY random() LIMIT 200"
                    )
                ).scalars()
            )
            homes = list(
                conn.execute(
                    text(
                        "SELECT a.uprn FROM addresses a JOIN risk_scores r USING (uprn) "
                        "WHERE a.provider_org_id = :org ORDER BY random() LIMIT 300"
                    ),
                    {"org": HOUSING_ORG},
                ).scalars()
            )
    finally:
        engine.dispose()
    return Fixtures(tokens, user_ids, places, marked, homes)


# -- the mix -----------------------------------------------------------------------------------
# Relative weights (about per thousand), after what each user does in a day: the control room's
# look-ups dominate; whole-area computations (who to visit next, the yearly KPIs) are rare.
Request = tuple[str, str, dict[str, Any], dict[str, Any] | None]  # method, path, params, body


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    role: str
    build: Callable[[random.Random, Fixtures], Request]


def _visit(rng: random.Random, f: Fixtures) -> Request:
    team = [f.user_ids["demo.visits"], f.user_ids["demo.control"]]  # one police team
    body = {
        "uprn": rng.choice(f.places)["uprn"],
        "visited_on": date.today().isoformat(),
        "team_user_ids": team,
        "subject_ref": f"SOAK-{rng.randrange(10**6):06d}",
        "subject_type": "other",
        "outcome": "soak benchmark visit",
    }
    return "POST", "/v1/visits", {}, body


MIX = [
    Kind("lookup_uprn", 300, "control", lambda r, f: (
        "GET", "/v1/lookup", {"uprn": r.choice(f.marked + [p["uprn"] for p in f.places]),
                              "reason": REASON}, None)),
    Kind("lookup_text", 100, "control", lambda r, f: (
        "GET", "/v1/lookup", {"q": r.choice(f.places)["text"], "reason": REASON}, None)),
    Kind("lookup_point", 80, "control", lambda r, f: (
        "GET", "/v1/lookup", {"lon": (p := r.choice(f.places))["lon"], "lat": p["lat"],
                              "radius": 100, "reason": REASON}, None)),
    Kind("match", 80, "control", lambda r, f: (
        "GET", "/v1/match", {"q": r.choice(f.places)["text"]}, None)),
    Kind("risk_police", 100, "control", lambda r, f: (
        "GET", f"/v1/risk/{r.choice(f.homes)}", {"reason": REASON}, None)),
    Kind("risk_housing", 80, "housing", lambda r, f: (
        "GET", f"/v1/risk/{r.choice(f.homes)}", {}, None)),
    Kind("works_recommendations", 20, "housing", lambda r, f: (
        "GET", "/v1/works/recommendations", {"limit": 20}, None)),
    Kind("works_orders", 50, "housing", lambda r, f: ("GET", "/v1/works/orders", {}, None)),
    Kind("layer_cctv", 40, "planner", lambda r, f: (
        "GET", "/v1/layers/cctv", {"bbox": BBOX}, None)),
    Kind("layer_density", 15, "planner", lambda r, f: (
        "GET", "/v1/layers/address-density", {"bbox": BBOX, "cell": 250}, None)),
    Kind("layer_stations", 30, "control", lambda r, f: ("GET", "/v1/layers/stations", {}, None)),
    Kind("layer_roads", 30, "planner", lambda r, f: (
        "GET", "/v1/layers/roads", {"bbox": BBOX, "main_only": True}, None)),
    Kind("visits_due", 1, "visits", lambda r, f: ("GET", "/v1/visits/due", {}, None)),
    Kind("visits_list", 30, "visits", lambda r, f: (
        "GET", "/v1/visits", {"reason": REASON, "limit": 50}, None)),
    Kind("visit_record", 30, "visits", _visit),
    Kind("lines_active", 20, "control", lambda r, f: ("GET", "/v1/lines/active", {}, None)),
    Kind("kpi", 1, "analyst", lambda r, f: (
        "GET", "/v1/reports/kpi", {"year": date.today().year}, None)),
    Kind("healthz", 23, "control", lambda r, f: ("GET", "/healthz", {}, None)),
]  # fmt: skip


# -- the server --------------------------------------------------------------------------------
def rss_bytes(pid: int) -> int:
    """Resident memory of the server process (psutil when installed, else /proc)."""
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"cannot read the memory of process {pid}")


# -- the load ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    at: float  # scheduled time, seconds from the start
    kind: str
    status: int  # 0: no answer
    latency: float
    late: float  # how late the sender was against the schedule
    note: str


class Sender:
    def __init__(self, port: int, f: Fixtures) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.fixtures = f
        self.local = threading.local()

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(base_url=self.base, timeout=30)
        return self.local.client  # type: ignore[no-any-return]

    def reset(self) -> None:
        if hasattr(self.local, "client"):
            self.local.client.close()
            del self.local.client

    def send(self, kind: Kind, rng: random.Random, at: float, started: float) -> Sample:
        method, path, params, body = kind.build(rng, self.fixtures)
        headers = {"Authorization": f"Bearer {self.fixtures.tokens[kind.role]}"}
        begin = time.monotonic()
        try:
            response = self.client().request(method, path, params=params, json=body,
                                              headers=headers)  # fmt: skip
            status, note = response.status_code, response.text[:200]
        except httpx.HTTPError as exc:
            status, note = 0, type(exc).__name__
        end = time.monotonic()
        return Sample(at, kind.name, status, end - begin, begin - started - at, note)


def run_load(sender: Sender, rate: float, seconds: float, seed: int, workers: int) -> list[Sample]:
    """Fixed-rate, open-loop: request i is due at i / rate seconds."""
    rng = random.Random(seed)
    weights = [k.weight for k in MIX]
    total = int(seconds * rate)
    plan = [(i / rate, rng.choices(MIX, weights)[0], random.Random(rng.random()))
            for i in range(total)]  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=workers)
    started = time.monotonic()
    futures = []
    for at, kind, local_rng in plan:
        wait = started + at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        futures.append(pool.submit(sender.send, kind, local_rng, at, started))
    samples = [f.result() for f in futures]
    pool.shutdown()
    return samples


def preflight(sender: Sender, skip_failing: bool) -> tuple[dict[str, float], dict[str, str]]:
    """Every kind three times, one at a time: the median is the reference service time with no
    other traffic. A kind that fails would only add noise to the soak, so it stops the run (or,
    with --skip-failing, leaves the mix and is reported)."""
    alone: dict[str, float] = {}
    dropped: dict[str, str] = {}
    for kind in MIX:
        times = []
        for attempt in range(3):
            sample = sender.send(kind, random.Random(attempt), 0.0, time.monotonic())
            if not 200 <= sample.status < 300:
                problem = f"{sample.status} {sample.note}"
                if not skip_failing:
                    raise SystemExit(f"{kind.name} failed before the soak: {problem}")
                dropped[kind.name] = problem
                sender.reset()  # the server closes a connection after a 500
                break
            times.append(sample.latency * 1000)
        else:
            alone[kind.name] = round(float(np.median(times)), 1)
    MIX[:] = [k for k in MIX if k.name not in dropped]
    return alone, dropped


def _stats(samples: list[Sample]) -> dict[str, Any]:
    ms = np.array([s.latency * 1000 for s in samples]) if samples else np.array([0.0])
    return {
        "requests": len(samples),
        "errors": sum(not 200 <= s.status < 300 for s in samples),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def report(samples: list[Sample], seconds: float, rss: list[tuple[float, int]]) -> dict[str, Any]:
    """Figures over the run; `rss` holds (seconds since the start, bytes) readings."""
    window = min(60.0, seconds / 4)
    first = [s for s in samples if s.at < window]
    last = [s for s in samples if s.at >= seconds - window]
    halves = [
        _stats([s for s in samples if s.at < seconds / 2]),
        _stats([s for s in samples if s.at >= seconds / 2]),
    ]
    minutes = []
    for m in range(int(np.ceil(seconds / 60))):
        readings = [b for t, b in rss if t < (m + 1) * 60]
        minutes.append(
            {
                "minute": m + 1,
                **_stats([s for s in samples if m * 60 <= s.at < (m + 1) * 60]),
                "rss_mb": round(readings[-1] / 2**20, 1),
            }
        )
    errors = [s for s in samples if not 200 <= s.status < 300]
    ms = np.array([s.latency * 1000 for s in samples])
    by_kind = {k.name: _stats([s for s in samples if s.kind == k.name]) for k in MIX}
    first_stats, last_stats = _stats(first), _stats(last)
    return {
        "requests": len(samples),
        "errors": len(errors),
        "errors_by": dict(Counter(f"{s.kind} {s.status}" for s in errors)),
        "error_samples": [f"{s.kind} {s.status} {s.note}" for s in errors[:5]],
        "latency_ms": {
            "p50": round(float(np.percentile(ms, 50)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
            "p99": round(float(np.percentile(ms, 99)), 1),
            "max": round(float(ms.max()), 1),
        },
        # Above a few ms the server could not keep up: requests waited for a sender thread.
        "sender_late_ms_p99": round(float(np.percentile([s.late * 1000 for s in samples], 99)), 1),
        "window_s": window,
        "first_window": first_stats,
        "last_window": last_stats,
        "p99_drift_ratio": round(last_stats["p99_ms"] / max(first_stats["p99_ms"], 1e-9), 3),
        # The same over each half of the run: less at the mercy of one noisy minute.
        "p99_halves_ms": [h["p99_ms"] for h in halves],
        "p99_drift_ratio_halves": round(halves[1]["p99_ms"] / max(halves[0]["p99_ms"], 1e-9), 3),
        "per_minute": minutes,
        "by_kind": by_kind,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="Requests per second.")
    parser.add_argument("--warmup", type=float, default=30.0, help="Seconds, not counted.")
    parser.add_argument("--database", default="hardening_bench_soak")
    parser.add_argument("--workers", type=int, default=32, help="Sender threads.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--rebuild", action="store_true", help="Drop the benchmark's database and load it anew."
    )
    parser.add_argument(
        "--skip-failing", action="store_true", help="Drop kinds that fail once before the soak."
    )
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0 or args.warmup < 0 or args.workers < 1:
        raise SystemExit("--minutes, --rate and --workers must be positive")

    use_database(args.database)
    if args.rebuild:
        drop_database()
    addresses = prepare()
    f = fixtures(args.seed)
    if not (f.marked and f.homes and len(f.user_ids) == len(USERS)):
        raise SystemExit(f"{args.database} lacks the sample's markers, homes or demo users")
    port = free_port()
    load_start = os.getloadavg()
    # Keep-alive longer than any sender thread stays idle, as behind a proxy: with uvicorn's 5 s
    # a request can race the server closing the connection and fail without reaching the app.
    server = start_api(port, extra=["--timeout-keep-alive", "120"])
    try:
        rss_started = rss_bytes(server.pid)
        sender = Sender(port, f)
        alone, dropped = preflight(sender, args.skip_failing)
        if args.warmup:
            say(f"warming up for {args.warmup:g} s")
            run_load(sender, args.rate, args.warmup, args.seed + 1, args.workers)
        rss_warm = rss_bytes(server.pid)
        rss_samples = [(0.0, rss_warm)]
        stop = threading.Event()
        began = time.monotonic()

        def watch() -> None:
            while not stop.wait(5):
                rss_samples.append((time.monotonic() - began, rss_bytes(server.pid)))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        seconds = args.minutes * 60
        say(f"soaking: {args.rate:g} requests/s for {seconds:g} s")
        samples = run_load(sender, args.rate, seconds, args.seed, args.workers)
        elapsed = time.monotonic() - began
        stop.set()
        watcher.join()
        rss_end = rss_bytes(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = report(samples, seconds, rss_samples)
    mb = 1024 * 1024
    result = {
        "benchmark": "soak",
        "database": args.database,
        "addresses": addresses,
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "achieved_rate_per_s": round(len(samples) / elapsed, 2),
        "warmup_s": args.warmup,
        "alone_median_ms": alone,
        "dropped_kinds": dropped,
        **figures,
        "server_rss_mb": {
            "after_start": round(rss_started / mb, 1),
            "after_warmup": round(rss_warm / mb, 1),
            "end": round(rss_end / mb, 1),
            "max": round(max(b for _, b in rss_samples) / mb, 1),
        },
        "rss_growth_ratio": round(rss_end / rss_warm, 3),
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "cpus": os.cpu_count(),
        "targets": {"errors": 0, "p99_drift_ratio_max": 1.2, "rss_growth_ratio_max": 1.1},
    }
    result["meets_targets"] = (
        result["errors"] == 0
        and result["p99_drift_ratio"] <= 1.2
        and result["rss_growth_ratio"] < 1.1
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
