"""Vector tile latency over HTTP (real uvicorn + httpx, bearer token, row-level security) at
zooms 10..16 of a large synthetic town, against the same tile's one SQL statement run bare in
the same run (set the actor, run it, commit), with payload sizes.

    .venv/bin/python benchmarks/bench_tiles.py --addresses 1000000 \
        --database hardening_bench_tiles --reuse
    .venv/bin/python benchmarks/bench_tiles.py --addresses 20000 --layers addresses,markers,works

Builds (or with --reuse keeps) its own database holding the sample town at the given size
(benchmarks/bench_match.py's `prepare`). Tiles are drawn where people look: the tile of a random
address at each zoom, so dense streets come up as often as they hold addresses. Each layer is
asked as the sample user who uses it: addresses and risk as the planner (squares) and the
control-room operator (points from zoom 16), markers as the control room, works as a housing
provider, cctv as the planner. Requests run one at a time (latency, not throughput); the first
pass over a handful of tiles warms the pool. `--write-cost N` also times inserting N addresses
and re-scoring N dwellings with and without the pre-counting triggers (rolled back).
Each layer drawn from a table is also asked of the anchor, tipg (benchmarks/tipg_peer.py: its own
virtual environment under the state folder, same database, same run, same tiles): its
`/collections/public.<table>/tiles/WebMercatorQuad/{z}/{x}/{y}` with the properties our layer
carries, as the database owner (tipg enforces no row-level security, and draws every row as a
point at every zoom, up to 10,000 a tile, where ours draws squares or clusters below zoom 16/12).
`--no-tipg` leaves it out. One JSON document on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tipg_peer
from bench_match import actor_of, prepare, say
from serving import free_port, start_api

from hardening.db.engine import Actor, set_actor, transaction
from hardening.db.engine import owner_engine as make_owner_engine
from hardening.db.urls import owner_url
from hardening.features.collections import REGISTRY
from hardening.geo import to_lon_lat
from hardening.security.users import issue_token
from hardening.settings import Settings
from hardening.tiles.grid import TileId, tile_for
from hardening.tiles.service import tile_statement

ACTORS = {  # layer -> [(label, username)] of the sample's demo users
    "addresses": [("planner", "demo.planner"), ("control_room", "demo.control")],
    "risk": [("planner", "demo.planner"), ("analyst", "demo.analyst")],
    "markers": [("control_room", "demo.control")],
    "works": [("housing", "demo.housing.harbourlight")],
    "cctv": [("planner", "demo.planner")],
    "anpr": [("planner", "demo.planner")],
}
REASON = "benchmark: control-room map"
percentiles = tipg_peer.percentiles


def peer_layers() -> dict[str, tuple[str, list[str]]]:
    """layer -> (table, properties) for tipg: the registry's point layers and the addresses."""
    out = {"addresses": ("addresses", ["uprn", "property_type", "full_address"])}
    for c in REGISTRY.values():
        if c.tile is not None:
            plain = [f.name for f in c.tile_fields() if f.sql == f"t.{f.name}"]
            out[c.tile.layer] = (c.table, plain)
    return out


def from_tipg(client: httpx.Client, table: str, columns: list[str], tiles: list[TileId]) -> Any:
    times, sizes = [], []
    for t in tiles:
        path = f"/collections/public.{table}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
        ms, body = tipg_peer.timed_get(client, path, {"properties": ",".join(columns)})
        times.append(ms)
        sizes.append(len(body))
    return times, sizes


def pick_tiles(engine: Engine, zooms: list[int], n: int, seed: int) -> dict[int, list[TileId]]:
    """n tiles per zoom, each the tile of a random address (dense places come up more)."""
    with transaction(engine, Actor.system()) as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        points = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM addresses ORDER BY random() LIMIT :n"),
            {"n": n * len(zooms)},
        ).all()
    rng = random.Random(seed)
    out: dict[int, list[TileId]] = {}
    for z in zooms:
        chosen = rng.sample(points, min(n, len(points)))
        out[z] = [tile_for(*to_lon_lat(float(x), float(y)), z) for x, y in chosen]
    return out


