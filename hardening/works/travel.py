"""Travel times between the places of a scheduling problem: along the loaded road network where
there is one, else the straight line times a detour factor at a set speed.

The network is the `roads` table around the problem (BNG LineStrings): vertices are nodes,
consecutive vertices are edges timed at a speed for the road class, one-way roads one way only,
lines densified so the nearest node is near the nearest point of the road. Ways join where they
share a vertex (OSM topology; bridges and tunnels cross without joining), plus a tolerance for
coordinates rounded differently. A place is snapped to the nearest node of the largest connected
piece of the network; the leg from the door to the road is timed at a crawl. A place farther
than SNAP_MAX_M from that piece, or a pair with no road path between them, falls back to the
straight line. The matrix is computed once per problem (Problem.matrix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import Connection, text

# Typical urban running speeds (km/h) by class: free-flow limits are higher, but junctions,
# parking and school runs are what an operative's van meets.
SPEED_KMH: Final = {
    "motorway": 90.0, "trunk": 60.0, "primary": 45.0, "secondary": 40.0, "tertiary": 35.0,
    "unclassified": 30.0, "residential": 25.0, "service": 15.0, "other": 20.0,
}  # fmt: skip
ACCESS_KMH: Final = 12.0  # from the door to the loaded road (side streets, parking, on foot)
SNAP_MAX_M: Final = 1000.0  # farther than this from the network: straight line
DENSIFY_M: Final = 50.0
JOIN_M: Final = 0.5  # vertices closer than this are one junction
MARGIN_M: Final = 3000.0  # roads loaded around the problem's places (routes may leave the box)

Minutes = NDArray[np.int32]


def straight_minutes(points: NDArray[np.float64], detour: float, speed_kmh: float) -> Minutes:
    """Straight line x detour at speed, whole minutes rounded up (as Problem.travel)."""
    d = np.hypot(points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1])
    return np.ceil(d * detour / (speed_kmh * 1000 / 60) - 1e-9).astype(np.int32)


@dataclass(frozen=True)
class TravelMatrix:
    """Whole minutes between the problem's distinct places (index by (x, y))."""

    index: dict[tuple[float, float], int]
    minutes: Minutes
    method: str  # "road network" | "straight line"
    on_network: int = 0  # places snapped to the network
    road_pairs: float = 0.0  # share of pairs timed along the roads


