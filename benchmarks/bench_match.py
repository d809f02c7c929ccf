"""Address matching: accuracy, confidence and latency on noisy caller-style variants of real
HM Land Registry addresses (named houses, flats) or of the sample town's addresses, against a
plain pg_trgm nearest-text baseline in the same run.

    .venv/bin/python benchmarks/bench_match.py --land-registry       # 16,609 real addresses
    .venv/bin/python benchmarks/bench_match.py                       # 20k sample addresses
    .venv/bin/python benchmarks/bench_match.py --addresses 500000 --queries 5000 \
        --batch 100000 --reuse

--land-registry reads `addresses/ppd_combined_normalised.csv` from HARDENING_OPEN_DATA_DIR (or
../shared/data), imports it through `hardening import addresses --map paon=... --map saon=...`
beside a small sample town (its users and areas), and says every address in several ways
(benchmarks/caller_noise.py: house names, flats, typos, postcodes, extra words), reporting
accuracy by kind of noise over the whole set.

Builds (or with --reuse keeps) its own database (default hardening_bench_match) holding the
synthetic sample at the given size, then draws register addresses and says them the way a
caller might: abbreviations, one typo in the street, a missing, unspaced or damaged postcode,
flat-number forms (Flat 3 / 3/12 / Apartment 3 / trailing), a missing or shortened town, case
and punctuation. A variant is "answerable" when the register holds exactly one address with
what it kept (a street name in two towns, with neither town nor postcode said, is not).
Single queries run one by one as the sample's control-room user (RLS on); the batch runs
through match_many. `--fit` fits the confidence calibration on a different noise seed and
prints the coefficients for hardening/addresses/scoring.py. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import caller_noise
import numpy as np
from sqlalchemy import Connection, Engine, text

from hardening.addresses import vocabulary
from hardening.addresses.match import HIGH_CONFIDENCE, MatchResult, match, match_many
from hardening.addresses.scoring import LEAD_CAP, LONE_RUNNER_UP
from hardening.db.engine import Actor, app_role_engine, ensure_database, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import owner_url
from hardening.importers.addresses import import_file
from hardening.sample.files import generated_sources
from hardening.sample.generate import generate
from hardening.sample.loader import load
from hardening.settings import PROJECT_ROOT, Settings

SHORT_TYPES = {k.title(): v for k, v in caller_noise.SHORT_TYPES.items()}  # "Street": "St"
RIDGE = 2.0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------------
def prepare(database: str, addresses: int, seed: int, reuse: bool, source: str = "%") -> Engine:
    """A migrated database holding the sample at this size (rebuilt unless reusable); source:
    which addresses count as the sample's (a LIKE pattern)."""
    settings = Settings(database_name=database)
    url = owner_url(settings)
    ensure_database(settings, url)
    migrate(url)
    engine = app_role_engine(url)
    with transaction(engine, Actor.system()) as conn:
        have = conn.execute(
            text("SELECT count(*) FROM addresses WHERE source LIKE :s"), {"s": source}
        ).scalar_one()
    if reuse and have == addresses:
        say(f"reusing {database}: {have:,} addresses")
        return engine
    if have:
        raise SystemExit(
            f"{database} holds {have:,} addresses, not {addresses:,}: drop it "
            f"(or pick --database) and run again"
        )
    say(f"generating the sample: {addresses:,} addresses, seed {seed}")
    sample = generate(addresses, seed, progress=say)
    with transaction(engine, Actor.system()) as conn:
        load(conn, generated_sources(sample), progress=say)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return engine


def actor_of(engine: Engine, username: str) -> Actor:
    """The sample user `username` as an actor (benchmarks act as the sample's demo users)."""
    with transaction(engine, Actor.system()) as conn:
        row = conn.execute(
            text("SELECT user_id, org_id, roles FROM users WHERE username = :u"), {"u": username}
        ).one()
    return Actor(int(row.user_id), str(row.org_id), tuple(row.roles), username)