def over_http(
    client: httpx.Client, layer: str, tiles: list[TileId]
) -> tuple[list[float], list[int], list[int]]:
    times, sizes, statuses = [], [], []
    params = {"reason": REASON} if layer == "markers" else None
    for t in tiles:
        started = time.perf_counter()
        response = client.get(f"/v1/tiles/{layer}/{t.z}/{t.x}/{t.y}.pbf", params=params)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 204):
            raise SystemExit(f"{layer} {t}: HTTP {response.status_code} {response.text[:200]}")
        sizes.append(len(response.content))
        statuses.append(response.status_code)
    return times, sizes, statuses


def bare_sql(engine: Engine, actor: Actor, layer: str, tiles: list[TileId]) -> tuple[Any, Any]:
    """The tile's statement alone: its own transaction as the actor, run, commit."""
    times, features = [], []
    with engine.connect() as conn:
        for t in tiles:
            with conn.begin():
                set_actor(conn, actor)
                found = tile_statement(conn, layer, t)
                if found is None:
                    times.append(0.0)
                    features.append(0)
                    continue
                started = time.perf_counter()
                _, n = conn.execute(text(found.sql), found.params).one()
                times.append((time.perf_counter() - started) * 1000)
                features.append(int(n))
    return times, features


def tipg_zooms(
    port: int, table: str, columns: list[str], tiles: dict[int, list[TileId]], zooms: list[int]
) -> dict[str, Any]:
    """The same tiles from tipg, per zoom (the first ten warm its pool)."""
    per_zoom: dict[str, Any] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        from_tipg(client, table, columns, tiles[zooms[0]][:10])
        for z in zooms:
            say(f"tipg {table}: zoom {z}")
            times, sizes = from_tipg(client, table, columns, tiles[z])
            per_zoom[str(z)] = {
                "http_ms": percentiles(times),
                "bytes": {"p50": int(np.median(sizes)), "max": max(sizes)},
            }
    return {"table": table, "properties": columns, "zooms": per_zoom}