@dataclass(frozen=True)
class RoadNetwork:
    """A directed road graph: node coordinates and edge minutes (CSR), largest piece marked."""

    nodes: NDArray[np.float64]
    graph: csr_matrix
    main: NDArray[np.bool_]  # node is in the largest weakly connected piece

    @classmethod
    def from_lines(
        cls, lines: Sequence[tuple[Sequence[tuple[float, float]], str, bool]]
    ) -> RoadNetwork:
        """From (coordinates, road class, one-way) per road."""
        coords: list[NDArray[np.float64]] = []
        classes: list[str] = []
        oneway: list[bool] = []
        for line, cls_name, one in lines:
            geom = shapely.segmentize(shapely.LineString(line), DENSIFY_M)
            coords.append(np.asarray(geom.coords, dtype=float)[:, :2])
            classes.append(cls_name)
            oneway.append(one)
        if not coords:
            raise ValueError("no roads")
        allpts = np.vstack(coords)
        _, first, inverse = np.unique(
            np.round(allpts, 2), axis=0, return_index=True, return_inverse=True
        )
        inverse = inverse.reshape(-1)
        nodes = allpts[first]
        # merge junction vertices a hair apart (ways transformed or rounded separately)
        parent = np.arange(len(nodes))
        for a, b in cKDTree(nodes).query_pairs(JOIN_M):
            ra, rb = _root(parent, a), _root(parent, b)
            parent[max(ra, rb)] = min(ra, rb)
        roots = np.array([_root(parent, i) for i in range(len(nodes))])
        node_of = roots[inverse]
        src: list[NDArray[np.int64]] = []
        dst: list[NDArray[np.int64]] = []
        cost: list[NDArray[np.float64]] = []
        offset = 0
        for xy, cls_name, one in zip(coords, classes, oneway, strict=True):
            ids = node_of[offset : offset + len(xy)]
            offset += len(xy)
            metres = np.hypot(*np.diff(xy, axis=0).T)
            minutes = metres / (SPEED_KMH.get(cls_name, SPEED_KMH["other"]) * 1000 / 60)
            keep = ids[:-1] != ids[1:]
            ends = (ids[:-1][keep], ids[1:][keep])
            for u, v in (ends, ends[::-1]) if not one else (ends,):
                src.append(u)
                dst.append(v)
                cost.append(np.maximum(minutes[keep], 1e-6))
        a, b, m = np.concatenate(src), np.concatenate(dst), np.concatenate(cost)
        # parallel edges (two ways along one stretch): keep the faster
        order = np.lexsort((m, b, a))
        a, b, m = a[order], b[order], m[order]
        first_edge = np.ones(len(a), dtype=bool)
        first_edge[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        n = len(nodes)
        graph = coo_matrix((m[first_edge], (a[first_edge], b[first_edge])), shape=(n, n)).tocsr()
        _, label = connected_components(graph, directed=True, connection="weak")
        used = np.zeros(n, dtype=bool)
        used[np.concatenate([a, b])] = True
        sizes = np.bincount(label[used], minlength=label.max() + 1)
        main = used & (label == int(np.argmax(sizes)))
        return cls(nodes, graph, main)

    def matrix(
        self, points: NDArray[np.float64], detour: float, speed_kmh: float
    ) -> tuple[Minutes, NDArray[np.bool_], NDArray[np.bool_]]:
        """(minutes, place on the network, pair timed along the roads) for the places."""
        out = straight_minutes(points, detour, speed_kmh)
        n = len(points)
        main_ids = np.flatnonzero(self.main)
        if n == 0 or not len(main_ids):
            return out, np.zeros(n, dtype=bool), np.zeros((n, n), dtype=bool)
        gap, nearest = cKDTree(self.nodes[main_ids]).query(points)
        node = main_ids[nearest]
        on = gap <= SNAP_MAX_M
        access = gap * detour / (ACCESS_KMH * 1000 / 60)
        road = np.zeros((n, n), dtype=bool)
        places = np.flatnonzero(on)
        sources, back = np.unique(node[places], return_inverse=True)
        for lo in range(0, len(sources), 64):  # bounded memory: 64 rows of the graph at a time
            dist = dijkstra(self.graph, directed=True, indices=sources[lo : lo + 64])
            for k in np.flatnonzero((back >= lo) & (back < lo + 64)):
                i = places[k]
                legs = dist[back[k] - lo, node[places]]
                total = access[i] + legs + access[places]
                ok = np.isfinite(legs)
                # neighbours both nearer each other than the road go straight there, not out
                # to the road and back
                ok &= np.hypot(*(points[places] - points[i]).T) > np.maximum(gap[i], gap[places])
                out[i, places[ok]] = np.ceil(total[ok] - 1e-9).astype(np.int32)
                road[i, places[ok]] = True
        np.fill_diagonal(out, 0)
        return out, on, road


def _root(parent: NDArray[np.int64], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def travel_matrix(
    points: Sequence[tuple[float, float]],
    detour: float,
    speed_kmh: float,
    network: RoadNetwork | None,
) -> TravelMatrix:
    """Minutes between the distinct places, by road where the network reaches them."""
    index: dict[tuple[float, float], int] = {}
    for p in points:
        index.setdefault((float(p[0]), float(p[1])), len(index))
    array = np.array(list(index) or np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    if network is None:
        return TravelMatrix(index, straight_minutes(array, detour, speed_kmh), "straight line")
    minutes, on, road = network.matrix(array, detour, speed_kmh)
    pairs = max(1, len(array) * (len(array) - 1))
    share = float(road.sum()) / pairs
    method = "road network" if road.any() else "straight line"
    return TravelMatrix(index, minutes, method, int(on.sum()), round(share, 4))


def load_network(
    conn: Connection, points: Sequence[tuple[float, float]], margin_m: float = MARGIN_M
) -> RoadNetwork | None:
    """The loaded roads around the places (None when there are none)."""
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = (min(xs) - margin_m, min(ys) - margin_m, max(xs) + margin_m, max(ys) + margin_m)
    rows = conn.execute(
        text(
            "SELECT road_class, oneway, ST_AsBinary(geom) FROM roads "
            "WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 27700)"
        ),
        {"x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]},
    ).all()
    if not rows:
        return None
    lines = [
        (list(shapely.from_wkb(bytes(wkb)).coords), str(cls_name), bool(one))
        for cls_name, one, wkb in rows
    ]
    return RoadNetwork.from_lines(lines)
