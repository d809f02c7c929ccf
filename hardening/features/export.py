"""Export a collection, as the actor may see it, to GeoPackage, GeoJSON or CSV (pyogrio).

- GeoPackage: British National Grid (EPSG:27700), the storage CRS, so coordinates are exact
  and an export imports back unchanged (`hardening import sites cctv FILE.gpkg`).
- GeoJSON: WGS84 lon/lat, RFC 7946.
- CSV: WGS84; points as X (longitude) and Y (latitude) columns, other geometries as WKT;
  times as ISO 8601 text in UTC.

Rows come from the collection's own read (`TableCollection.rows`), so row-level security, the
choice of properties and, for markers, the reason and the audit row apply to exports too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyogrio.raw
from pyproj import CRS
from sqlalchemy import Connection

from hardening import geo
from hardening.bbox import BBox
from hardening.errors import UserInputError
from hardening.features.collections import readable_one
from hardening.features.source import Field, Rows


class ExportFormat(StrEnum):
    gpkg = "gpkg"
    geojson = "geojson"
    csv = "csv"


MAX_EXPORT: Final = 1_000_000
UTC_FLAG: Final = 100  # GDAL's time-zone flag for UTC


@dataclass(frozen=True)
class FormatSpec:
    driver: str
    suffix: str
    media_type: str
    srid: int


FORMATS: Final[dict[str, FormatSpec]] = {
    "gpkg": FormatSpec("GPKG", ".gpkg", "application/geopackage+sqlite3", geo.BNG),
    "geojson": FormatSpec("GeoJSON", ".geojson", "application/geo+json", geo.WGS84),
    "csv": FormatSpec("CSV", ".csv", "text/csv", geo.WGS84),
}


@dataclass(frozen=True)
class ExportResult:
    collection: str
    format: str
    path: Path
    features: int
    crs: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "format": self.format,
            "out": str(self.path),
            "features": self.features,
            "crs": self.crs,
        }


def format_spec(fmt: str) -> FormatSpec:
    spec = FORMATS.get(fmt)
    if spec is None:
        raise UserInputError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    return spec


def export(
    conn: Connection,
    collection_id: str,
    fmt: str,
    out: Path,
    bbox: BBox | None = None,
    reason: str | None = None,
) -> ExportResult:
    """Write the collection as the transaction's actor sees it; returns what was written."""
    spec = format_spec(fmt)
    if out.exists() and out.is_dir():
        raise UserInputError(f"{out} is a directory: give a file name")
    if not out.parent.is_dir():
        raise UserInputError(f"{out.parent}: no such directory")
    source = readable_one(conn, collection_id)
    rows = source.rows(conn, bbox, spec.srid, MAX_EXPORT, reason)
    write(rows, spec, out, layer=collection_id.replace("-", "_"))
    return ExportResult(collection_id, fmt, out, len(rows), f"EPSG:{spec.srid}")


def write(rows: Rows, spec: FormatSpec, out: Path, layer: str) -> None:
    """One layer, replacing the file if it exists (GDAL would otherwise append or refuse)."""
    csv = spec.driver == "CSV"
    arrays, masks, offsets = [], [], {}
    for f in rows.fields:
        values = rows.columns[f.name]
        array, mask = _column(f, values, as_text=csv)
        arrays.append(array)
        masks.append(mask)
        if f.kind == "datetime" and not csv:
            offsets[f.name] = np.full(len(values), UTC_FLAG, dtype=np.int32)
    options: dict[str, str] = {}
    if csv:
        options["GEOMETRY"] = "AS_XY" if rows.geometry_type == "Point" else "AS_WKT"
    elif spec.driver == "GeoJSON":
        options["RFC7946"] = "YES"
    out.unlink(missing_ok=True)
    pyogrio.raw.write(
        str(out),
        np.array(rows.wkb, dtype=object),
        arrays,
        [f.name for f in rows.fields],
        field_mask=masks,
        layer=layer,
        driver=spec.driver,
        geometry_type=rows.geometry_type,
        crs=CRS.from_epsg(rows.srid).to_wkt(),
        layer_options=options,
        gdal_tz_offsets=offsets or None,
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _column(
    f: Field, values: list[Any], as_text: bool
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_] | None]:
    """A typed array for pyogrio and its null mask (None when nothing is null)."""
    nulls = np.array([v is None for v in values], dtype=bool)
    mask = nulls if nulls.any() else None
    if f.kind == "int":
        return np.array([0 if v is None else int(v) for v in values], dtype=np.int64), mask
    if f.kind == "float":
        floats = [math.nan if v is None else float(v) for v in values]
        return np.array(floats, dtype=np.float64), mask
    if as_text or f.kind == "text":
        return np.array([_iso(v) for v in values], dtype=object), None
    if f.kind == "date":
        return np.array([v or "NaT" for v in values], dtype="datetime64[D]"), None
    utc = [None if v is None else v.astimezone(UTC).replace(tzinfo=None) for v in values]
    return np.array([v or "NaT" for v in utc], dtype="datetime64[ms]"), None