def control_room_actor(conn: Connection) -> Actor:
    row = conn.execute(
        text(
            "SELECT user_id, org_id, roles, username FROM users "
            "WHERE 'control_room' = ANY(roles) AND org_id LIKE '%police%' ORDER BY user_id LIMIT 1"
        )
    ).one()
    return Actor(int(row.user_id), str(row.org_id), tuple(row.roles), str(row.username))


@dataclass(frozen=True)
class Truth:
    uprn: int
    sub_building: str | None
    house_number: str
    street: str
    town: str
    postcode: str


def register(conn: Connection) -> list[Truth]:
    rows = conn.execute(
        text(
            "SELECT uprn, sub_building, house_number, street, coalesce(town, ''), "
            "coalesce(postcode, '') FROM addresses WHERE street IS NOT NULL "
            "AND house_number IS NOT NULL ORDER BY uprn"
        )
    )
    return [Truth(*r) for r in rows]


# -- noise (typo and damage: caller_noise) ---------------------------------------------------
def variant(rng: random.Random, t: Truth) -> tuple[str, set[str], dict[str, bool]]:
    """Caller text, the kinds of noise applied, and what it kept (for answerability)."""
    kinds: set[str] = set()
    words = t.street.split()
    if words[-1] in SHORT_TYPES and rng.random() < 0.5:
        words[-1] = SHORT_TYPES[words[-1]]
        kinds.add("abbreviation")
    if rng.random() < 0.4:
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        changed = caller_noise.typo(rng, words[longest])
        if changed != words[longest]:
            words[longest] = changed
            kinds.add("street_typo")
    street = " ".join(words)
    line = f"{t.house_number} {street}"
    if t.sub_building:
        flat = t.sub_building.split()[-1]
        form = rng.randrange(6)
        kinds.add("flat_form")
        if form == 0:
            line = f"{t.sub_building}, {line}"
        elif form == 1 and flat.isdigit():
            line = f"{flat}/{t.house_number} {street}"
        elif form == 2:
            line = f"Apartment {flat}, {line}"
        elif form == 3:
            line = f"{line}, flat {flat}"
        elif form == 4 and flat.isdigit():
            line = f"{flat} {t.house_number} {street}"
        else:
            line = f"flat {flat} {line}"
    parts = [line]
    kept = {"town": True, "postcode": True}
    r = rng.random()
    if r < 0.3:
        kept["town"] = False
        kinds.add("no_town")
    else:
        parts.append(t.town.split("-")[0] if r < 0.5 else t.town)
    r = rng.random()
    if r < 0.3 or not t.postcode:
        kept["postcode"] = False
        kinds.add("no_postcode")
    elif r < 0.5:
        damaged = caller_noise.damage(rng, t.postcode)
        parts.append(damaged if rng.random() < 0.7 else damaged.replace(" ", ""))
        kinds.add("damaged_postcode")
    elif r < 0.6:
        parts.append(t.postcode.replace(" ", ""))
    else:
        parts.append(t.postcode)
    said = ", ".join(parts) if rng.random() < 0.5 else " ".join(parts)
    r = rng.random()
    said = said.lower() if r < 0.5 else said.upper() if r < 0.65 else said
    return said, kinds, kept


def answerable(index: dict[tuple[Any, ...], list[Truth]], t: Truth, kept: dict[str, bool]) -> bool:
    same = index[(t.sub_building, t.house_number.upper(), t.street)]
    left = [
        o
        for o in same
        if (not kept["town"] or o.town == t.town)
        and (not kept["postcode"] or o.postcode == t.postcode)
    ]
    return len(left) == 1


@dataclass
class Query:
    text: str
    truth: int
    kinds: set[str]
    answerable: bool


