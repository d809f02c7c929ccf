"""Areas, stations and the road network (main routes, neighbourhood links, residential streets)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely

from hardening.areas import AREAS
from hardening.geo import BNG, to_bng
from hardening.sample.layout import street_coords
from hardening.sample.names import STREET_PREFIXES, STREET_SUFFIXES, STREET_WORDS
from hardening.sample.spec import (
    AREA_POLYGONS,
    BUS_STATIONS,
    CHARACTERS,
    MAIN_ROUTES,
    RAIL_STATIONS,
    TOWNS,
)
from hardening.sample.table import Table
from hardening.sample.util import ObjArray, line_ewkt, points_ewkt

SEGMENT_M: Final = 600.0  # main routes are stored in pieces about this long, as OSM ways are
IN_TOWN_M: Final = 2200.0  # a route stretch this close to a town centre carries a street name
TOWN_OF_STATION: Final = {"ROO": 0, "BIF": 0, "DLT": 1, "ULV": 2, "CAR": 3}


def area_polygon(area_id: str) -> shapely.Polygon:
    return shapely.Polygon(AREA_POLYGONS[area_id])


def areas_table() -> Table:
    ids = list(AREAS)
    geoms = [
        f"SRID={BNG};"
        + shapely.to_wkt(shapely.MultiPolygon([area_polygon(a)]), rounding_precision=0)
        for a in ids
    ]
    return Table.of("areas", area_id=ids, name=[AREAS[a] for a in ids], geom=geoms)


@dataclass(frozen=True)
class Hub:
    key: str
    kind: str
    name: str
    code: str | None
    town: int
    x: float
    y: float


def hubs() -> list[Hub]:
    """The five real railway stations, then the bus stations."""
    out = []
    for code, name, lat, lon in RAIL_STATIONS:
        x, y = to_bng(lon, lat)
        out.append(Hub(f"rail:{code}", "rail_station", name, code, TOWN_OF_STATION[code], x, y))
    keys = [t.key for t in TOWNS]
    for key, name, town, x, y in BUS_STATIONS:
        out.append(Hub(key, "bus_station", name, None, keys.index(town), float(x), float(y)))
    return out


def hubs_table(stations: list[Hub]) -> Table:
    x = np.array([h.x for h in stations])
    y = np.array([h.y for h in stations])
    return Table.of(
        "transport_hubs",
        hub_id=list(range(1, len(stations) + 1)),
        hub_key=[h.key for h in stations],
        kind=[h.kind for h in stations],
        name=[h.name for h in stations],
        code=[h.code for h in stations],
        area_id=[TOWNS[h.town].area_id for h in stations],
        geom=points_ewkt(x, y),
    )


def name_streets(rng: np.random.Generator, streets: dict[str, np.ndarray]) -> ObjArray:
    """A name per street, unique within its town; the centre's first streets get real names."""
    names = np.empty(len(streets["town"]), dtype=object)
    for t, town in enumerate(TOWNS):
        idx = np.flatnonzero(streets["town"] == t)
        used = {n.link_road for n in town.neighbourhoods}
        used |= {name for r in MAIN_ROUTES for name in r.names}
        real = [n for n in town.real_streets if n not in used]
        centre = [i for i in idx.tolist() if streets["nbhd"][i] == 0][: len(real)]
        for i, name in zip(centre, real, strict=False):
            names[i] = name
            used.add(name)
        words = rng.permutation(len(STREET_WORDS))
        cursor = 0
        for i in idx.tolist():
            if names[i] is not None:
                continue
            suffixes = STREET_SUFFIXES[CHARACTERS[int(streets["character"][i])]]
            while True:
                n, turn = divmod(cursor, len(STREET_WORDS))
                word = STREET_WORDS[int(words[turn])]
                if n >= 3 + len(STREET_PREFIXES):  # a huge town: two words ("Ash Birch Grove")
                    word = f"{STREET_WORDS[(turn * 7 + n) % len(STREET_WORDS)]} {word}"
                elif n >= 3:  # word/suffix pairs used up: prefix the word ("Upper Ash Grove")
                    word = f"{STREET_PREFIXES[n - 3]} {word}"
                name = f"{word} {suffixes[int(rng.integers(len(suffixes)))]}"
                cursor += 1
                if name not in used:
                    break
            names[i] = name
            used.add(name)
    return names


