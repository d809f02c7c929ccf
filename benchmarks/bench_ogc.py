"""OGC API Features pages with `numberMatched` under row-level security, against the same page
and count as raw SQL with the GiST index (no RLS) in the same run.

    .venv/bin/python benchmarks/bench_ogc.py                        # 20k addresses, 200k sites
    .venv/bin/python benchmarks/bench_ogc.py --sites 1000000 --database hardening_bench_ogc --reuse

Builds (or with --reuse keeps) its own database holding the sample town
(benchmarks/bench_match.py's `prepare`) and tops CCTV sites up to --sites, scattered over the
town's areas. Each case reads one page (limit 100) of a collection through the service
(`hardening.features`), as the sample's planner, in one transaction with the actor set: the
page's query plus its capped exact count. The reference runs the same page and an uncapped
count as the owner, without row-level security, so PostgreSQL may use the GiST index for the
bbox. Medians of --repeat runs.

Then the same pages over HTTP against the anchor, tipg (benchmarks/tipg_peer.py: its own
virtual environment under the state folder, over the same table in the same run): our
`/ogc/collections/cctv-sites/items` under uvicorn with the planner's bearer token (row-level
security, the collection's properties) and tipg's `/collections/public.cctv_sites/items` with
the same properties and `status <> 'removed'` as a CQL2 filter, as the database owner (tipg
enforces no row-level security). --requests requests per case, alternating; p50/p99 of each.
One JSON document on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tipg_peer
from bench_match import actor_of, prepare, say
from serving import free_port, start_api

from hardening.bbox import BBOX_BNG_SQL, BBox
from hardening.db.engine import Actor, transaction
from hardening.db.engine import owner_engine as make_owner_engine
from hardening.db.urls import owner_url
from hardening.features.collections import CCTV, REGISTRY
from hardening.geo import to_lon_lat
from hardening.risk import scoring
from hardening.security.users import issue_token
from hardening.settings import Settings

LIMIT = 100
COUNT_CAP = 100_000


def top_up_sites(owner: Engine, wanted: int) -> int:
    with owner.begin() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM cctv_sites")).scalar_one())
        if have < wanted:
            say(f"adding {wanted - have:,} CCTV sites")
            conn.execute(text("SELECT setseed(0.42)"))
            conn.execute(
                text(
                    "INSERT INTO cctv_sites (source, source_ref, bearing_deg, fov_deg, range_m, "
                    "area_id, geom) SELECT 'bench', 'b' || (g + (SELECT coalesce(max(substr("
                    "source_ref, 2)::bigint), 0) FROM cctv_sites WHERE source = 'bench')), "
                    "(random() * 359)::int, 90, 50, "
                    "a.area_id, ST_SetSRID(ST_MakePoint("
                    "ST_XMin(a.geom) + random() * (ST_XMax(a.geom) - ST_XMin(a.geom)), "
                    "ST_YMin(a.geom) + random() * (ST_YMax(a.geom) - ST_YMin(a.geom))), 27700) "
                    "FROM generate_series(1, :n) g, LATERAL (SELECT area_id, geom FROM areas "
                    "ORDER BY area_id OFFSET g % (SELECT count(*) FROM areas) LIMIT 1) a"
                ),
                {"n": wanted - have},
            )
            conn.execute(text("ANALYZE cctv_sites"))
        elif have > wanted:
            say(f"removing {have - wanted:,} benchmark CCTV sites")
            conn.execute(
                text(
                    "DELETE FROM cctv_sites WHERE site_id IN (SELECT site_id FROM cctv_sites "
                    "WHERE source = 'bench' ORDER BY site_id DESC LIMIT :n)"
                ),
                {"n": have - wanted},
            )
            conn.execute(text("ANALYZE cctv_sites"))
        return int(conn.execute(text("SELECT count(*) FROM cctv_sites")).scalar_one())


def box_around(engine: Engine, metres: float) -> BBox:
    """A square of the given side centred on the median site (deterministic)."""
    with transaction(engine, Actor.system()) as conn:
        x, y = conn.execute(
            text(
                "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ST_X(geom)), "
                "percentile_disc(0.5) WITHIN GROUP (ORDER BY ST_Y(geom)) FROM cctv_sites"
            )
        ).one()
    lon0, lat0 = to_lon_lat(x - metres / 2, y - metres / 2)
    lon1, lat1 = to_lon_lat(x + metres / 2, y + metres / 2)
    return BBox(lon0, lat0, lon1, lat1)


def median_ms(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2), result


def reference(owner: Engine, areas: list[str], bbox: BBox | None) -> tuple[int, int]:
    """The same page and an exact count as the owner: no RLS (the policy's area test written
    out instead), so the GiST index is usable."""
    where = "status <> 'removed' AND (area_id IS NULL OR area_id = ANY(:areas))"
    params: dict[str, Any] = {"areas": areas}
    if bbox is not None:
        where += f" AND geom && {BBOX_BNG_SQL} AND ST_Intersects(geom, {BBOX_BNG_SQL})"
        params |= bbox.sql_params()
    with owner.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT json_build_object('type', 'Feature', 'id', site_id, 'geometry', "
                "ST_AsGeoJSON(ST_Transform(geom, 4326), 7)::json)::text FROM cctv_sites "
                f"WHERE {where} ORDER BY site_id LIMIT :limit"
            ),
            {**params, "limit": LIMIT},
        ).all()
        count = conn.execute(text(f"SELECT count(*) FROM cctv_sites WHERE {where}"), params)
        return len(rows), int(count.scalar_one())


def risk_reference(owner: Engine, areas: list[str]) -> int:
    """The grid's raw counts as the owner (no disclosure control, no RLS): dwellings scored by
    the model shown, per 250 m square (sql/034's meaning)."""
    with owner.begin() as conn:
        rows = conn.execute(
            text(
                "WITH m AS (SELECT model_version FROM risk_models "
                "ORDER BY is_default DESC, created_at DESC LIMIT 1) "
                "SELECT floor(ST_X(a.geom) / 250), floor(ST_Y(a.geom) / 250), count(*), "
                "count(*) FILTER (WHERE s.band IN ('high', 'very_high')) FROM addresses a "
                "JOIN risk_scores s ON s.uprn = a.uprn AND s.model_version = "
                "(SELECT model_version FROM m) WHERE a.area_id = ANY(:areas) GROUP BY 1, 2"
            ),
            {"areas": areas},
        ).all()
        return len(rows)


def service(engine: Engine, actor: Actor, collection: str, bbox: BBox | None) -> Any:
    with transaction(engine, actor) as conn:
        page = REGISTRY[collection].page(conn, bbox, LIMIT, 0, COUNT_CAP)
        return len(page.features), page.number_matched


def against_tipg(
    engine: Engine, database: str, boxes: list[tuple[str, BBox | None]], requests: int
) -> dict[str, Any]:
    """Each case's page over HTTP, ours (as the planner, RLS) and tipg's (as the owner)."""
    settings = Settings(database_name=database)
    with transaction(engine, Actor.system()) as conn:
        token = issue_token(conn, "demo.planner", days=1, label="bench_ogc").token
    columns = [f.name for f in CCTV.fields if f.sql == f"t.{f.name}"]
    python = tipg_peer.venv_python(settings.state_dir)
    ours_port, peer_port = free_port(), free_port()
    say(f"starting the API on :{ours_port} and tipg {tipg_peer.version(python)} on :{peer_port}")
    # tipg first: if it fails, nothing of ours is left running
    peer = tipg_peer.start(python, owner_url(settings), ["cctv_sites"], peer_port)
    ours = None
    cases: list[dict[str, Any]] = []
    try:
        env = {"HARDENING_DATABASE_NAME": database, "HARDENING_POOL_SIZE": "4"}
        ours = start_api(ours_port, env)
        auth = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{ours_port}", headers=auth) as us,
            httpx.Client(base_url=f"http://127.0.0.1:{peer_port}") as them,
        ):
            for label, bbox in boxes:
                params = {"limit": str(LIMIT)} | ({"bbox": bbox.as_text()} if bbox else {})
                theirs = params | {"properties": ",".join(columns)}
                theirs |= {"filter": "status <> 'removed'", "filter-lang": "cql2-text"}
                times: dict[str, list[float]] = {"ours": [], "tipg": []}
                sizes: dict[str, int] = {}
                for i in range(requests + 2):  # the first two warm each pool
                    for who, client, path, query in (
                        ("ours", us, "/ogc/collections/cctv-sites/items", params),
                        ("tipg", them, "/collections/public.cctv_sites/items", theirs),
                    ):
                        ms, body = tipg_peer.timed_get(client, path, query)
                        if i >= 2:
                            times[who].append(ms)
                        sizes[who] = len(body)
                ours_ms, tipg_ms = (
                    tipg_peer.percentiles(times["ours"]),
                    tipg_peer.percentiles(times["tipg"]),
                )
                cases.append(
                    {
                        "case": label,
                        "ours_ms": ours_ms,
                        "tipg_ms": tipg_ms,
                        "p99_ratio_ours_to_tipg": round(ours_ms["p99"] / tipg_ms["p99"], 2),
                        "bytes": sizes,
                    }
                )
                say(f"http {label}: ours p99 {ours_ms['p99']} ms, tipg p99 {tipg_ms['p99']} ms")
    finally:
        for process in (ours, peer):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    return {"tipg_version": tipg_peer.version(python), "note": tipg_peer.NOTE, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--sites", type=int, default=200_000)
    parser.add_argument("--database", default="hardening_bench_ogc")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--requests", type=int, default=50, help="HTTP requests per case")
    args = parser.parse_args()

    engine = prepare(args.database, args.addresses, args.seed, args.reuse)
    owner = make_owner_engine(Settings(database_name=args.database))
    sites = top_up_sites(owner, args.sites)
    with transaction(engine, Actor.system()) as conn:  # the risk squares count scored homes
        if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM risk_scores)")).scalar_one():
            say("scoring the town for the risk squares")
            scoring.score(conn)
    planner = actor_of(engine, "demo.planner")
    with transaction(engine, planner) as conn:
        areas = list(conn.execute(text("SELECT app_areas()")).scalar_one())
    cases: list[dict[str, Any]] = []
    boxes = [
        (label, box_around(engine, metres) if metres else None)
        for label, metres in (("cctv bbox 500 m", 500.0), ("cctv bbox 5 km", 5000.0),
                              ("cctv all", None))
    ]  # fmt: skip
    for label, bbox in boxes:
        service(engine, planner, CCTV.id, bbox)  # warm the pool and caches
        ms, (returned, matched) = median_ms(
            partial(service, engine, planner, CCTV.id, bbox), args.repeat
        )
        ref_ms, (ref_returned, ref_count) = median_ms(
            partial(reference, owner, areas, bbox), args.repeat
        )
        cases.append(
            {
                "case": label,
                "service_ms": ms,
                "reference_ms": ref_ms,
                "ratio": round(ms / ref_ms, 2) if ref_ms else None,
                "returned": returned,
                "number_matched": matched,
                "reference_count": ref_count,
                "reference_returned": ref_returned,
            }
        )
        say(f"{label}: {ms} ms (reference {ref_ms} ms), matched {matched} of {ref_count}")
    ms, (returned, matched) = median_ms(
        partial(service, engine, planner, "risk-cells", None), args.repeat
    )
    ref_ms, squares = median_ms(partial(risk_reference, owner, areas), args.repeat)
    cases.append(
        {
            "case": "risk-cells whole town",
            "service_ms": ms,
            "reference_ms": ref_ms,
            "ratio": round(ms / ref_ms, 2) if ref_ms else None,
            "returned": returned,
            "number_matched": matched,
            "reference_squares_before_disclosure": squares,
        }
    )
    print(
        json.dumps(
            {
                "benchmark": "ogc_items",
                "addresses": args.addresses,
                "cctv_sites": sites,
                "limit": LIMIT,
                "count_cap": COUNT_CAP,
                "load_average": os.getloadavg(),
                "cases": cases,
                "http_against_tipg": against_tipg(engine, args.database, boxes, args.requests),
            },
            indent=2,
        )
    )
    engine.dispose()
    owner.dispose()


if __name__ == "__main__":
    main()