def queries(rows: list[Truth], n: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    index: dict[tuple[Any, ...], list[Truth]] = defaultdict(list)
    for t in rows:
        index[(t.sub_building, t.house_number.upper(), t.street)].append(t)
    out = []
    for t in rng.sample(rows, min(n, len(rows))):
        said, kinds, kept = variant(rng, t)
        out.append(Query(said, t.uprn, kinds, answerable(index, t, kept)))
    return out


# -- metrics ------------------------------------------------------------------------------------
def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000
    return {f"p{p}": round(float(np.percentile(a, p)), 2) for p in (50, 95, 99)}


def accuracy(qs: list[Query], results: list[MatchResult]) -> dict[str, Any]:
    right = [r.uprn == q.truth for q, r in zip(qs, results, strict=True)]
    sure_wrong = [
        r.status == "matched" and r.uprn != q.truth for q, r in zip(qs, results, strict=True)
    ]
    ans = [i for i, q in enumerate(qs) if q.answerable]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for q, hit in zip(qs, right, strict=True):
        for k in q.kinds or {"clean"}:
            by_kind[k].append(hit)
    statuses = Counter(r.status for r in results)
    bins = np.linspace(0, 1, 11)
    conf = np.array([r.confidence for r in results])
    correct = np.array(right, dtype=float)
    ece = 0.0
    for lo, hi in itertools.pairwise(bins):
        upper = conf < hi if hi < 1 else conf <= hi
        in_bin = (conf >= lo) & upper
        if in_bin.any():
            ece += float(in_bin.mean() * abs(conf[in_bin].mean() - correct[in_bin].mean()))
    return {
        "queries": len(qs),
        "top1_accuracy": round(float(np.mean(right)), 4),
        "answerable": len(ans),
        "top1_accuracy_answerable": round(float(np.mean([right[i] for i in ans])), 4)
        if ans
        else None,
        "confident_wrong_rate": round(float(np.mean(sure_wrong)), 4),
        "confident_wrong": int(sum(sure_wrong)),
        "statuses": dict(statuses),
        "accuracy_by_noise": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_kind.items())},
        "calibration_ece": round(ece, 4),
    }


def baseline(conn: Connection, qs: list[Query]) -> tuple[list[int | None], list[float]]:
    """Nearest full_address by pg_trgm similarity (GIN index, system actor): the reference."""
    conn.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
    found: list[int | None] = []
    times: list[float] = []
    sql = text(
        "SELECT uprn FROM addresses WHERE full_address % :q "
        "ORDER BY similarity(full_address, :q) DESC, uprn LIMIT 1"
    )
    for q in qs:
        started = time.perf_counter()
        found.append(conn.execute(sql, {"q": q.text}).scalar_one_or_none())
        times.append(time.perf_counter() - started)
    return found, times


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def fit_calibration(engine: Engine, actor: Actor, rows: list[Truth], n: int, seed: int) -> Any:
    """Logistic regression of 'top-1 right' on (score, lead) by Newton's method, with a
    ridge penalty: errors are rare, and an unpenalised fit would call any lead certain."""
    qs = queries(rows, n, seed)
    with transaction(engine, actor) as conn:
        results = match_many(conn, [q.text for q in qs])
    x, y = [], []
    for q, r in zip(qs, results, strict=True):
        if not r.candidates:
            continue
        best = r.candidates[0].score
        lead = best - (r.candidates[1].score if len(r.candidates) > 1 else LONE_RUNNER_UP)
        x.append([1.0, best, min(lead, LEAD_CAP)])
        y.append(1.0 if r.uprn == q.truth else 0.0)
    xa, ya = np.array(x), np.array(y)
    beta = np.zeros(3)
    for _ in range(50):
        p = 1 / (1 + np.exp(-xa @ beta))
        w = p * (1 - p) + 1e-9
        ridge = np.diag([1e-6, RIDGE, RIDGE])
        hessian = xa.T @ (xa * w[:, None]) + ridge
        beta += np.linalg.solve(hessian, xa.T @ (ya - p) - ridge @ beta)
    return {"coefficients": [round(float(b), 4) for b in beta], "samples": len(y)}


# -- real addresses -----------------------------------------------------------------------------
def land_registry_file() -> Path:
    root = os.environ.get("HARDENING_OPEN_DATA_DIR") or str(PROJECT_ROOT.parent / "shared" / "data")
    path = Path(root) / "addresses" / "ppd_combined_normalised.csv"
    if not path.exists():
        raise SystemExit(f"{path} is missing: set HARDENING_OPEN_DATA_DIR to the open data folder")
    return path


