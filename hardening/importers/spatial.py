"""Coordinates and geometries of imported rows: validate, reproject to BNG, find their area.

Validation is vectorised (numpy / shapely) for the common case; only failing rows go through
`hardening.geo`'s scalar checks, which phrase the reason (NaN, swapped axes, outside GB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyogrio import list_layers
from pyogrio.errors import DataSourceError
from pyogrio.raw import read as ogr_read
from pyproj import CRS
from sqlalchemy import Connection, text

from hardening import geo
from hardening.errors import UserInputError
from hardening.importers.core import AreaSplit, Batch, Origin, require_file

Floats = npt.NDArray[np.float64]
# Tables a point can be looked up in, and the key column returned.
CONTAINERS = {"areas": "area_id", "lsoas": "lsoa_code"}


def _reason(check: Any, *args: float) -> str:
    try:
        check(*args)
    except UserInputError as exc:
        return str(exc)
    return "coordinates are unusable"


def points_to_bng(
    xs: Sequence[float], ys: Sequence[float], crs: int | str
) -> tuple[Floats, Floats, dict[int, str]]:
    """BNG eastings and northings of points given in crs, and a reason per bad index."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    bad: dict[int, str] = {}
    finite = np.isfinite(x) & np.isfinite(y)
    if crs == geo.WGS84:
        ok = finite & _within(x, y, geo.GB_LON, geo.GB_LAT)
        for i in np.flatnonzero(~ok):
            bad[int(i)] = _reason(geo.check_lon_lat, float(x[i]), float(y[i]))
    elif crs == geo.BNG:
        for i in np.flatnonzero(~finite):
            bad[int(i)] = _reason(geo.check_bng, float(x[i]), float(y[i]))
    else:
        for i in np.flatnonzero(~finite):
            bad[int(i)] = "coordinates must be finite numbers (got NaN or infinity)"
    if crs == geo.BNG:
        east, north = x.copy(), y.copy()
    else:
        safe = np.where(finite, x, 0.0), np.where(finite, y, 0.0)
        east, north = geo.transformer(crs, geo.BNG).transform(*safe)
        east, north = np.asarray(east, dtype=np.float64), np.asarray(north, dtype=np.float64)
    inside = np.isfinite(east) & np.isfinite(north) & _within(east, north, geo.BNG_X, geo.BNG_Y)
    for i in np.flatnonzero(~inside):
        if int(i) not in bad:
            bad[int(i)] = _reason(geo.check_bng, float(east[i]), float(north[i]))
    return east, north, bad


def _within(x: Floats, y: Floats, xr: tuple[float, float], yr: tuple[float, float]) -> Any:
    with np.errstate(invalid="ignore"):
        return (x >= xr[0]) & (x <= xr[1]) & (y >= yr[0]) & (y <= yr[1])


def locate(batch: Batch, crs: int | str) -> None:
    """Validate every record's (x, y) in crs, set its BNG anchor, reject the bad ones."""
    if not batch.records:
        return
    xs = [r.xy[0] if r.xy else np.nan for r in batch.records]
    ys = [r.xy[1] if r.xy else np.nan for r in batch.records]
    east, north, bad = points_to_bng(xs, ys, crs)
    for i, record in enumerate(batch.records):
        record.anchor = (float(east[i]), float(north[i]))
    batch.drop(bad)


def point_geoms(batch: Batch) -> None:
    """The geom value of point tables: EWKT at centimetre precision (the team's convention);
    the anchor is rounded the same way so area look-ups see the stored point."""
    for record in batch.records:
        assert record.anchor is not None
        record.anchor = (round(record.anchor[0], 2), round(record.anchor[1], 2))
        record.values["geom"] = geo.point_ewkt(*record.anchor)


# -- OGR files ---------------------------------------------------------------------------------


@dataclass
class Layer:
    path: Path
    crs: CRS
    geometries: npt.NDArray[np.object_]  # shapely geometries (None where a feature has none)
    fields: dict[str, npt.NDArray[Any]]  # by lower-cased field name

    def __len__(self) -> int:
        return len(self.geometries)

    def origin(self, index: int) -> Origin:
        return Origin(self.path.name, index + 1, "feature")

    def field(self, *names: str) -> npt.NDArray[Any] | None:
        for name in names:
            if name.lower() in self.fields:
                return self.fields[name.lower()]
        return None