def write_cost(settings: Settings, n: int) -> dict[str, Any]:
    """Inserting n addresses and re-scoring n dwellings, with and without the triggers that keep
    the pre-counted squares (each rolled back)."""
    engine = make_owner_engine(settings)
    statements = {
        "insert_addresses": (
            "address_cells_insert ON addresses",
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
            "SELECT uprn + 500000000000, area_id, full_address, property_type, geom "
            "FROM addresses ORDER BY uprn LIMIT :n",
        ),
        "update_scores": (
            "risk_cells_update ON risk_scores",
            "UPDATE risk_scores SET score = least(score + 1, 100) WHERE uprn IN "
            "(SELECT uprn FROM risk_scores ORDER BY uprn LIMIT :n)",
        ),
    }
    out: dict[str, Any] = {"rows": n}
    for name, (trigger, sql) in statements.items():
        timed = {}
        for with_trigger in (True, False):
            with engine.connect() as conn:
                tx = conn.begin()
                set_actor(conn, Actor.system())
                if not with_trigger:
                    conn.execute(text(f"ALTER TABLE {trigger.split(' ON ')[1]} DISABLE TRIGGER "
                                      f"{trigger.split(' ON ')[0]}"))  # fmt: skip
                started = time.perf_counter()
                conn.execute(text(sql), {"n": n})
                timed["with" if with_trigger else "without"] = time.perf_counter() - started
                tx.rollback()
        out[name] = {
            "seconds_with_triggers": round(timed["with"], 3),
            "seconds_without": round(timed["without"], 3),
            "ratio": round(timed["with"] / timed["without"], 2),
        }
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--database", default="hardening_bench_tiles")
    parser.add_argument("--reuse", action="store_true", help="keep a database of this size")
    parser.add_argument("--zooms", default="10-16", help="e.g. 10-16 or 12,14,16")
    parser.add_argument("--tiles", type=int, default=200, help="tiles per zoom (default 200)")
    parser.add_argument("--layers", default="addresses", help="comma list (default addresses)")
    parser.add_argument("--write-cost", type=int, default=0, metavar="N")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-tipg", action="store_true", help="leave out the tipg anchor")
    args = parser.parse_args()
    if "-" in args.zooms:
        lo, hi = map(int, args.zooms.split("-"))
        zooms = list(range(lo, hi + 1))
    else:
        zooms = [int(z) for z in args.zooms.split(",")]
    layers = args.layers.split(",")
    unknown = [layer for layer in layers if layer not in ACTORS]
    if unknown:
        raise SystemExit(f"unknown layer(s) {unknown}: choose from {', '.join(ACTORS)}")
    engine = prepare(args.database, args.addresses, args.seed, args.reuse)
    tiles = pick_tiles(engine, zooms, args.tiles, args.seed)
    users = {user for layer in layers for _, user in ACTORS[layer]}
    with transaction(engine, Actor.system()) as conn:
        tokens = {u: issue_token(conn, u, days=1, label="bench_tiles").token for u in users}
    peers = {k: v for k, v in peer_layers().items() if k in layers and not args.no_tipg}
    peer, server, python, peer_port = None, None, None, free_port()
    if peers:  # tipg first: if it fails, nothing of ours is left running
        python = tipg_peer.venv_python(Settings(database_name=args.database).state_dir)
        say(f"starting tipg {tipg_peer.version(python)} on 127.0.0.1:{peer_port}")
        owner = owner_url(Settings(database_name=args.database))
        peer = tipg_peer.start(python, owner, [table for table, _ in peers.values()], peer_port)
    results: dict[str, Any] = {}
    anchor: dict[str, Any] = {}
    try:
        port = free_port()
        say(f"starting the API on 127.0.0.1:{port}")
        env = {"HARDENING_DATABASE_NAME": args.database, "HARDENING_POOL_SIZE": "4"}
        server = start_api(port, env)
        for layer in layers:
            for label, username in ACTORS[layer]:
                actor = actor_of(engine, username)
                headers = {"Authorization": f"Bearer {tokens[username]}"}
                per_zoom: dict[str, Any] = {}
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                                  timeout=30) as client:  # fmt: skip
                    over_http(client, layer, tiles[zooms[0]][:10])  # warm the pool
                    for z in zooms:
                        say(f"{layer} as {label}: zoom {z}")
                        http, sizes, statuses = over_http(client, layer, tiles[z])
                        sql, features = bare_sql(engine, actor, layer, tiles[z])
                        h, s = percentiles(http), percentiles(sql)
                        per_zoom[str(z)] = {
                            "http_ms": h,
                            "sql_ms": s,
                            "ratio_http_to_sql_p50": round(h["p50"] / max(s["p50"], 0.01), 2),
                            "bytes": {"p50": int(np.median(sizes)), "max": max(sizes)},
                            "features": {"p50": int(np.median(features)), "max": max(features)},
                            "empty_204": statuses.count(204),
                        }
                worst = max(v["http_ms"]["p99"] for v in per_zoom.values())
                results[f"{layer}:{label}"] = {"zooms": per_zoom, "worst_http_p99_ms": worst}
            if layer in peers:
                anchor[layer] = tipg_zooms(peer_port, *peers[layer], tiles, zooms)
                tipg_worst = max(v["http_ms"]["p99"] for v in anchor[layer]["zooms"].values())
                anchor[layer]["worst_http_p99_ms"] = tipg_worst
    finally:
        for process in (server, peer):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    report: dict[str, Any] = {
        "benchmark": "vector_tiles",
        "addresses": args.addresses,
        "database": owner_url(Settings(database_name=args.database)).database,
        "tiles_per_zoom": args.tiles,
        "load_average": load,
        "cpus": os.cpu_count(),
        "target": "p99 < 50 ms at every zoom 10-16 (addresses)",
        "layers": results,
    }
    if python is not None:
        report["tipg"] = {"version": tipg_peer.version(python), "note": tipg_peer.NOTE}
        report["tipg"]["layers"] = anchor
    if args.write_cost:
        say(f"write cost over {args.write_cost:,} rows")
        report["write_cost"] = write_cost(Settings(database_name=args.database), args.write_cost)
    print(json.dumps(report, indent=2))
    engine.dispose()


if __name__ == "__main__":
    main()