def prepare_real(database: str, addresses: list[caller_noise.Address], reuse: bool) -> Engine:
    """A small sample town (users, areas) plus the real addresses, imported as a user would."""
    engine = prepare(database, 1_000, 42, reuse=True, source="sample%")
    with transaction(engine, Actor.system()) as conn:
        have = conn.execute(
            text("SELECT count(*) FROM addresses WHERE source = 'land_registry'")
        ).scalar_one()
    if reuse and have == len(addresses):
        return engine
    with tempfile.TemporaryDirectory() as folder:
        register_csv = Path(folder) / "land_registry.csv"
        caller_noise.write_register(addresses, register_csv)
        with transaction(engine, Actor.system()) as conn:
            report, seconds = timed(
                lambda: import_file(conn, register_csv, crs="EPSG:27700", source="land_registry")
            )
        say(f"imported {report.inserted + report.updated:,} real addresses in {seconds:.1f} s")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE addresses"))
    return engine


def scored(qs: list[caller_noise.Query], results: list[MatchResult]) -> dict[str, Any]:
    """Accuracy overall, on answerable queries and by kind; confident-wrong; no-match answers
    to queries whose postcode and house number or name identify one address."""
    pairs = list(zip(qs, results, strict=True))
    ans = [(q, r) for q, r in pairs if q.answerable]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for q, r in ans:
        for kind in q.kinds:
            by_kind[kind].append(r.uprn == q.truth)
    confident = [(q, r) for q, r in pairs if r.status == "matched"]
    sure_wrong = [(q, r) for q, r in confident if r.uprn != q.truth]
    identified = [(q, r) for q, r in pairs if q.identified]
    return {
        "queries": len(qs),
        "answerable": len(ans),
        "top1_accuracy_answerable": round(float(np.mean([r.uprn == q.truth for q, r in ans])), 4),
        "top1_accuracy_all": round(float(np.mean([r.uprn == q.truth for q, r in pairs])), 4),
        "confident": len(confident),
        "confident_wrong": len(sure_wrong),
        "confident_wrong_rate": round(len(sure_wrong) / max(len(confident), 1), 5),
        "identified": len(identified),
        "identified_no_match": sum(r.status == "no_match" for _, r in identified),
        "identified_wrong": sum(r.uprn != q.truth for q, r in identified),
        "statuses": dict(Counter(r.status for r in results)),
        "accuracy_by_noise": {
            k: {"n": len(v), "top1": round(float(np.mean(v)), 4)}
            for k, v in sorted(by_kind.items())
        },
        "misses_examples": [
            {"query": q.text, "truth": q.truth, "got": r.uprn, "status": r.status}
            for q, r in ans
            if r.uprn != q.truth
        ][:25],
        "confident_wrong_examples": [
            {"query": q.text, "truth": q.truth, "got": r.uprn} for q, r in sure_wrong
        ][:10],
    }


