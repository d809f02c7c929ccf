"""Map layers shared by the API and the Streamlit map: context (areas, roads), address density
and the point layers (stations, CCTV, ANPR; the cameras' columns are those of their entries in
the collection registry, `hardening.features.collections`). A bbox is `hardening.bbox.BBox`, as
for OGC items: clipped to Great Britain, nothing for a box wholly elsewhere.

All selection and aggregation happens in PostGIS on BNG geometry; coordinates are transformed to
WGS84 lon/lat only at the edge (rounded to 6 decimals, ~0.1 m). Results are plain dataclasses;
`feature_collection` turns any of them into GeoJSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Final, Protocol

import numpy as np
from sqlalchemy import Connection, text

from hardening.bbox import BBOX_BNG_SQL, BBox
from hardening.errors import UserInputError
from hardening.features.collections import ANPR, CCTV
from hardening.features.source import TableCollection, geojson_feature
from hardening.geo import BNG, BNG_X, BNG_Y, WGS84, transformer
from hardening.security.disclosure import publish_grid
from hardening.tiles.grid import CELL_LADDER, BngBox

MAIN_ROAD_CLASSES: Final = ("motorway", "trunk", "primary", "secondary", "tertiary")
CELL_MIN_M: Final = 50
CELL_MAX_M: Final = 5000
CELL_DEFAULT_M: Final = 250
# A layer larger than this is a mistake (too small a cell, no bbox): refuse rather than ship
# megabytes of JSON to a browser.
MAX_FEATURES: Final = 50_000
SITE_STATUSES: Final = ("working", "faulty", "planned", "removed")


class MapFeature(Protocol):
    def geometry(self) -> dict[str, Any]: ...

    def properties(self) -> dict[str, Any]: ...


def _props(item: Any, *exclude: str) -> dict[str, Any]:
    return {k: v for k, v in asdict(item).items() if k not in exclude}


@dataclass(frozen=True)
class _Point:
    lon: float
    lat: float

    def geometry(self) -> dict[str, Any]:
        return {"type": "Point", "coordinates": [self.lon, self.lat]}

    def properties(self) -> dict[str, Any]:
        return _props(self, "lon", "lat")


@dataclass(frozen=True)
class Station(_Point):
    key: str
    kind: str
    name: str
    code: str | None
    area_id: str | None


@dataclass(frozen=True)
class CctvSite(_Point):
    site_id: int
    name: str | None
    status: str
    owner_org_id: str | None
    bearing_deg: float
    fov_deg: float
    range_m: float
    area_id: str | None


@dataclass(frozen=True)
class AnprSite(_Point):
    site_id: int
    name: str | None
    road_name: str | None
    direction: str | None
    status: str
    area_id: str | None


@dataclass(frozen=True)
class DensityCell(_Point):
    """Addresses in one square of the BNG grid; lon/lat is the square's centre."""

    ix: int
    iy: int
    cell_m: int
    count: int
    ring: list[list[float]] = field(repr=False)

    def geometry(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": [self.ring]}

    def properties(self) -> dict[str, Any]:
        return _props(self, "ring")


@dataclass(frozen=True)
class Road:
    road_id: int
    name: str | None
    ref: str | None
    road_class: str
    path: list[list[float]] = field(repr=False)

    def geometry(self) -> dict[str, Any]:
        return {"type": "LineString", "coordinates": self.path}

    def properties(self) -> dict[str, Any]:
        return _props(self, "path")


@dataclass(frozen=True)
class Area:
    area_id: str
    name: str
    polygons: list[list[list[list[float]]]] = field(repr=False)  # MultiPolygon coordinates

    def geometry(self) -> dict[str, Any]:
        return {"type": "MultiPolygon", "coordinates": self.polygons}

    def properties(self) -> dict[str, Any]:
        return _props(self, "polygons")


def feature_collection(items: Sequence[MapFeature]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [geojson_feature(item.geometry(), item.properties()) for item in items],
    }


# --- SQL ---------------------------------------------------------------------------------------
_LON = "round(ST_X(ST_Transform({g}, 4326))::numeric, 6)::float8"
_LAT = "round(ST_Y(ST_Transform({g}, 4326))::numeric, 6)::float8"


def _coords(geom_sql: str, decimals: int = 6) -> str:
    return f"(ST_AsGeoJSON(ST_Transform({geom_sql}, 4326), {int(decimals)})::json -> 'coordinates')"


def _where(bbox: BBox | None, *conditions: str, geom: str = "geom") -> tuple[str, dict[str, Any]]:
    clauses = list(conditions)
    params: dict[str, Any] = {}
    if bbox is not None and bbox.clipped is None:
        clauses.append("false")  # wholly outside Great Britain: nothing there
    elif bbox is not None:
        clauses.append(f"ST_Intersects({geom}, {BBOX_BNG_SQL})")
        params.update(bbox.sql_params())
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _fetch(conn: Connection, sql: str, params: dict[str, Any], what: str) -> list[dict[str, Any]]:
    rows = conn.execute(text(sql + " LIMIT :limit"), {**params, "limit": MAX_FEATURES + 1})
    found = [dict(row) for row in rows.mappings()]
    if len(found) > MAX_FEATURES:
        raise UserInputError(
            f"more than {MAX_FEATURES} {what} in the request: narrow the bbox or coarsen it"
        )
    return found


def _in_areas(areas_only: bool) -> list[str]:
    """Rows imported outside every area are kept for reference (area_id NULL): not an area's."""
    return ["area_id IS NOT NULL"] if areas_only else []


def _site_statuses(include_removed: bool) -> list[str]:
    return [s for s in SITE_STATUSES if include_removed or s != "removed"]


def stations(conn: Connection, bbox: BBox | None = None, areas_only: bool = False) -> list[Station]:
    """Stations; areas_only leaves out those kept for reference outside every area."""
    where, params = _where(bbox, *_in_areas(areas_only))
    rows = _fetch(
        conn,
        f"SELECT hub_key AS key, kind, name, code, area_id, {_LON.format(g='geom')} AS lon, "
        f"{_LAT.format(g='geom')} AS lat FROM transport_hubs {where} ORDER BY name, hub_key",
        params,
        "stations",
    )
    return [Station(**row) for row in rows]


def _sites(
    conn: Connection,
    entry: TableCollection,
    kind: type[CctvSite | AnprSite],
    bbox: BBox | None,
    include_removed: bool,
    areas_only: bool,
) -> list[dict[str, Any]]:
    """A camera layer's rows: those of `kind`'s properties that are the registry entry's columns
    (their SQL is written there once), and lon/lat."""
    wanted = {f.name for f in fields(kind)}
    columns = ", ".join(f"{f.sql} AS {f.name}" for f in entry.fields if f.name in wanted)
    where, params = _where(bbox, "t.status = ANY(:statuses)", *_in_areas(areas_only), geom="t.geom")
    return _fetch(
        conn,
        f"SELECT {columns}, {_LON.format(g='t.geom')} AS lon, {_LAT.format(g='t.geom')} AS lat "
        f"FROM {entry.source} {where} ORDER BY {entry.key}",
        {**params, "statuses": _site_statuses(include_removed)},
        entry.title,
    )


def cctv_sites(
    conn: Connection,
    bbox: BBox | None = None,
    include_removed: bool = False,
    areas_only: bool = False,
) -> list[CctvSite]:
    return [CctvSite(**r) for r in _sites(conn, CCTV, CctvSite, bbox, include_removed, areas_only)]


def anpr_sites(
    conn: Connection,
    bbox: BBox | None = None,
    include_removed: bool = False,
    areas_only: bool = False,
) -> list[AnprSite]:
    return [AnprSite(**r) for r in _sites(conn, ANPR, AnprSite, bbox, include_removed, areas_only)]


def address_density(
    conn: Connection, cell_m: int = CELL_DEFAULT_M, bbox: BBox | None = None, decimals: int = 6
) -> list[DensityCell]:
    """Addresses per square of a BNG grid cell_m metres wide (floor division, so squares line
    up with the national grid), after disclosure control: squares under 10 addresses are left
    out and the rest rounded to 5, with secondary suppression (`publish_grid`), so the layer is
    an aggregate any signed-in user, planners included, may see.

    Squares are always counted whole, whatever part of them a bbox covers, so moving a bbox edge
    cannot single out the homes on one side of it. Sizes of the tiles' ladder (CELL_LADDER) are
    read from the pre-counted grid (sql/012); other sizes are counted from the addresses. Rings
    and centres are transformed to lon/lat here, in bulk, to `decimals` of a degree."""
    if not (isinstance(cell_m, int) and CELL_MIN_M <= cell_m <= CELL_MAX_M):
        raise UserInputError(f"cell must be a whole number of metres in {CELL_MIN_M}..{CELL_MAX_M}")
    if bbox is not None and bbox.clipped is None:
        return []
    box = bbox.bng_box() if bbox is not None else BngBox(BNG_X[0], BNG_Y[0], BNG_X[1], BNG_Y[1])
    ix0, iy0 = math.floor(box.x0 / cell_m), math.floor(box.y0 / cell_m)
    ix1, iy1 = math.floor(box.x1 / cell_m), math.floor(box.y1 / cell_m)
    params: dict[str, Any] = {"c": cell_m, "ix0": ix0, "iy0": iy0, "ix1": ix1, "iy1": iy1}
    # The squares' BNG corners, computed here (psycopg sends small numbers as smallint).
    params |= {"x0": ix0 * cell_m, "y0": iy0 * cell_m}
    params |= {"x1": (ix1 + 1) * cell_m, "y1": (iy1 + 1) * cell_m}
    if cell_m in CELL_LADDER:
        source = "address_cell_counts(:c, :x0, :y0, :x1 - 1, :y1 - 1)"
    else:
        source = "address_grid_counts(:c, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 27700))"
    inside = ""
    if bbox is not None:  # the squares the box itself touches, not just its BNG rectangle
        square = "ST_MakeEnvelope(ix * :c, iy * :c, (ix + 1) * :c, (iy + 1) * :c, 27700)"
        inside = f" AND ST_Intersects({square}, {BBOX_BNG_SQL})"
        params.update(bbox.sql_params())
    counted = conn.execute(
        text(
            f"SELECT ix, iy, n FROM {source} WHERE ix BETWEEN :ix0 AND :ix1 "
            f"AND iy BETWEEN :iy0 AND :iy1{inside} ORDER BY iy, ix"
        ),
        params,
    ).all()
    published = publish_grid({(ix, iy): n for ix, iy, n in counted}).cells
    rows = [(ix, iy, n) for ix, iy, _ in counted if (n := published[(ix, iy)]) is not None]
    if len(rows) > MAX_FEATURES:  # what would be sent, not what was counted
        raise UserInputError(
            f"more than {MAX_FEATURES} squares in the request: narrow the bbox or choose "
            "larger squares"
        )
    if not rows:
        return []
    cells = np.array([(ix, iy) for ix, iy, _ in rows], dtype=np.float64)
    # Corners (0,0) (1,0) (1,1) (0,1) (counter-clockwise, as RFC 7946 asks) and the centre.
    offsets = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])
    points = (cells[:, None, :] + offsets[None, :, :]) * cell_m
    lon, lat = transformer(BNG, WGS84).transform(points[..., 0].ravel(), points[..., 1].ravel())
    coords = np.round(np.stack([lon, lat], axis=-1).reshape(len(rows), 5, 2), decimals)
    rings = coords[:, [0, 1, 2, 3, 0], :].tolist()
    centres = coords[:, 4, :].tolist()
    return [
        DensityCell(lon=centre[0], lat=centre[1], ix=int(ix), iy=int(iy), cell_m=cell_m,
                    count=int(n), ring=ring)
        for (ix, iy, n), ring, centre in zip(rows, rings, centres, strict=True)
    ]  # fmt: skip


