"""Building footprints for the sample town, so camera views can be blocked by walls.

One rectangle per addressable building (houses, bungalows, shops, HMOs and blocks; flats share
their block's footprint), squared to its street: the front wall stands 1 m behind the address
point, which is the entrance seen from the street. Widths follow the street's slot spacing so
terraces touch without overlapping; a footprint that would overlap one already placed (blocks
first, then the rest in address order) or cross a road is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely

from hardening.sample.addresses import Addresses
from hardening.sample.geography import RoadRows
from hardening.sample.spec import TOWNS
from hardening.sample.table import SPEC_BY_NAME, Table, _objects
from hardening.sample.util import FloatArray, IntArray

FRONT_GAP_M: Final = 1.0  # entrance point to front wall
# (width cap, depth) in metres per property type; width is also capped by the slot spacing.
SIZES: Final = {
    "house": (8.0, 8.0),
    "bungalow": (10.0, 9.0),
    "commercial": (12.0, 12.0),
    "hmo": (9.0, 10.0),
    "supported": (12.0, 12.0),
    "other": (8.0, 8.0),
    "block": (24.0, 14.0),
}
WIDTH_OF_SLOT: Final = 0.92  # of the slot spacing, leaving a gap between neighbours
BLOCK_SLOTS: Final = 2.6  # a block may take this many slots' width


@dataclass(frozen=True)
class Footprints:
    row: IntArray  # address row index of each building
    polygons: np.ndarray  # shapely Polygons (BNG)


def footprints(addr: Addresses, streets: dict[str, np.ndarray], roads: RoadRows) -> Footprints:
    """Footprints for the addresses that stand on their own (parent < 0)."""
    rows = np.flatnonzero(addr.parent < 0)
    st = addr.street[rows]
    ux, uy = streets["ux"][st].astype(float), streets["uy"][st].astype(float)
    dx = addr.x[rows] - streets["x0"][st]
    dy = addr.y[rows] - streets["y0"][st]
    along = dx * ux + dy * uy
    nx, ny = dx - along * ux, dy - along * uy  # from the centre line out to the entrance
    norm = np.hypot(nx, ny)
    ok = norm > 0.5
    nx, ny = np.where(ok, nx / np.maximum(norm, 1e-9), 0.0), np.where(ok, ny / norm.clip(1e-9), 0.0)
    kinds = addr.kind[rows]
    cap = np.array([SIZES[str(k)][0] for k in kinds.tolist()])
    depth = np.array([SIZES[str(k)][1] for k in kinds.tolist()])
    is_block = kinds == "block"
    spacing = streets["spacing"][st].astype(float)
    width = np.minimum(cap, np.where(is_block, BLOCK_SLOTS, WIDTH_OF_SLOT) * spacing)
    polys = _rectangles(addr.x[rows], addr.y[rows], ux, uy, nx, ny, width, depth)
    keep = ok & _no_overlaps(polys, is_block) & ~_crossing_roads(polys, roads)
    return Footprints(rows[keep].astype(np.int64), polys[keep])


def _rectangles(
    x: FloatArray,
    y: FloatArray,
    ux: FloatArray,
    uy: FloatArray,
    nx: FloatArray,
    ny: FloatArray,
    width: FloatArray,
    depth: FloatArray,
) -> np.ndarray:
    fx, fy = x + FRONT_GAP_M * nx, y + FRONT_GAP_M * ny  # front wall centre
    h = width / 2
    corners = np.stack(
        [
            np.column_stack([fx - h * ux, fy - h * uy]),
            np.column_stack([fx + h * ux, fy + h * uy]),
            np.column_stack([fx + h * ux + depth * nx, fy + h * uy + depth * ny]),
            np.column_stack([fx - h * ux + depth * nx, fy - h * uy + depth * ny]),
        ],
        axis=1,
    )
    return np.asarray(shapely.polygons(np.round(corners, 2)))


def _no_overlaps(polys: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Drop footprints overlapping one placed earlier (the `first` ones are placed first)."""
    order = np.concatenate([np.flatnonzero(first), np.flatnonzero(~first)])
    rank = np.empty(len(polys), dtype=np.int64)
    rank[order] = np.arange(len(polys))
    a, b = shapely.STRtree(polys).query(polys, predicate="intersects")
    pairs = (a != b) & (rank[a] < rank[b])
    a, b = a[pairs], b[pairs]
    overlap = shapely.area(shapely.intersection(polys[a], polys[b])) > 0.01
    a, b = a[overlap], b[overlap]
    keep = np.ones(len(polys), dtype=bool)
    for i in np.argsort(rank[a], kind="stable").tolist():  # earlier placements win
        if keep[a[i]]:
            keep[b[i]] = False
    return keep


def _crossing_roads(polys: np.ndarray, roads: RoadRows) -> np.ndarray:
    out = np.zeros(len(polys), dtype=bool)
    if not roads.coords or not len(polys):
        return out
    lines = np.array([shapely.LineString(c) for c in roads.coords], dtype=object)
    hit, _ = shapely.STRtree(lines).query(polys, predicate="intersects")
    out[hit] = True
    return out


def buildings_table(fp: Footprints, addr: Addresses) -> Table:
    """The `buildings` rows (source_ref sample:b<uprn>, the building's UPRN and area)."""
    uprn = addr.uprn[fp.row]
    wkt = shapely.to_wkt(fp.polygons, rounding_precision=2)
    data = {
        "source_ref": _objects([f"sample:b{u}" for u in uprn.tolist()]),
        "uprn": _objects(uprn),
        "area_id": _objects([TOWNS[int(t)].area_id for t in addr.town[fp.row].tolist()]),
        "geom": _objects([f"SRID=27700;{w}" for w in wkt.tolist()]),
    }
    return Table(SPEC_BY_NAME["buildings"], data)
