"""New ANPR sites for an area: flows from entry points and stations to the highest-risk places
(aggregated to grid cells, so no single home is a destination) captured on road links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from sqlalchemy import Connection

from hardening.coverage import data
from hardening.coverage.flows import (
    Flows,
    build_graph,
    capture,
    captured,
    entry_points,
    shortest_flows,
)
from hardening.errors import UserInputError
from hardening.geo import to_lon_lat

ANPR_SNAP_M: Final = 50.0
CELL_M: Final = 250


@dataclass(frozen=True)
class EntryFlows:
    """Shortest paths from the area's entry points and stations to its highest-demand cells."""

    roads: list[data.Road]
    tree: shapely.STRtree  # of the road links, for snapping sites
    flows: Flows
    basis: str  # what weighted the demand
    nodes: int
    origins: int
    entries: int
    destinations: int


@dataclass(frozen=True)
class EntryInputs:
    """What the entry flows are built from, read in one transaction (the values pickle)."""

    area: shapely.Geometry
    roads: list[data.Road]
    demand: data.Demand | None  # None when there are no roads (nothing more was read)
    stations: list[tuple[str, float, float]]


def read_entry_inputs(conn: Connection, area_id: str, days: int = 365) -> EntryInputs:
    area = data.area_polygon(conn, area_id)
    roads = data.roads(conn, area)
    if not roads:
        return EntryInputs(area, roads, None, [])
    return EntryInputs(
        area, roads, data.demand(conn, area_id, days=days), data.stations(conn, area_id)
    )


def entry_flows(
    conn: Connection, area_id: str, destinations: int, days: int = 365
) -> EntryFlows | None:
    """The flows ANPR sites are judged on; None when the area has no roads."""
    return flows_from(read_entry_inputs(conn, area_id, days), destinations)


def flows_from(inputs: EntryInputs, destinations: int) -> EntryFlows | None:
    """The entry flows from their inputs (no database); None when there are no roads."""
    area, roads, dem = inputs.area, inputs.roads, inputs.demand
    if not roads or dem is None:
        return None
    graph = build_graph(roads)
    entries = entry_points(graph, area)
    hubs = [graph.nearest_node(x, y) for _, x, y in inputs.stations]
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
    top = [c for c in sorted(cells.values(), key=lambda c: -c[0])[:destinations] if c[0] > 0]
    dests = [graph.nearest_node(c[1] / c[0], c[2] / c[0]) for c in top]
    flows = shortest_flows(graph, origins, is_entry, dests, [c[0] for c in top])
    tree = shapely.STRtree(np.array([r.line for r in roads], dtype=object))
    return EntryFlows(
        roads, tree, flows, dem.basis, len(graph.xy), len(origins), len(entries), len(dests)
    )


def snap_to_link(tree: shapely.STRtree, x: float, y: float) -> int | None:
    """The road link an ANPR site at (x, y) reads, if one is within ANPR_SNAP_M."""
    j = tree.query_nearest(shapely.Point(x, y), max_distance=ANPR_SNAP_M)
    return int(j[0]) if len(j) else None


def plan_anpr(
    conn: Connection,
    area_id: str,
    new_sites: int,
    destinations: int = 20,
    time_limit_s: float = 60.0,
    days: int = 365,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    inputs, sites = read_anpr(conn, area_id, new_sites, destinations, days)
    return solve_anpr(inputs, sites, area_id, new_sites, destinations, time_limit_s, progress)


def read_anpr(
    conn: Connection, area_id: str, new_sites: int, destinations: int = 20, days: int = 365
) -> tuple[EntryInputs, list[tuple[int, str | None, str, float, float]]]:
    """An ANPR plan's inputs, read as conn's actor: the solve needs no connection."""
    _check(new_sites, destinations)
    return read_entry_inputs(conn, area_id, days), data.anpr_sites(conn, area_id)


def _check(new_sites: int, destinations: int) -> None:
    if not 0 <= new_sites <= 500 or not 1 <= destinations <= 500:
        raise UserInputError("--new-sites must be 0..500 and --destinations 1..500")


def solve_anpr(
    inputs: EntryInputs,
    sites: list[tuple[int, str | None, str, float, float]],
    area_id: str,
    new_sites: int,
    destinations: int = 20,
    time_limit_s: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The plan from its inputs: no database."""
    _check(new_sites, destinations)
    say = progress or (lambda _: None)
    setup = flows_from(inputs, destinations)
    if setup is None:
        raise UserInputError(f"no roads in area {area_id!r}: import OSM roads or load the sample")
    say(
        f"{setup.nodes:,} nodes, {setup.origins} origins ({setup.entries} entries), "
        f"{setup.destinations} destinations"
    )
    roads, flows, tree = setup.roads, setup.flows, setup.tree
    locked: list[int] = []
    for _sid, _name, status, x, y in sites:
        link = snap_to_link(tree, x, y)
        if status == "working" and link is not None:
            locked.append(link)
    best, quick = capture(flows, locked, new_sites, time_limit_s)
    total = float(flows.volume.sum())
    entry_total = int(flows.entry.sum())
    before, after = captured(flows, locked), captured(flows, locked + best.new)
    order, adds = _marginals(flows, locked, best.new, total)
    shortfall = None
    if len(order) < new_sites:
        shortfall = (
            f"only {len(order)} road(s) carry journeys from the {setup.entries} way(s) in "
            f"and {setup.origins - setup.entries} station(s) to the {setup.destinations} "
            "highest-risk places that no ANPR camera reads yet: another camera would read "
            "no journey that these and the existing cameras do not"
        )
    return {
        "kind": "anpr",
        "area_id": area_id,
        "weight_basis": setup.basis,
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
        "chosen": [_link(roads[j]) | add for j, add in zip(order, adds, strict=True)],
        "existing": [_link(roads[j]) for j in sorted(set(locked))],
        "entries": setup.entries,
        "stations": setup.origins - setup.entries,
        "destinations": setup.destinations,
        "shortfall": shortfall,
    }


def _marginals(
    flows: Flows, locked: list[int], new: list[int], total: float
) -> tuple[list[int], list[dict[str, Any]]]:
    """The chosen links, the one reading most new journeys first, each with its share."""
    seen = captured(flows, locked)
    left, order, adds = list(new), [], []
    while left:
        j = max(left, key=lambda k: (float(flows.volume[captured(flows, [k]) & ~seen].sum()), -k))
        fresh = captured(flows, [j]) & ~seen
        if not fresh.any():
            break  # the rest read no journey not already read: left out
        seen |= fresh
        left.remove(j)
        order.append(j)
        share = float(flows.volume[fresh].sum()) / total if total else 0.0
        adds.append({"adds_share": round(share, 4), "adds_entry_routes": int(
            (fresh & flows.entry).sum())})  # fmt: skip
    return order, adds


def _link(road: data.Road) -> dict[str, Any]:
    mid = shapely.line_interpolate_point(road.line, 0.5, normalized=True)
    lon, lat = to_lon_lat(mid.x, mid.y)
    return {
        "road_id": road.road_id,
        "road_class": road.road_class,
        "x": round(float(mid.x), 1),
        "y": round(float(mid.y), 1),
        "lon": round(lon, 6),
        "lat": round(lat, 6),
    }