def roads(
    conn: Connection,
    bbox: BBox | None = None,
    main_only: bool = False,
    simplify_m: float = 0.0,
    decimals: int = 6,
) -> list[Road]:
    """Street centre lines for context; main_only keeps motorway..tertiary (the low-zoom view)
    and simplify_m drops vertices closer than that to the line (Douglas-Peucker, in metres);
    decimals of a degree in the coordinates (5 is about a metre, plenty for a town map)."""
    _check_tolerance(simplify_m)
    conditions = ["road_class = ANY(:classes)"] if main_only else []
    where, params = _where(bbox, *conditions)
    rows = _fetch(
        conn,
        "SELECT road_id, name, ref, road_class, "
        f"{_coords('ST_SimplifyPreserveTopology(geom, :tolerance)', decimals)} AS path "
        f"FROM roads {where} ORDER BY road_id",
        {**params, "classes": list(MAIN_ROAD_CLASSES), "tolerance": simplify_m},
        "roads",
    )
    return [Road(**row) for row in rows]


def areas(
    conn: Connection, bbox: BBox | None = None, simplify_m: float = 0.0, decimals: int = 6
) -> list[Area]:
    """Force-area boundaries, the outline a map without a basemap needs most."""
    _check_tolerance(simplify_m)
    where, params = _where(bbox)
    rows = _fetch(
        conn,
        "SELECT area_id, name, "
        f"{_coords('ST_Multi(ST_SimplifyPreserveTopology(geom, :tolerance))', decimals)} "
        "AS polygons "
        f"FROM areas {where} ORDER BY area_id",
        {**params, "tolerance": simplify_m},
        "areas",
    )
    return [Area(**row) for row in rows]


def _check_tolerance(simplify_m: float) -> None:
    if not (math.isfinite(simplify_m) and 0 <= simplify_m <= 1000):
        raise UserInputError("simplify must be a number of metres in 0..1000")


@dataclass(frozen=True)
class MapLayers:
    """Everything the main map draws, as one user may see it (`tiles.mapdata.map_layers`)."""

    areas: list[Area]
    roads: list[Road]
    density: list[DensityCell]
    stations: list[Station]
    cctv: list[CctvSite]
    anpr: list[AnprSite]