def _split(coords: np.ndarray, piece: float) -> list[np.ndarray]:
    """Cut a polyline into pieces of about `piece` metres (sharing their end vertices)."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    total = float(seg.sum())
    n = max(1, round(total / piece))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    out = []
    for k in range(n):
        a, b = total * k / n, total * (k + 1) / n
        inner = coords[(cum > a) & (cum < b)]
        ends = [np.interp([a, b], cum, coords[:, d]) for d in (0, 1)]
        start, stop = (ends[0][0], ends[1][0]), (ends[0][1], ends[1][1])
        out.append(np.vstack([start, *inner, stop]) if len(inner) else np.array([start, stop]))
    return out


@dataclass
class RoadRows:
    name: list[str | None]
    ref: list[str | None]
    road_class: list[str]
    oneway: list[bool]
    area_id: list[str]
    coords: list[list[tuple[float, float]]]

    def add(
        self,
        name: str | None,
        ref: str | None,
        cls: str,
        oneway: bool,
        area: str,
        coords: list[tuple[float, float]],
    ) -> None:
        self.name.append(name)
        self.ref.append(ref)
        self.road_class.append(cls)
        self.oneway.append(oneway)
        self.area_id.append(area)
        self.coords.append(coords)


def roads(
    rng: np.random.Generator, streets: dict[str, np.ndarray], street_names: ObjArray
) -> tuple[Table, RoadRows]:
    """Main routes (in ~600 m ways), neighbourhood link roads, then every residential street."""
    rows = RoadRows([], [], [], [], [], [])
    centres = np.array([(t.x, t.y) for t in TOWNS])
    for route in MAIN_ROUTES:
        pieces = _split(np.array(route.points, dtype=float), SEGMENT_M)
        mids = np.array([p.mean(axis=0) for p in pieces])
        near = np.hypot(*(mids[:, None, :] - centres[None, :, :]).transpose(2, 0, 1)).min(1)
        in_town = np.flatnonzero(near < IN_TOWN_M)
        for k, piece in enumerate(pieces):
            name = None
            if route.names and k in in_town:
                j = int(np.searchsorted(in_town, k))
                name = route.names[j * len(route.names) // len(in_town)]
            rows.add(
                name,
                route.ref,
                route.road_class,
                False,
                route.area_id,
                [tuple(p) for p in piece.tolist()],
            )
    for town in TOWNS:
        for nb in town.neighbourhoods:
            dx, dy = nb.x - town.x, nb.y - town.y
            if math.hypot(dx, dy) < 200:  # the centre's own high street, east-west
                dx, dy = 350.0, rng.uniform(-60, 60)
                start = (town.x - dx, town.y - dy)
            else:
                start = (town.x, town.y)
            bow = rng.uniform(-0.12, 0.12)
            mid = ((start[0] + nb.x) / 2 - dy * bow, (start[1] + nb.y) / 2 + dx * bow)
            cls = "secondary" if town.share > 0.2 else "tertiary"
            rows.add(nb.link_road, None, cls, False, town.area_id, [start, mid, (nb.x, nb.y)])
    oneway = rng.random(len(street_names)) < np.where(streets["character"] == 0, 0.15, 0.02)
    for i in range(len(street_names)):
        town = TOWNS[int(streets["town"][i])]
        rows.add(
            str(street_names[i]),
            None,
            "residential",
            bool(oneway[i]),
            town.area_id,
            street_coords(streets, i),
        )
    n = len(rows.name)
    table = Table.of(
        "roads",
        road_id=list(range(1, n + 1)),
        source_ref=[f"sample:{i}" for i in range(1, n + 1)],
        name=rows.name,
        ref=rows.ref,
        road_class=rows.road_class,
        oneway=["t" if o else "f" for o in rows.oneway],
        area_id=rows.area_id,
        geom=[line_ewkt(c) for c in rows.coords],
    )
    return table, rows
