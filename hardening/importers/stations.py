"""Railway stations CSV (uk-railway-stations: stationName,lat,long,crsCode) -> transport_hubs.

The file covers Great Britain and all of it is kept: stations outside the partnership's areas
still matter to journeys into them. They are kept for reference with no area (area_id NULL), so
they count in no area's figures and are not drawn on the map; the report says how many lie in
the areas and how many outside. Latitude comes first in this file; the column names decide.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection

from hardening import geo
from hardening.importers.core import (
    Batch,
    ImportReport,
    Origin,
    Progress,
    Record,
    RowRejected,
    csv_with_header,
    each_row,
    ensure_acceptable,
    first_seen,
    header_index,
    number,
    text_value,
    write,
)
from hardening.importers.spatial import area_split, assign_areas, locate, point_geoms

COLUMNS = {
    "name": ("stationName", "name", "station_name"),
    "lat": ("lat", "latitude"),
    "lon": ("long", "lon", "longitude"),
    "crs": ("crsCode", "crs", "crs_code"),
}
CRS_CODE = re.compile(r"^[A-Z]{3}$")
TABLE_COLUMNS = ("hub_key", "kind", "name", "code", "area_id", "geom")


def parse(path: Path, progress: Progress | None = None) -> Batch:
    batch = Batch("stations", [str(path)])
    header, rows = csv_with_header(path)
    cols = header_index(path, header, COLUMNS, tuple(COLUMNS))
    seen: dict[str, Origin] = {}
    for line, fields in rows:
        origin = Origin(path.name, line)
        each_row(batch, origin, _row, origin, fields, len(header), cols, seen)
    if progress:
        progress(f"{path.name}: {batch.read} rows read")
    locate(batch, geo.WGS84)
    point_geoms(batch)
    return batch


def _row(
    origin: Origin, fields: list[str], width: int, cols: dict[str, int], seen: dict[str, Origin]
) -> Record:
    if len(fields) != width:
        raise RowRejected(f"expected {width} fields, found {len(fields)} (malformed CSV row)")
    name = text_value(fields[cols["name"]])
    if name is None:
        raise RowRejected("station name is empty")
    code = (text_value(fields[cols["crs"]]) or "").upper()
    if not CRS_CODE.match(code):
        raise RowRejected(
            f"CRS code {code!r} is not three letters" if code else "CRS code is empty"
        )
    lon = number(fields[cols["lon"]], "longitude")
    lat = number(fields[cols["lat"]], "latitude")
    first_seen(seen, code, origin, "CRS code")
    values = {"hub_key": f"rail:{code}", "kind": "rail_station", "name": name, "code": code}
    return Record(origin, values, xy=(lon, lat))


def load(conn: Connection, batch: Batch, *, skip_bad: bool = False) -> ImportReport:
    ensure_acceptable(batch, skip_bad)
    assign_areas(conn, batch)
    counts = write(conn, batch, "transport_hubs", TABLE_COLUMNS, ("hub_key",))
    report = ImportReport.of(batch, counts)
    report.areas = area_split(conn, batch)
    return report


def import_file(conn: Connection, path: Path, *, skip_bad: bool = False) -> ImportReport:
    return load(conn, parse(path), skip_bad=skip_bad)