def land_registry(args: argparse.Namespace) -> dict[str, Any]:
    addresses = caller_noise.read_ppd(land_registry_file())
    engine = prepare_real(args.database + "_real", addresses, args.reuse)
    qs = caller_noise.queries(addresses, args.per_address, args.noise_seed)
    with transaction(engine, Actor.system()) as conn:
        actor = control_room_actor(conn)
        held = conn.execute(
            text("SELECT count(*) FROM addresses WHERE source = 'land_registry'")
        ).scalar_one()
    assert held == len(addresses), "the register lost some real addresses"
    with transaction(engine, actor) as conn:
        vocabulary.current(conn)
        results, batch_s = timed(lambda: match_many(conn, [q.text for q in qs]))
    single = random.Random(args.noise_seed).sample(qs, min(args.queries, len(qs)))
    times: list[float] = []
    with transaction(engine, actor) as conn:
        for q in single:
            started = time.perf_counter()
            match(conn, q.text)
            times.append(time.perf_counter() - started)
    with transaction(engine, Actor.system()) as conn:
        ref_found, ref_times = baseline(conn, single[: args.baseline])  # type: ignore[arg-type]
    by_text = {q.text: r for q, r in zip(qs, results, strict=True)}
    ref_qs = single[: args.baseline]
    return {
        "benchmark": "address_matching_land_registry",
        "addresses": len(addresses),
        "high_confidence": HIGH_CONFIDENCE,
        "batch": {
            **scored(qs, results),
            "seconds": round(batch_s, 2),
            "queries_per_second": round(len(qs) / batch_s, 1),
        },
        "single_latency_ms": percentiles(times),
        "reference_pg_trgm": {
            "queries": len(ref_qs),
            "top1_accuracy": round(
                float(np.mean([f == q.truth for q, f in zip(ref_qs, ref_found, strict=True)])), 4
            ),
            "ours_on_same_queries": round(
                float(np.mean([by_text[q.text].uprn == q.truth for q in ref_qs])), 4
            ),
            "latency_ms": percentiles(ref_times),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10_000, help="queries in the batch run")
    parser.add_argument("--baseline", type=int, default=500, help="queries for the reference")
    parser.add_argument("--seed", type=int, default=42, help="sample seed")
    parser.add_argument("--noise-seed", type=int, default=7)
    parser.add_argument("--database", default="hardening_bench_match")
    parser.add_argument("--reuse", action="store_true", help="keep a database of this size")
    parser.add_argument("--fit", action="store_true", help="fit the confidence calibration")
    parser.add_argument(
        "--land-registry", action="store_true", help="real addresses from the open data folder"
    )
    parser.add_argument("--per-address", type=int, default=3, help="real-data queries each")
    args = parser.parse_args()
    if args.land_registry:
        print(json.dumps(land_registry(args), indent=2, allow_nan=False))
        return

    engine = prepare(args.database, args.addresses, args.seed, args.reuse)
    with transaction(engine, Actor.system()) as conn:
        rows = register(conn)
        actor = control_room_actor(conn)
    if args.fit:
        print(json.dumps(fit_calibration(engine, actor, rows, 20_000, args.noise_seed + 1000)))
        return
    qs = queries(rows, args.queries, args.noise_seed)
    with transaction(engine, actor) as conn:
        _, load_s = timed(lambda: vocabulary.current(conn))
        results: list[MatchResult] = []
        times: list[float] = []
        for q in qs:
            started = time.perf_counter()
            results.append(match(conn, q.text))
            times.append(time.perf_counter() - started)
    batch_qs = queries(rows, args.batch, args.noise_seed + 1)
    with transaction(engine, actor) as conn:
        batch_results, batch_s = timed(lambda: match_many(conn, [q.text for q in batch_qs]))
    ref_qs = qs[: args.baseline]
    with transaction(engine, Actor.system()) as conn:
        ref_found, ref_times = baseline(conn, ref_qs)
    ours_on_ref = [r.uprn == q.truth for q, r in zip(ref_qs, results, strict=False)]
    ref_right = [f == q.truth for q, f in zip(ref_qs, ref_found, strict=True)]
    report: dict[str, Any] = {
        "benchmark": "address_matching",
        "addresses": len(rows),
        "high_confidence": HIGH_CONFIDENCE,
        "single": {
            **accuracy(qs, results),
            "latency_ms": percentiles(times),
            "vocabulary_load_s": round(load_s, 3),
        },
        "batch": {
            **accuracy(batch_qs, batch_results),
            "seconds": round(batch_s, 2),
            "per_query_ms": round(1000 * batch_s / max(len(batch_qs), 1), 3),
        },
        "reference_pg_trgm": {
            "queries": len(ref_qs),
            "top1_accuracy": round(float(np.mean(ref_right)), 4),
            "ours_on_same_queries": round(float(np.mean(ours_on_ref)), 4),
            "latency_ms": percentiles(ref_times),
            "p95_ratio_ours_to_reference": round(
                float(np.percentile(times[: len(ref_qs)], 95) / np.percentile(ref_times, 95)), 3
            ),
        },
    }
    examples = [
        {"query": q.text, "truth": q.truth, "got": r.uprn, "status": r.status}
        for q, r in zip(qs, results, strict=True)
        if r.uprn != q.truth and q.answerable
    ][:15]
    report["answerable_misses_examples"] = examples
    print(json.dumps(report, indent=2, allow_nan=False, default=lambda o: None))
    engine.dispose()
    assert math.isfinite(report["single"]["top1_accuracy"])


if __name__ == "__main__":
    main()
