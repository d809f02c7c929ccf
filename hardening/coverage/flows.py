"""ANPR siting as flow capture (Hodgson 1990): traffic from entry points and stations to the
places of highest risk follows shortest paths over the road graph; a camera on a road link
captures every path that uses the link. Choosing k links is a maximal covering problem whose
demand rows are the paths, so it is solved by the same HiGHS model as CCTV siting.

Graph: every road vertex is a node (coordinates rounded to 0.1 m, so OSM ways that share a
junction vertex meet); a road end that stops short of another road (common in generated and
digitised data) is joined to that road's nearest vertex within SNAP_M, and a dead end to the
nearest vertex of any other road within DEAD_END_SNAP_M, by connectors no camera can sit on.
One-way roads run forward only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
import shapely
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped,unused-ignore]

from hardening.coverage.data import Road
from hardening.coverage.mclp import CoverProblem, CoverSolution, greedy, solve
from hardening.errors import UserInputError

SNAP_M: Final = 15.0
DEAD_END_SNAP_M: Final = 80.0
MAIN_CLASSES: Final = ("motorway", "trunk", "primary", "secondary")


@dataclass
class RoadGraph:
    xy: np.ndarray  # node coordinates (n, 2)
    edges: dict[tuple[int, int], tuple[float, int]]  # (u, v) -> (length, road index or -1)
    roads: Sequence[Road]

    def nearest_node(self, x: float, y: float) -> int:
        return int(np.argmin(np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y)))

    def matrix(self) -> sp.csr_matrix:
        uv = np.array(list(self.edges), dtype=np.int64).reshape(-1, 2)
        w = np.array([e[0] for e in self.edges.values()])
        n = len(self.xy)
        return sp.csr_matrix((np.maximum(w, 1e-3), (uv[:, 0], uv[:, 1])), shape=(n, n))


def build_graph(roads: Sequence[Road]) -> RoadGraph:
    index: dict[tuple[float, float], int] = {}
    coords: list[tuple[float, float]] = []
    edges: dict[tuple[int, int], tuple[float, int]] = {}

    def node(x: float, y: float) -> int:
        key = (round(x, 1), round(y, 1))
        if key not in index:
            index[key] = len(coords)
            coords.append(key)
        return index[key]

    def add(u: int, v: int, length: float, r: int) -> None:
        if u != v and ((u, v) not in edges or edges[(u, v)][0] > length):
            edges[(u, v)] = (length, r)

    road_nodes: list[list[int]] = []
    for r, road in enumerate(roads):
        pts = shapely.get_coordinates(road.line)
        ids = [node(float(x), float(y)) for x, y in pts]
        road_nodes.append(ids)
        seg = np.hypot(*np.diff(pts, axis=0).T)
        for k in range(len(ids) - 1):
            add(ids[k], ids[k + 1], float(seg[k]), r)
            if not road.oneway:
                add(ids[k + 1], ids[k], float(seg[k]), r)
    xy = np.array(coords, dtype=np.float64).reshape(-1, 2)
    owner = np.full(len(xy), -1, dtype=np.int64)
    for r, ids in enumerate(road_nodes):
        owner[ids] = r
    if len(xy):
        tree = shapely.STRtree(shapely.points(xy))
        ends = [ids[0] for ids in road_nodes] + [ids[-1] for ids in road_nodes]
        hits = np.bincount(np.array(ends, dtype=np.int64), minlength=len(xy))
        for u in sorted(set(ends)):
            dead = hits[u] == 1
            reach = DEAD_END_SNAP_M if dead else SNAP_M
            near = tree.query(shapely.Point(xy[u]), predicate="dwithin", distance=reach)
            d = np.hypot(*(xy[near] - xy[u]).T)
            other = near[(owner[near] != owner[u]) & (d > 0)]
            if dead and len(other):
                far = d[(owner[near] != owner[u]) & (d > 0)] > SNAP_M
                if far.all():  # nothing close: one connector to the nearest other road
                    other = other[[int(np.argmin(np.hypot(*(xy[other] - xy[u]).T)))]]
                else:
                    other = other[~far]
            for road in np.unique(owner[other]).tolist():
                cand = other[owner[other] == road]
                v = int(cand[np.argmin(np.hypot(*(xy[cand] - xy[u]).T))])
                length = float(np.hypot(*(xy[v] - xy[u])))
                add(u, v, length, -1)
                add(v, u, length, -1)
    return RoadGraph(xy, edges, roads)


@dataclass
class Flows:
    origin: np.ndarray  # node per path
    dest: np.ndarray
    volume: np.ndarray
    entry: np.ndarray  # bool: the path starts at an entry point
    cover: sp.csc_matrix  # paths x roads: the path uses the road


def shortest_flows(
    graph: RoadGraph,
    origins: Sequence[int],
    entry: Sequence[bool],
    dests: Sequence[int],
    weights: Sequence[float],
) -> Flows:
    """A path from every origin to every destination it can reach, volume = destination weight."""
    if not origins or not dests:
        raise UserInputError("flow capture needs at least one origin and one destination")
    dist, pred = dijkstra(
        graph.matrix(), directed=True, indices=list(origins), return_predecessors=True
    )
    rows: list[int] = []
    cols: list[int] = []
    o_out: list[int] = []
    d_out: list[int] = []
    vol: list[float] = []
    ent: list[bool] = []
    for a, o in enumerate(origins):
        for d, w in zip(dests, weights, strict=True):
            if d == o or not np.isfinite(dist[a, d]) or w <= 0:
                continue
            q = len(vol)
            used: set[int] = set()
            v = d
            while v != o:
                u = int(pred[a, v])
                r = graph.edges[(u, v)][1]
                if r >= 0:
                    used.add(r)
                v = u
            rows += [q] * len(used)
            cols += sorted(used)
            o_out.append(o)
            d_out.append(d)
            vol.append(float(w))
            ent.append(bool(entry[a]))
    cover = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(vol), len(graph.roads)))
    return Flows(np.array(o_out), np.array(d_out), np.array(vol), np.array(ent, dtype=bool), cover)


def capture(
    flows: Flows, locked: Sequence[int], k: int, time_limit: float = 60.0
) -> tuple[CoverSolution, CoverSolution]:
    """Best k new road links (and the greedy pick) with the locked links kept."""
    problem = CoverProblem(flows.cover, flows.volume, None, sorted(set(locked)), max_new=k)
    quick = greedy(problem)
    return solve(problem, time_limit, warm=quick), quick


def captured(flows: Flows, roads: Sequence[int]) -> np.ndarray:
    """Which paths pass at least one of these roads."""
    if not roads:
        return np.zeros(len(flows.volume), dtype=bool)
    return np.asarray(flows.cover[:, sorted(set(roads))].sum(axis=1)).ravel() > 0


def entry_points(graph: RoadGraph, boundary: shapely.Geometry) -> list[int]:
    """Nodes where main roads cross the area boundary (the node just inside); where none
    crosses it (a network clipped inside the area), the ends of main roads that meet no other
    main road: where the loaded network's main routes leave it."""
    crossing = _crossings(graph, boundary)
    if crossing:
        return crossing
    count: dict[int, int] = {}
    for road in graph.roads:
        if road.road_class in MAIN_CLASSES:
            for x, y in shapely.get_coordinates(road.line).tolist():
                n = graph.nearest_node(x, y)
                count[n] = count.get(n, 0) + 1
    out = set()
    for road in graph.roads:
        if road.road_class in MAIN_CLASSES:
            pts = shapely.get_coordinates(road.line)
            for x, y in (pts[0], pts[-1]):
                n = graph.nearest_node(float(x), float(y))
                if count[n] == 1:
                    out.add(n)
    return sorted(out)


def _crossings(graph: RoadGraph, boundary: shapely.Geometry) -> list[int]:
    ring = shapely.boundary(boundary)
    out: set[int] = set()
    for road in graph.roads:
        if road.road_class not in MAIN_CLASSES or not shapely.intersects(road.line, ring):
            continue
        for p in shapely.get_parts(shapely.intersection(road.line, ring)):
            pts = shapely.get_coordinates(road.line)
            inside = pts[shapely.contains_xy(boundary, pts[:, 0], pts[:, 1])]
            if len(inside):
                c = shapely.get_coordinates(p)[0]
                v = inside[np.argmin(np.hypot(*(inside - c).T))]
                out.add(graph.nearest_node(float(v[0]), float(v[1])))
    return sorted(out)
