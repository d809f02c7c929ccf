"""New ANPR sites for an area: flows from entry points and stations to the highest-risk places
(aggregated to grid cells, so no single home is a destination) captured on road links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import shapely
from sqlalchemy import Connection

from hardening.coverage import data
from hardening.coverage.flows import build_graph, capture, captured, entry_points, shortest_flows
from hardening.errors import UserInputError
from hardening.geo import to_lon_lat

ANPR_SNAP_M: Final = 50.0
CELL_M: Final = 250


def plan_anpr(
    conn: Connection,
    area_id: str,
    new_sites: int,
    destinations: int = 20,
    time_limit_s: float = 60.0,
    days: int = 365,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    if not 0 <= new_sites <= 500 or not 1 <= destinations <= 500:
        raise UserInputError("--new-sites must be 0..500 and --destinations 1..500")
    say = progress or (lambda _: None)
    area = data.area_polygon(conn, area_id)
    roads = data.roads(conn, area)
    if not roads:
        raise UserInputError(f"no roads in area {area_id!r}: import OSM roads or load the sample")
    graph = build_graph(roads)
    dem = data.demand(conn, area_id, days=days)
    entries = entry_points(graph, area)
    hubs = [graph.nearest_node(x, y) for _, x, y in data.stations(conn, area_id)]
    origins = entries + [h for h in hubs if h not in entries]
    is_entry = [True] * len(entries) + [False] * (len(origins) - len(entries))
    ix, iy = np.floor(dem.x / CELL_M).astype(np.int64), np.floor(dem.y / CELL_M).astype(np.int64)
    cells: dict[tuple[int, int], list[float]] = {}
    for a, b, x, y, w in zip(
        ix.tolist(), iy.tolist(), dem.x.tolist(), dem.y.tolist(), dem.weight.tolist(), strict=True
    ):
        acc = cells.setdefault((a, b), [0.0, 0.0, 0.0])
        acc[0] += w
        acc[1] += w * x
        acc[2] += w * y
    top = sorted(cells.values(), key=lambda c: -c[0])[:destinations]
    dests = [graph.nearest_node(c[1] / c[0], c[2] / c[0]) for c in top if c[0] > 0]
    say(
        f"{len(graph.xy):,} nodes, {len(origins)} origins ({len(entries)} entries), "
        f"{len(dests)} destinations"
    )
    flows = shortest_flows(graph, origins, is_entry, dests, [c[0] for c in top if c[0] > 0])
    lines = np.array([r.line for r in roads], dtype=object)
    tree = shapely.STRtree(lines)
    locked: list[int] = []
    for _sid, _name, status, x, y in data.anpr_sites(conn, area_id):
        j = tree.query_nearest(shapely.Point(x, y), max_distance=ANPR_SNAP_M)
        if status == "working" and len(j):
            locked.append(int(j[0]))
    best, quick = capture(flows, locked, new_sites, time_limit_s)
    total = float(flows.volume.sum())
    entry_total = int(flows.entry.sum())
    before, after = captured(flows, locked), captured(flows, locked + best.new)
    return {
        "kind": "anpr",
        "area_id": area_id,
        "weight_basis": dem.basis,
        "paths": len(flows.volume),
        "candidates": len(roads),
        "locked": len(set(locked)),
        "objective": round(best.objective, 4),
        "bound": round(best.bound, 4),
        "gap": round(best.gap, 6),
        "status": best.status,
        "seconds": round(best.seconds, 3),
        "greedy": {"objective": round(quick.objective, 4), "seconds": round(quick.seconds, 3)},
        "coverage_before": round(float(flows.volume[before].sum()) / total, 4) if total else 0.0,
        "coverage_after": round(float(flows.volume[after].sum()) / total, 4) if total else 0.0,
        "cordon_before": round(int((before & flows.entry).sum()) / entry_total, 4)
        if entry_total
        else None,
        "cordon_after": round(int((after & flows.entry).sum()) / entry_total, 4)
        if entry_total
        else None,
        "chosen": [_link(roads[j]) for j in best.new],
        "existing": [_link(roads[j]) for j in sorted(set(locked))],
    }


def _link(road: data.Road) -> dict[str, Any]:
    mid = shapely.line_interpolate_point(road.line, 0.5, normalized=True)
    lon, lat = to_lon_lat(mid.x, mid.y)
    return {
        "road_id": road.road_id,
        "road_class": road.road_class,
        "lon": round(lon, 6),
        "lat": round(lat, 6),
    }
