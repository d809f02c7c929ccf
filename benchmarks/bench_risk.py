"""Risk scoring: full set-based scoring in PostGIS against an in-memory NumPy/SciPy (cKDTree)
computation of the same factors on the same data in the same run, and incremental re-scoring
after one new incident.

    .venv/bin/python benchmarks/bench_risk.py --addresses 200000
    .venv/bin/python benchmarks/bench_risk.py --addresses 1000000 --reuse

Builds (or with --reuse keeps) its own database (default hardening_bench_risk) holding a
synthetic district: towns of dwellings (a share of them flats in blocks), LSOAs with IMD
deciles, stations, two years of incidents and intelligence, visits, installed measures and
cameras. The SQL figure is `hardening.risk.scoring.score` end to end (work tables, every
factor, scores and contributions written); the reference reads the same rows into arrays
(fetch timed apart) and computes every factor and score with numpy + cKDTree, and the run
checks both give the same scores and the same factor contributions (explanations). Prints one
JSON document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine, text

from hardening.db.bulk import upsert_rows
from hardening.db.engine import (
    Actor,
    app_role_engine,
    ensure_database,
    owner_engine,
    set_actor,
    transaction,
)
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo, owner_url
from hardening.risk import scoring
from hardening.risk.incremental import rescore_after
from hardening.risk.model import DEFAULT_MODEL, LOGIT_CLAMP
from hardening.risk.worktables import UnitScope
from hardening.settings import Settings

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
AREA = "bench"
X0, Y0 = 300_000.0, 400_000.0
Arr = npt.NDArray[Any]
CATEGORIES = np.array(
    ["cuckooing", "exploitation", "drug_dealing", "drug_possession", "threat_to_life",
     "violence", "weapons", "asb", "burglary", "robbery", "other_crime"]
)  # fmt: skip
CATEGORY_P = [0.01, 0.01, 0.05, 0.08, 0.005, 0.25, 0.02, 0.35, 0.09, 0.02, 0.115]
DOOR = ["spy_hole", "door_chain", "letterbox_guard"]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- synthetic district -------------------------------------------------------------------------
def load_district(conn: Connection, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    side = max(10_000.0, float(np.sqrt(n / 500.0)) * 1000.0)  # 500 dwellings/km2 overall
    towns = X0 + rng.uniform(2000, side - 2000, (max(1, n // 20_000), 2))
    towns[:, 1] += Y0 - X0
    square = f"SRID=27700;MULTIPOLYGON((({X0} {Y0},{X0 + side} {Y0},{X0 + side} {Y0 + side},"
    upsert_rows(
        conn,
        "areas",
        ["area_id", "name", "geom"],
        [(AREA, "Bench", square + f"{X0} {Y0 + side},{X0} {Y0})))")],
        ["area_id"],
    )
    upsert_rows(
        conn,
        "organisations",
        ["org_id", "name", "kind"],
        [("bench-police", "Bench Police", "police")],
        ["org_id"],
    )
    # LSOAs: an 800 m grid with IMD deciles, more deprived near town centres
    cell = 800.0
    cols = int(np.ceil(side / cell))
    gx, gy = np.meshgrid(np.arange(cols), np.arange(cols))
    cx, cy = gx.ravel(), gy.ravel()
    mid = np.column_stack([X0 + (cx + 0.5) * cell, Y0 + (cy + 0.5) * cell])
    near = cKDTree(towns).query(mid)[0]
    deciles = np.clip((near / 700).astype(int) + rng.integers(-1, 3, len(mid)) + 1, 1, 10)
    codes = [f"E01{i:06d}" for i in range(len(mid))]
    lsoa_rows = []
    for i, (x, y) in enumerate(zip(X0 + cx * cell, Y0 + cy * cell, strict=True)):
        ring = f"{x} {y},{x + cell} {y},{x + cell} {y + cell},{x} {y + cell},{x} {y}"
        lsoa_rows.append(
            (codes[i], codes[i], int(deciles[i]), AREA, f"SRID=27700;MULTIPOLYGON((({ring})))")
        )
    upsert_rows(
        conn,
        "lsoas",
        ["lsoa_code", "name", "imd_decile", "area_id", "geom"],
        lsoa_rows,
        ["lsoa_code"],
    )
    upsert_rows(
        conn,
        "imd_deciles",
        ["lsoa_code", "imd_decile"],
        [(r[0], r[2]) for r in lsoa_rows],
        ["lsoa_code"],
    )
    hubs = [
        (f"rail:B{i}", "rail_station", f"Station {i}", _pt(x, y)) for i, (x, y) in enumerate(towns)
    ]
    hubs += [
        (f"bus:B{i}", "bus_station", f"Bus {i}", _pt(x + 300, y)) for i, (x, y) in enumerate(towns)
    ]
    upsert_rows(conn, "transport_hubs", ["hub_key", "kind", "name", "geom"], hubs, ["hub_key"])

    # Buildings: blocks of ~10 flats and single dwellings, around the towns.
    n_blocks = int(0.012 * n)
    sizes = rng.integers(6, 15, n_blocks)
    sizes = sizes[np.cumsum(sizes) <= n // 2]
    n_single = n - int(sizes.sum())
    n_build = len(sizes) + n_single
    town = rng.integers(0, len(towns), n_build)
    xy = np.clip(
        towns[town] + rng.normal(0, 1500, (n_build, 2)),
        [X0 + 1, Y0 + 1],
        [X0 + side - 1, Y0 + side - 1],
    )
    block_uprn = 900_000_000 + np.arange(len(sizes))
    owner = np.repeat(np.arange(len(sizes)), sizes)
    flat_xy = xy[: len(sizes)][owner]
    single_types = rng.choice(
        ["house", "bungalow", "hmo", "supported", "other"],
        n_single,
        p=[0.85, 0.08, 0.035, 0.02, 0.015],
    )
    d_xy = np.vstack([flat_xy, xy[len(sizes) :]])
    d_type = np.concatenate([np.full(len(owner), "flat"), single_types])
    d_parent: list[int | None] = [int(block_uprn[o]) for o in owner] + [None] * n_single
    tenure = rng.choice(
        ["owner_occupied", "private_rented", "social_rented", "supported", "unknown"],
        n,
        p=[0.55, 0.2, 0.2, 0.02, 0.03],
    )
    cell_of = ((d_xy[:, 1] - Y0) // cell).astype(int) * cols + ((d_xy[:, 0] - X0) // cell).astype(
        int
    )
    uprn = 100_000_000 + np.arange(n)
    rows: list[tuple[Any, ...]] = [
        (int(b), None, AREA, f"Block {i}", "block", "unknown", None, _pt(*xy[i]))
        for i, b in enumerate(block_uprn)
    ]
    rows += [
        (
            int(uprn[i]),
            d_parent[i],
            AREA,
            f"Dwelling {i}",
            str(d_type[i]),
            str(tenure[i]),
            codes[cell_of[i]],
            _pt(*d_xy[i]),
        )
        for i in range(n)
    ]
    say(f"loading {len(rows):,} addresses")
    upsert_rows(
        conn,
        "addresses",
        [
            "uprn",
            "parent_uprn",
            "area_id",
            "full_address",
            "property_type",
            "tenure",
            "lsoa_code",
            "geom",
        ],
        rows,
        ["uprn"],
    )

    # Incidents: two years, 0.32 per dwelling, at dwellings or around town-centre hot spots.
    m = int(0.32 * n)
    cat = rng.choice(CATEGORIES, m, p=CATEGORY_P)
    at_home = rng.random(m) < 0.6
    home = rng.integers(0, n, m)
    ex_xy = towns[rng.integers(0, len(towns), m)] + rng.normal(0, 400, (m, 2))
    e_xy = np.where(at_home[:, None], d_xy[home] + rng.normal(0, 5, (m, 2)), ex_xy)
    keep_uprn = at_home & ((rng.random(m) < 0.4) | np.isin(cat, ["cuckooing", "exploitation"]))
    intel = np.isin(cat, ["cuckooing", "exploitation", "drug_dealing", "weapons"]) & (
        rng.random(m) < 0.15
    )
    when = [AS_OF - timedelta(days=float(d)) for d in rng.uniform(0.01, 730, m)]
    inc = [
        (
            "bench",
            str(i),
            "intelligence" if intel[i] else "incident",
            str(cat[i]),
            when[i],
            int(uprn[home[i]]) if keep_uprn[i] else None,
            AREA,
            _pt(*e_xy[i]),
        )
        for i in range(m)
    ]
    say(f"loading {m:,} incidents")
    upsert_rows(
        conn,
        "incidents",
        ["source", "source_ref", "kind", "category", "occurred_at", "uprn", "area_id", "geom"],
        inc,
        ["source", "source_ref"],
    )
    v = rng.choice(n, n // 100, replace=False)
    visits = [
        (
            i + 1,
            AREA,
            int(uprn[h]),
            (AS_OF - timedelta(days=float(rng.uniform(1, 730)))).date(),
            "bench-police",
            f"SUBJ-{i:06d}",
            str(
                rng.choice(
                    ["class_a_user", "street_dealer", "house_dealer", "cuckooed_occupant", "other"]
                )
            ),
            bool(rng.random() < 0.4),
        )
        for i, h in enumerate(v)
    ]
    upsert_rows(
        conn,
        "visits",
        [
            "visit_id",
            "area_id",
            "uprn",
            "visited_on",
            "team_org_id",
            "subject_ref",
            "subject_type",
            "occupant_vulnerable",
        ],
        visits,
        ["visit_id"],
        identity="visit_id",
    )
    measures: list[tuple[Any, ...]] = []
    for h in rng.choice(n, n // 25, replace=False):
        for code in rng.choice(DOOR, int(rng.integers(1, 3)), replace=False):
            measures.append((int(uprn[h]), str(code)))
    for b in block_uprn:
        for code, share in (("entry_system_repair", 0.4), ("cctv_repair", 0.1), ("lighting", 0.1)):
            if rng.random() < share:
                measures.append((int(b), code))
    measures += [(int(uprn[h]), "warning_notice") for h in rng.choice(n, n // 500, replace=False)]
    status = rng.choice(["working", "faulty"], len(measures), p=[0.9, 0.1])
    installed = [
        (u, c, (AS_OF - timedelta(days=float(rng.uniform(1, 1000)))).date(), str(s), AREA)
        for (u, c), s in zip(measures, status, strict=True)
    ]
    upsert_rows(
        conn,
        "installed_measures",
        ["uprn", "measure_code", "installed_on", "status", "area_id"],
        installed,
        ["uprn", "measure_code"],
    )
    k = max(1, n // 2000)
    cam_xy = towns[rng.integers(0, len(towns), k)] + rng.normal(0, 800, (k, 2))
    cams = [
        ("bench", str(i), float(rng.uniform(0, 360)), 90.0, 60.0, AREA, _pt(*cam_xy[i]))
        for i in range(k)
    ]
    upsert_rows(
        conn,
        "cctv_sites",
        ["source", "source_ref", "bearing_deg", "fov_deg", "range_m", "area_id", "geom"],
        cams,
        ["source", "source_ref"],
    )


def _pt(x: float, y: float) -> str:
    return f"SRID=27700;POINT({x:.2f} {y:.2f})"


def prepare(database: str, n: int, seed: int, reuse: bool) -> Engine:
    settings = Settings(database_name=database)
    url = owner_url(settings)
    ensure_database(settings, url)
    migrate(url)
    engine = app_role_engine(url)
    with transaction(engine, Actor.system()) as conn:
        have = conn.execute(text("SELECT count(*) FROM addresses WHERE property_type <> 'block'"))
        if reuse and have.scalar_one() == n:
            say(f"reusing {database}: {n:,} dwellings")
            return engine
    say(f"building {database} with {n:,} dwellings")
    engine.dispose()
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as raw:
        raw.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    ensure_database(settings, url)
    migrate(url)
    with transaction(engine, Actor.system()) as conn:
        load_district(conn, n, seed)
    with owner_engine(settings).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return engine


# -- the in-memory reference -------------------------------------------------------------------
def fetch(conn: Connection) -> dict[str, Arr]:
    """The rows the factors read, as arrays (the reference's input; timed apart)."""
    block = "coalesce(a.parent_uprn, CASE WHEN a.property_type = 'block' THEN a.uprn END)"
    queries = {
        "units": f"SELECT a.uprn, coalesce({block}, -1), ST_X(a.geom), ST_Y(a.geom), a.tenure, "
        "a.property_type, coalesce(d.imd_decile, 0) FROM addresses a LEFT JOIN imd_deciles d "
        "USING (lsoa_code) WHERE a.property_type NOT IN ('block', 'commercial') ORDER BY a.uprn",
        "events": f"SELECT ST_X(i.geom), ST_Y(i.geom), coalesce(i.uprn, -1), coalesce({block}, -1),"
        " i.category, extract(epoch FROM (:as_of - i.occurred_at)) / 86400 FROM incidents i "
        "LEFT JOIN addresses a ON a.uprn = i.uprn WHERE i.occurred_at < :as_of AND "
        "i.occurred_at >= :as_of - interval '730 days' UNION ALL SELECT ST_X(a.geom), "
        f"ST_Y(a.geom), v.uprn, coalesce({block}, -1), 'cuckooing', extract(epoch FROM (:as_of "
        "- (v.visited_on::timestamp AT TIME ZONE 'UTC'))) / 86400 FROM visits v JOIN addresses a "
        "USING (uprn) WHERE v.subject_type = 'cuckooed_occupant' AND v.visited_on < :as_of "
        "AND v.visited_on >= :as_of - interval '730 days'",
        "hubs": "SELECT ST_X(geom), ST_Y(geom) FROM transport_hubs",
        "visits": "SELECT uprn FROM visits WHERE visited_on < :as_of AND visited_on >= :as_of - "
        "interval '730 days' AND (occupant_vulnerable OR subject_type IN ('class_a_user', "
        "'cuckooed_occupant'))",
        "measures": "SELECT m.uprn, c.risk_factor, m.measure_code FROM installed_measures m JOIN "
        "measures_catalogue c USING (measure_code) WHERE m.status = 'working' AND "
        "m.installed_on < :as_of",
        "cameras": "SELECT ST_X(geom), ST_Y(geom), bearing_deg, fov_deg, range_m FROM cctv_sites "
        "WHERE status = 'working'",
    }
    out: dict[str, Arr] = {}
    for name, sql in queries.items():
        rows = conn.execute(text(sql), {"as_of": AS_OF}).all()
        out[name] = np.array([tuple(r) for r in rows], dtype=object)
    return out


def reference(data: dict[str, Arr]) -> tuple[Arr, Arr, dict[str, Arr]]:
    """Every factor and the score of every dwelling, in memory; returns (uprns, scores,
    contributions: each factor's rounded term per dwelling)."""
    p = DEFAULT_MODEL.params("addresses")
    u, e = data["units"], data["events"]
    uprn = u[:, 0].astype(np.int64)
    block = u[:, 1].astype(np.int64)
    uxy = u[:, 2:4].astype(float)
    index = {int(v): i for i, v in enumerate(uprn)}
    exy, eu, eb = e[:, 0:2].astype(float), e[:, 2].astype(np.int64), e[:, 3].astype(np.int64)
    cat, age = e[:, 4].astype(str), e[:, 5].astype(float)
    at = np.array([index.get(int(v), -1) for v in eu])
    f: dict[str, Arr] = {}
    exploit = np.isin(cat, p["prior_here"]["events"]["categories"])
    decay = 0.5 ** (age / 180.0)
    here = (at >= 0) & exploit
    own = np.bincount(at[here], decay[here], len(uprn))
    f["prior_here"] = np.log1p(own)
    blocks, inverse = np.unique(
        np.concatenate([block, eb[exploit & (eb >= 0)]]), return_inverse=True
    )
    per_block = np.bincount(inverse[len(block) :], decay[exploit & (eb >= 0)], len(blocks))
    f["prior_block"] = np.where(
        block >= 0, np.log1p(np.maximum(per_block[inverse[: len(block)]] - own, 0.0)), 0.0
    )
    other = (at >= 0) & ~exploit
    f["incidents_here"] = np.log1p(np.bincount(at[other], decay[other], len(uprn)))
    tree = cKDTree(uxy)
    for name, space in (("near_repeat", "linear"), ("drug_market", "quartic")):
        q = p[name]
        sel = np.isin(cat, q["events"]["categories"]) & (age < q["window_days"])
        pairs = cKDTree(exy[sel]).sparse_distance_matrix(tree, q["radius_m"], output_type="ndarray")
        d = pairs["v"] / q["radius_m"]
        w = (
            (1 - d) * (1 - age[sel][pairs["i"]] / q["window_days"])
            if space == "linear"
            else (1 - d * d) ** 2
        )
        f[name] = np.log1p(np.bincount(pairs["j"], w, len(uprn)))
    dist = cKDTree(data["hubs"].astype(float)).query(uxy, distance_upper_bound=1000.0)[0]
    f["transport"] = np.where(np.isfinite(dist), 1 - dist / 1000.0, 0.0)
    decile = u[:, 6].astype(float)
    f["deprivation"] = np.where(decile > 0, (5.5 - decile) / 4.5, 0.0)
    f["vulnerability"] = np.isin(uprn, data["visits"][:, 0].astype(np.int64)).astype(float)
    tenure, kind = u[:, 4].astype(str), u[:, 5].astype(str)
    f["social_housing"] = (
        np.isin(tenure, ["social_rented", "supported"]) | (kind == "supported")
    ).astype(float)
    f["flat_in_block"] = ((kind == "flat") | (block >= 0)).astype(float)
    f["hmo"] = (kind == "hmo").astype(float)
    m = data["measures"]
    m_uprn, m_factor = m[:, 0].astype(np.int64), m[:, 1].astype(str)
    doors = np.array([index.get(int(v), -1) for v in m_uprn[m_factor == "protection_door"]])
    f["protection_door"] = 1 - 0.5 ** np.bincount(doors[doors >= 0], minlength=len(uprn))
    for name in ("protection_entry", "protection_cctv", "protection_lighting", "protection_notice"):
        holders = m_uprn[m_factor == name]
        hit = np.isin(uprn, holders) | np.isin(block, holders)
        if name == "protection_entry":
            hit &= block >= 0
        f[name] = hit.astype(float)
    cams = data["cameras"].astype(float)
    for x, y, bearing, fov, reach in cams:
        near = np.array(tree.query_ball_point([x, y], reach), dtype=np.int64)
        dx, dy = uxy[near, 0] - x, uxy[near, 1] - y
        az = np.degrees(np.arctan2(dx, dy)) % 360
        inside = (
            (fov >= 360)
            | ((dx == 0) & (dy == 0))
            | (np.abs((az - bearing + 540) % 360 - 180) <= fov / 2)
        )
        f["protection_cctv"][near[inside]] = 1.0
    logit = np.full(len(uprn), DEFAULT_MODEL.intercept)
    terms = {name: np.round(DEFAULT_MODEL.coefficient(name) * v, 6) for name, v in f.items()}
    for values in terms.values():
        logit += values
    return uprn, 100.0 / (1.0 + np.exp(-np.clip(logit, -LOGIT_CLAMP, LOGIT_CLAMP))), terms


# -- the run ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--database", default="hardening_bench_risk")
    parser.add_argument("--reuse", action="store_true", help="keep a database of this size")
    parser.add_argument("--incidents", type=int, default=5, help="incremental re-scores to time")
    args = parser.parse_args()
    engine = prepare(args.database, args.addresses, args.seed, args.reuse)
    with transaction(engine, Actor.system()) as conn:  # untimed: start from no scores
        conn.execute(text("DELETE FROM risk_explanations"))
        conn.execute(text("DELETE FROM risk_scores"))
    say("full scoring (SQL), first run")
    started = time.perf_counter()
    with transaction(engine, Actor.system()) as conn:
        run = scoring.score(conn, "addresses", AREA, AS_OF)
    sql_seconds = time.perf_counter() - started
    say("full scoring (SQL), again: replaces every score")
    started = time.perf_counter()
    with transaction(engine, Actor.system()) as conn:
        scoring.score(conn, "addresses", AREA, AS_OF)
    rerun_seconds = time.perf_counter() - started
    say("factors only (SQL work tables and risk_fv, nothing written)")
    with engine.connect() as conn, conn.begin() as tx:
        set_actor(conn, Actor.system())
        started = time.perf_counter()
        scoring.tune(conn)
        scoring.prepare(conn, DEFAULT_MODEL, UnitScope("addresses", AREA), AS_OF)
        factors_seconds = time.perf_counter() - started
        tx.rollback()
    say("in-memory reference")
    with transaction(engine, Actor.system()) as conn:
        started = time.perf_counter()
        data = fetch(conn)
        fetch_seconds = time.perf_counter() - started
        started = time.perf_counter()
        uprns, ref_scores, ref_terms = reference(data)
        ref_seconds = time.perf_counter() - started
        stored: dict[int, float] = dict(
            conn.execute(
                text("SELECT uprn, score FROM risk_scores WHERE model_version = :m"),
                {"m": run.model_version},
            ).all()
        )
        explained: dict[int, dict[str, float]] = dict(
            conn.execute(
                text("SELECT uprn, contributions FROM risk_explanations WHERE model_version = :m"),
                {"m": run.model_version},
            ).all()
        )
    diff = float(np.max(np.abs(np.array([stored[int(u)] for u in uprns]) - ref_scores)))
    # every factor's stored term (absent from the JSON: 0) against the reference's
    terms_diff = max(
        float(np.max(np.abs(np.array([explained[int(u)].get(n, 0.0) for u in uprns]) - v)))
        for n, v in ref_terms.items()
    )
    say("incremental re-scoring")
    times, sizes = [], []
    rng = np.random.default_rng(args.seed + 1)
    for i in range(args.incidents):
        with engine.connect() as conn, conn.begin() as tx:
            set_actor(conn, Actor.system())
            x, y = conn.execute(
                text(
                    "SELECT ST_X(geom), ST_Y(geom) FROM addresses ORDER BY uprn OFFSET :o LIMIT 1"
                ),
                {"o": int(rng.integers(0, args.addresses))},
            ).one()
            incident = conn.execute(
                text(
                    "INSERT INTO incidents (source, source_ref, category, occurred_at, area_id, "
                    "geom) VALUES ('bench-new', :r, 'drug_dealing', :t, :a, "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 27700)) RETURNING incident_id"
                ),
                {"r": str(i), "t": AS_OF - timedelta(hours=1), "a": AREA, "x": x + 10, "y": y},
            ).scalar_one()
            started = time.perf_counter()
            _, rescored = rescore_after(conn, "incident", incident, as_of=AS_OF)
            times.append(time.perf_counter() - started)
            sizes.append(len(rescored))
            tx.rollback()
    report = {
        "addresses": args.addresses,
        "sql_full_scoring_s": round(sql_seconds, 2),
        "sql_rescoring_s": round(rerun_seconds, 2),
        "reference_numpy_scipy_s": round(ref_seconds, 2),
        "reference_fetch_s": round(fetch_seconds, 2),
        "ratio_sql_to_reference": round(sql_seconds / ref_seconds, 2),
        "ratio_sql_to_reference_with_fetch": round(sql_seconds / (ref_seconds + fetch_seconds), 2),
        "sql_factors_only_s": round(factors_seconds, 2),
        "ratio_sql_factors_to_reference": round(factors_seconds / ref_seconds, 2),
        "max_score_difference": diff,
        "max_contribution_difference": terms_diff,
        "bands": run.bands,
        "incremental_rescore_ms_median": round(1000 * statistics.median(times), 1),
        "incremental_rescore_ms_max": round(1000 * max(times), 1),
        "incremental_addresses_rescored_median": statistics.median(sizes),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