def read_layer(path: Path, crs: str | int | None = None, layer: str | None = None) -> Layer:
    """Every feature of an OGR file (shapefile, GeoJSON, GeoPackage ...); crs overrides or
    supplies the file's own. A file of several layers (a GeoPackage often is) needs `layer`."""
    require_file(path)
    try:
        names = [str(n) for n in list_layers(path)[:, 0]]
        if layer is not None and layer not in names:
            raise UserInputError(f"{path}: no layer {layer!r}; its layers are {', '.join(names)}")
        if layer is None and len(names) > 1:
            raise UserInputError(
                f"{path} holds {len(names)} layers ({', '.join(names)}): choose one with --layer"
            )
        meta, _, wkb, values = ogr_read(path, layer=layer)
    except (DataSourceError, OSError, RuntimeError) as exc:
        raise UserInputError(f"{path}: not a readable OGR file ({exc})") from exc
    declared = crs if crs is not None else meta.get("crs")
    if declared is None:
        raise UserInputError(f"{path}: the file declares no CRS; give one with --crs EPSG:...")
    try:
        layer_crs = CRS.from_user_input(geo.parse_crs(declared) if crs is not None else declared)
    except Exception as exc:
        raise UserInputError(f"{path}: unusable CRS {declared!r} ({exc})") from exc
    geometries = (
        shapely.from_wkb(wkb, on_invalid="warn")
        if wkb is not None
        else np.full(len(values[0]) if values else 0, None, dtype=object)
    )
    fields = {str(n).lower(): v for n, v in zip(meta["fields"], values, strict=True)}
    return Layer(path, layer_crs, geometries, fields)


def crs_key(crs: CRS) -> int | str:
    """EPSG code when the CRS is one (so BNG data is never 'transformed'), else its WKT."""
    code = crs.to_epsg()
    return code if code is not None else crs.to_wkt()


def geometries_to_bng(
    geoms: npt.NDArray[np.object_], crs: CRS, allowed: tuple[str, ...]
) -> tuple[npt.NDArray[np.object_], dict[int, str]]:
    """Reproject geometries to BNG; a reason per index for missing, empty, wrong-typed,
    non-finite, out-of-GB or invalid ones."""
    bad: dict[int, str] = {}
    for i, g in enumerate(geoms):
        if g is None:
            bad[i] = "geometry is missing or unreadable"
        elif g.is_empty:
            bad[i] = "geometry is empty"
        elif g.geom_type not in allowed:
            bad[i] = f"geometry is a {g.geom_type}, expected {' or '.join(allowed)}"
    kept = np.array([None if i in bad else g for i, g in enumerate(geoms)], dtype=object)
    coords, index = shapely.get_coordinates(kept, return_index=True)
    for i in np.unique(index[~np.isfinite(coords).all(axis=1)]):
        bad[int(i)] = "geometry has NaN or infinite coordinates"
    key = crs_key(crs)
    if key == geo.WGS84:
        outside = ~_within(coords[:, 0], coords[:, 1], geo.GB_LON, geo.GB_LAT)
        for pos in np.flatnonzero(outside):
            i = int(index[pos])
            if i not in bad:
                bad[i] = _reason(geo.check_lon_lat, float(coords[pos, 0]), float(coords[pos, 1]))
    todo = np.array([g if i not in bad else None for i, g in enumerate(geoms)], dtype=object)
    if key != geo.BNG:
        todo = shapely.transform(todo, lambda xy: _project(xy, key))
    for i, g in enumerate(todo):
        if i in bad or g is None:
            continue
        xmin, ymin, xmax, ymax = g.bounds
        low_ok = _within(np.array([xmin]), np.array([ymin]), geo.BNG_X, geo.BNG_Y)[0]
        if not low_ok:
            bad[i] = _reason(geo.check_bng, xmin, ymin)
        elif not _within(np.array([xmax]), np.array([ymax]), geo.BNG_X, geo.BNG_Y)[0]:
            bad[i] = _reason(geo.check_bng, xmax, ymax)
        elif not g.is_valid:
            bad[i] = f"invalid geometry: {shapely.is_valid_reason(g)}"
    return todo, bad


def _project(xy: Floats, key: int | str) -> Floats:
    x, y = geo.transformer(key, geo.BNG).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def ewkb(geom: Any) -> str:
    """Hex EWKB of a BNG geometry: lossless, so a re-import compares equal."""
    return str(shapely.to_wkb(shapely.set_srid(geom, geo.BNG), hex=True, include_srid=True))


# -- containment look-ups ----------------------------------------------------------------------


