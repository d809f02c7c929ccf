"""Camera sites (CCTV or ANPR) from a user's CSV / GeoJSON through a column map.

The natural key is (source, id): source is --source if given, else the file's `source` column
where it has one (as `hardening export` writes it), else the file's stem; id is the mapped id
column. Unmapped targets also recognise the column names of `hardening export cctv-sites` /
`anpr-sites` (source_ref, bearing_deg, fov_deg, range_m, owner_org_id, road_name, installed_on,
removed_on), so an export imports back unchanged. Install and removal dates are ISO dates; empty
means unknown (the site counts as present throughout). CCTV defaults when a column is not mapped
or a cell is empty: field of view 360 with bearing 0 (an unrecorded view is taken as all-round,
as for a dome camera; map the real values where they are known, since this overstates fixed
cameras) and range 50 m (a typical identification distance for street CCTV); status 'working'.
Bearings wrap into [0, 360). Sites outside the partnership's areas (a council's file from
elsewhere) are kept for reference with no area: they count in no area's coverage or report and
are not drawn on the map; the report says how many lie in the areas and how many outside.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from sqlalchemy import Connection

from hardening.errors import UserInputError
from hardening.importers.core import (
    Batch,
    ImportReport,
    Origin,
    Progress,
    Record,
    RowRejected,
    check_organisations,
    each_row,
    ensure_acceptable,
    first_seen,
    optional_number,
    write,
)
from hardening.importers.spatial import area_split, assign_areas, locate, point_geoms
from hardening.importers.tabular import Row, cell, parse_map, read_table

Kind = Literal["cctv", "anpr"]
VIEW_TARGETS = ("bearing", "fov", "range")  # CCTV only
TARGETS = (
    "id",
    "x",
    "y",
    "name",
    *VIEW_TARGETS,
    "status",
    "road",
    "direction",
    "owner",
    "source",
    "installed",
    "removed",
)
EXPORT_NAMES = {
    "id": ("source_ref",),
    "bearing": ("bearing_deg",),
    "fov": ("fov_deg",),
    "range": ("range_m",),
    "owner": ("owner_org_id",),
    "road": ("road_name",),
    "installed": ("installed_on",),
    "removed": ("removed_on",),
}
STATUSES = ("working", "faulty", "planned", "removed")
DEFAULT_BEARING, DEFAULT_FOV, DEFAULT_RANGE_M = 0.0, 360.0, 50.0
MAX_RANGE_M = 1000.0
TABLES = {
    "cctv": ("cctv_sites", ("bearing_deg", "fov_deg", "range_m")),
    "anpr": ("anpr_sites", ("road_name", "direction")),
}
COMMON = (
    "source",
    "source_ref",
    "name",
    "owner_org_id",
    "status",
    "installed_on",
    "removed_on",
    "area_id",
    "geom",
)


def parse(
    kind: Kind,
    path: Path,
    maps: list[str] | None = None,
    crs: str | None = None,
    source: str | None = None,
    progress: Progress | None = None,
    layer: str | None = None,
) -> Batch:
    if kind not in TABLES:
        raise UserInputError(f"unknown site kind {kind!r}: use cctv or anpr")
    mapping = parse_map(maps or [], TARGETS)
    table = read_table(path, TARGETS, mapping, crs, aliases=EXPORT_NAMES, layer=layer)
    if "id" not in table.mapped:
        raise UserInputError(f"{path}: no id column; map one with --map id=<column>")
    name = (source or path.stem).strip()
    if not name:
        raise UserInputError("--source must not be empty")
    per_row = source is None and "source" in table.mapped
    batch = Batch(f"{kind}-sites", [str(path)])
    seen: dict[str, Origin] = {}
    for row in table.rows:
        each_row(batch, row.origin, _site, kind, name, per_row, row, seen)
    if progress:
        progress(f"{path.name}: {batch.read} rows read")
    locate(batch, table.crs)
    point_geoms(batch)
    return batch


def _site(kind: Kind, source: str, per_row: bool, row: Row, seen: dict[str, Origin]) -> Record:
    if row.problem is not None:
        raise RowRejected(row.problem)
    ref = cell(row, "id")
    if ref is None:
        raise RowRejected("id is empty")
    if per_row:
        source = cell(row, "source") or source
    status = (cell(row, "status") or "working").lower()
    if status not in STATUSES:
        raise RowRejected(f"status {status!r} is not one of {', '.join(STATUSES)}")
    installed, removed = _date(row, "installed"), _date(row, "removed")
    if installed and removed and removed < installed:
        raise RowRejected(f"removed {removed} is before installed {installed}")
    values: dict[str, object] = {
        "source": source,
        "source_ref": ref,
        "name": cell(row, "name"),
        "owner_org_id": cell(row, "owner"),
        "status": status,
        "installed_on": installed,
        "removed_on": removed,
    }
    if kind == "cctv":
        values.update(_view(row))
    else:
        values.update({"road_name": cell(row, "road"), "direction": cell(row, "direction")})
    first_seen(seen, f"{ref} (source {source})" if per_row else ref, row.origin, "id")
    return Record(row.origin, values, xy=row.xy)


def _date(row: Row, target: str) -> date | None:
    """An ISO date (YYYY-MM-DD; a time part is ignored) or empty (unknown)."""
    text = cell(row, target)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise RowRejected(f"{target} {text!r} is not a date (YYYY-MM-DD)") from None


def _view(row: Row) -> dict[str, float]:
    bearing = optional_number(row.cells.get("bearing"), "bearing")
    fov = optional_number(row.cells.get("fov"), "fov")
    reach = optional_number(row.cells.get("range"), "range")
    fov = DEFAULT_FOV if fov is None else fov
    reach = DEFAULT_RANGE_M if reach is None else reach
    if not 0 < fov <= 360:
        raise RowRejected(f"fov {fov:g} is not in (0, 360] degrees")
    if not 0 < reach <= MAX_RANGE_M:
        raise RowRejected(f"range {reach:g} is not in (0, {MAX_RANGE_M:g}] metres")
    return {
        "bearing_deg": (DEFAULT_BEARING if bearing is None else bearing) % 360.0,
        "fov_deg": fov,
        "range_m": reach,
    }


def load(conn: Connection, kind: Kind, batch: Batch, *, skip_bad: bool = False) -> ImportReport:
    check_organisations(conn, batch, "owner_org_id", "owner")
    ensure_acceptable(batch, skip_bad)
    assign_areas(conn, batch)
    table, own = TABLES[kind]
    counts = write(conn, batch, table, [*COMMON, *own], ("source", "source_ref"))
    report = ImportReport.of(batch, counts)
    report.areas = area_split(conn, batch)
    return report


def import_file(
    conn: Connection,
    kind: Kind,
    path: Path,
    maps: list[str] | None = None,
    *,
    crs: str | None = None,
    source: str | None = None,
    skip_bad: bool = False,
    layer: str | None = None,
) -> ImportReport:
    batch = parse(kind, path, maps, crs, source, layer=layer)
    return load(conn, kind, batch, skip_bad=skip_bad)
