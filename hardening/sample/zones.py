"""LSOA-like zones (SX001...): Voronoi cells of ~650 addresses each, with deprivation deciles.

Seeds start at random homes and take three Lloyd steps so zones hold similar numbers of homes;
an address belongs to its nearest seed, which is the Voronoi cell it lies in. Deprivation
follows what makes real places deprived here: social housing, the town centre, the stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely

from hardening.geo import BNG
from hardening.sample.addresses import Addresses
from hardening.sample.geography import Hub, area_polygon
from hardening.sample.spec import TOWNS
from hardening.sample.table import Table
from hardening.sample.util import FloatArray, IntArray, ObjArray

HOMES_PER_ZONE: Final = 650
MAX_ZONES: Final = 999  # the code pattern SX000-SX999
TOWN_BIAS: Final = {"barrow": 0.35, "dalton": 0.0, "ulverston": -0.1, "carlisle": 0.1}


@dataclass
class Zones:
    code: ObjArray  # per zone
    town: IntArray
    x: FloatArray  # seed point
    y: FloatArray
    decile: IntArray
    of_address: IntArray  # zone index of every address

    def address_codes(self) -> ObjArray:
        return self.code[self.of_address]

    def address_deciles(self) -> IntArray:
        return self.decile[self.of_address]


def _nearest(px: FloatArray, py: FloatArray, sx: FloatArray, sy: FloatArray) -> IntArray:
    tree = shapely.STRtree(shapely.points(sx, sy))
    _, hit = tree.query_nearest(shapely.points(px, py), all_matches=False)
    return np.asarray(hit, dtype=np.int64)


def build(rng: np.random.Generator, addr: Addresses, stations: list[Hub]) -> Zones:
    counts = np.bincount(addr.town, minlength=len(TOWNS))
    wanted = np.maximum(1, np.round(counts / HOMES_PER_ZONE)).astype(int)
    if wanted.sum() > MAX_ZONES:
        wanted = np.maximum(1, np.floor(wanted * MAX_ZONES / wanted.sum())).astype(int)
    buildings = np.flatnonzero(addr.parent < 0)
    seeds: list[int] = []
    seed_town: list[int] = []
    for t in range(len(TOWNS)):
        pool = buildings[addr.town[buildings] == t]
        k = min(int(wanted[t]), len(pool))
        seeds.extend(rng.choice(pool, size=k, replace=False).tolist())
        seed_town.extend([t] * k)
    sx, sy = addr.x[seeds].copy(), addr.y[seeds].copy()
    for _ in range(3):  # Lloyd steps: move each seed to the middle of its homes
        near = _nearest(addr.x, addr.y, sx, sy)
        n = np.bincount(near, minlength=len(sx))
        has = n > 0
        sx[has] = (np.bincount(near, weights=addr.x, minlength=len(sx)) / np.maximum(n, 1))[has]
        sy[has] = (np.bincount(near, weights=addr.y, minlength=len(sx)) / np.maximum(n, 1))[has]
    town = np.array(seed_town, dtype=np.int64)
    # Number them north to south within each town, as real LSOA codes roughly run.
    order = np.lexsort((sx, -sy, town))
    sx, sy, town = sx[order], sy[order], town[order]
    near = _nearest(addr.x, addr.y, sx, sy)
    decile = _deciles(rng, addr, near, sx, sy, town, stations)
    code = np.array([f"SX{i + 1:03d}" for i in range(len(sx))], dtype=object)
    return Zones(code, town, sx, sy, decile, near)


def _deciles(
    rng: np.random.Generator,
    addr: Addresses,
    near: IntArray,
    sx: FloatArray,
    sy: FloatArray,
    town: IntArray,
    stations: list[Hub],
) -> IntArray:
    n = len(sx)
    homes = np.bincount(near, minlength=n)
    social = np.bincount(near, weights=(addr.tenure == "social_rented"), minlength=n)
    share = social / np.maximum(homes, 1)
    cx = np.array([t.x for t in TOWNS])[town]
    cy = np.array([t.y for t in TOWNS])[town]
    hx = np.array([h.x for h in stations if h.kind == "rail_station"])
    hy = np.array([h.y for h in stations if h.kind == "rail_station"])
    d_station = np.hypot(sx[:, None] - hx[None, :], sy[:, None] - hy[None, :]).min(axis=1)
    score = (
        1.6 * share
        + 0.9 * np.exp(-np.hypot(sx - cx, sy - cy) / 900.0)
        + 0.7 * np.exp(-d_station / 700.0)
        + np.array([TOWN_BIAS[t.key] for t in TOWNS])[town]
        + rng.normal(0.0, 0.25, size=n)
    )
    rank = np.argsort(np.argsort(-score, kind="stable"), kind="stable")  # 0 = most deprived
    pct = (rank + 0.5) / n
    return np.asarray(np.clip(1 + np.floor(10 * pct**1.2), 1, 10), dtype=np.int64)


def _polygons(addr: Addresses, zones: Zones) -> list[str]:
    """Each zone's Voronoi cell, clipped to the built-up land of the towns and its area."""
    hulls = []
    for t in range(len(TOWNS)):
        pts = shapely.points(addr.x[addr.town == t], addr.y[addr.town == t])
        hulls.append(shapely.buffer(shapely.convex_hull(shapely.multipoints(pts)), 300.0))
    land = shapely.union_all(hulls)
    seeds = shapely.multipoints(shapely.points(zones.x, zones.y))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(seeds, extend_to=shapely.buffer(land, 1000.0), ordered=True)
    )
    out = []
    for i, cell in enumerate(cells):
        area = area_polygon(TOWNS[int(zones.town[i])].area_id)
        geom = shapely.set_precision(
            shapely.intersection(cell, shapely.intersection(land, area)), 0.1
        )
        parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)]
        out.append(f"SRID={BNG};" + shapely.to_wkt(shapely.MultiPolygon(parts), trim=True))
    return out


def tables(addr: Addresses, zones: Zones) -> tuple[Table, Table]:
    names = []
    per_district: dict[str, int] = {}
    for t in zones.town.tolist():
        district = TOWNS[t].district
        k = per_district.get(district, 0)
        per_district[district] = k + 1
        names.append(f"{district} {k // 4 + 1:03d}{'ABCD'[k % 4]}")
    decile = zones.decile.astype(object)
    lsoas = Table.of(
        "lsoas",
        lsoa_code=zones.code,
        name=names,
        imd_decile=decile,
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[zones.town],
        geom=_polygons(addr, zones),
    )
    return lsoas, Table.of("imd_deciles", lsoa_code=zones.code, imd_decile=decile)