def containing(
    conn: Connection, table: str, points: Sequence[tuple[float, float]]
) -> list[str | None]:
    """Key of the table's polygon covering each BNG point (None outside all), in one query."""
    key = CONTAINERS[table]
    if not points:
        return []
    if not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar_one():
        return [None] * len(points)
    rows = conn.execute(
        text(
            f"SELECT p.i, c.key FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) "
            f"WITH ORDINALITY AS p(x, y, i) CROSS JOIN LATERAL ("
            f" SELECT t.{key} AS key FROM {table} t"
            f" WHERE ST_Covers(t.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), {geo.BNG}))"
            f" ORDER BY t.{key} LIMIT 1) c"
        ),
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points]},
    )
    found: list[str | None] = [None] * len(points)
    for i, value in rows:
        found[int(i) - 1] = value
    return found


def assign_areas(conn: Connection, batch: Batch, preferred: dict[int, str] | None = None) -> None:
    """area_id of every record: a preferred area (by index) when that area exists, else the
    area whose polygon contains the record's anchor point."""
    existing = set(conn.execute(text("SELECT area_id FROM areas")).scalars())
    preferred = {i: a for i, a in (preferred or {}).items() if a in existing}
    todo = [i for i in range(len(batch.records)) if i not in preferred]
    anchors = [batch.records[i].anchor for i in todo]
    found = containing(conn, "areas", [a for a in anchors if a is not None]) if existing else []
    lookup = iter(found)
    for i, anchor in zip(todo, anchors, strict=True):
        batch.records[i].values["area_id"] = (
            next(lookup) if anchor is not None and existing else None
        )
    for i, area in preferred.items():
        batch.records[i].values["area_id"] = area


def area_split(conn: Connection, batch: Batch) -> AreaSplit:
    """In and outside the partnership's areas, of the records assign_areas has placed."""
    inside = sum(r.values.get("area_id") is not None for r in batch.records)
    defined = int(conn.execute(text("SELECT count(*) FROM areas")).scalar_one())
    return AreaSplit(inside, len(batch.records) - inside, defined)


# -- placing rows loaded before their areas ------------------------------------------------------

# Point tables whose rows importers place in an area (assign_areas), with their key column.
PLACED = {
    "addresses": "uprn",
    "postcode_units": "postcode",
    "incidents": "incident_id",
    "cctv_sites": "site_id",
    "anpr_sites": "site_id",
    "transport_hubs": "hub_id",
}


def place_unplaced(conn: Connection, preferred: dict[str, str] | None = None) -> dict[str, int]:
    """Give rows loaded with no area (their areas had not arrived yet) the area that now
    contains them, and addresses without an LSOA theirs: imports do not depend on their order.
    Set-based, one UPDATE per table over the rows still without one (the area_id index and the
    areas' GiST index). `preferred` maps a postcode unit's admin district code to its area, as
    the postcode importer does. Returns the rows placed per table (only tables with some)."""
    placed: dict[str, int] = {}
    any_area = conn.execute(text("SELECT EXISTS (SELECT 1 FROM areas)")).scalar_one()
    inside = (
        "(SELECT ar.area_id FROM areas ar WHERE ST_Covers(ar.geom, t.geom) "
        "ORDER BY ar.area_id LIMIT 1)"
    )
    codes = preferred or {}
    for table, key in PLACED.items() if any_area else ():
        found = inside
        params: dict[str, Any] = {}
        if table == "postcode_units" and codes:
            found = (
                "COALESCE((SELECT m.area_id FROM unnest(CAST(:codes AS text[]), "
                "CAST(:areas AS text[])) AS m(code, area_id) JOIN areas USING (area_id) "
                f"WHERE m.code = t.admin_district), {inside})"
            )
            params = {"codes": list(codes), "areas": list(codes.values())}
        rows = conn.execute(
            text(
                f"UPDATE {table} u SET area_id = f.area_id FROM ("
                f" SELECT t.{key} AS key, {found} AS area_id FROM {table} t"
                f" WHERE t.area_id IS NULL) f"
                f" WHERE u.{key} = f.key AND f.area_id IS NOT NULL"
            ),
            params,
        ).rowcount
        if rows:
            placed[table] = rows
    lsoa = conn.execute(
        text(
            "UPDATE addresses u SET lsoa_code = f.code FROM ("
            " SELECT t.uprn, (SELECT l.lsoa_code FROM lsoas l WHERE ST_Covers(l.geom, t.geom)"
            "  ORDER BY l.lsoa_code LIMIT 1) AS code FROM addresses t"
            " WHERE t.lsoa_code IS NULL) f"
            " WHERE u.uprn = f.uprn AND f.code IS NOT NULL"
        )
    ).rowcount
    if lsoa:
        placed["addresses_lsoa"] = lsoa
    return placed
