"""LSOA polygons (any OGR format) and IMD deciles -> lsoas, imd_deciles and areas.

Polygons become MultiPolygons in BNG. An LSOA's area comes from its name: the district is the
name minus its trailing " 001A" part (AREA_DISTRICTS). Each area touched is (re)built as the
union of its LSOAs, so a real-data install has areas for everything else to fall into. Rows
loaded before the areas (postcode units, addresses, incidents, sites: importers leave them with
no area) are placed in them afterwards, and addresses get their LSOA: imports do not depend on
their order. IMD deciles go to imd_deciles (they may arrive before the polygons) and onto
lsoas.imd_decile.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, text

from hardening.areas import AREA_DISTRICTS, AREAS, DISTRICT_AREA
from hardening.db.bulk import UpsertCounts
from hardening.errors import UserInputError
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
    integer,
    text_value,
    write,
)
from hardening.importers.spatial import ewkb, geometries_to_bng, place_unplaced, read_layer

CODE = re.compile(r"^[EW]0[01]\d{6}$")
DISTRICT_SUFFIX = r"\s+\d{3}[A-Z]$"
CODE_FIELDS = ("code", "lsoa_code", "lsoa11cd", "lsoa21cd", "lsoa")
NAME_FIELDS = ("name", "lsoa_name", "lsoa11nm", "lsoa21nm")
IMD_COLUMNS = {
    "code": ("lsoa", "lsoa_code", "LSOA code (2011)", "lsoa11cd"),
    "decile": ("imd10", "imd_decile", "decile", "Index of Multiple Deprivation (IMD) Decile"),
}
TABLE_COLUMNS = ("lsoa_code", "name", "imd_decile", "geom")


def lsoa_code(value: object) -> str:
    code = text_value(value)
    if code is None:
        raise RowRejected("LSOA code is empty")
    if not CODE.match(code):
        raise RowRejected(f"LSOA code {code!r} is not an LSOA code (E01... or W01...)")
    return code


def parse_polygons(path: Path, crs: str | None = None, progress: Progress | None = None) -> Batch:
    layer = read_layer(path, crs)
    codes, names = layer.field(*CODE_FIELDS), layer.field(*NAME_FIELDS)
    if codes is None or names is None:
        raise UserInputError(
            f"{path}: needs an LSOA code field ({' / '.join(CODE_FIELDS)}) and a name field "
            f"({' / '.join(NAME_FIELDS)}); it has {', '.join(layer.fields) or 'no fields'}"
        )
    batch = Batch("lsoa", [str(path)])
    geoms, bad = geometries_to_bng(layer.geometries, layer.crs, ("Polygon", "MultiPolygon"))
    seen: dict[str, Origin] = {}
    for i in range(len(layer)):
        origin = layer.origin(i)
        each_row(batch, origin, _polygon, origin, codes[i], names[i], geoms[i], bad.get(i), seen)
    if progress:
        progress(f"{path.name}: {batch.read} features read")
    return batch


def _polygon(
    origin: Origin,
    code_value: object,
    name_value: object,
    geom: Any,
    problem: str | None,
    seen: dict[str, Origin],
) -> Record:
    code = lsoa_code(code_value)
    name = text_value(name_value)
    if name is None:
        raise RowRejected("LSOA name is empty")
    if problem is not None:
        raise RowRejected(problem)
    first_seen(seen, code, origin, "LSOA code")
    multi = geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])
    return Record(origin, {"lsoa_code": code, "name": name, "geom": ewkb(multi)})


def parse_imd(path: Path) -> Batch:
    batch = Batch("imd", [str(path)])
    header, rows = csv_with_header(path)
    cols = header_index(path, header, IMD_COLUMNS, ("code", "decile"))
    seen: dict[str, Origin] = {}
    for line, fields in rows:
        origin = Origin(path.name, line)
        each_row(batch, origin, _decile, origin, fields, len(header), cols, seen)
    return batch


def _decile(
    origin: Origin, fields: list[str], width: int, cols: dict[str, int], seen: dict[str, Origin]
) -> Record:
    if len(fields) != width:
        raise RowRejected(f"expected {width} fields, found {len(fields)} (malformed CSV row)")
    code = lsoa_code(fields[cols["code"]])
    decile = integer(fields[cols["decile"]], "IMD decile")
    if not 1 <= decile <= 10:
        raise RowRejected(f"IMD decile {decile} is not between 1 and 10")
    first_seen(seen, code, origin, "LSOA code")
    return Record(origin, {"lsoa_code": code, "imd_decile": decile})


def _combine(polygons: Batch, imd: Batch | None) -> Batch:
    """One view of both files for the all-or-nothing check and the report."""
    return Batch(
        "lsoa",
        polygons.files + (imd.files if imd else []),
        records=polygons.records,
        rejects=polygons.rejects + (imd.rejects if imd else []),
        read=polygons.read,
    )


def load(
    conn: Connection, polygons: Batch, imd: Batch | None = None, *, skip_bad: bool = False
) -> ImportReport:
    """Write IMD deciles, then the LSOAs (with their decile), then rebuild their areas."""
    combined = _combine(polygons, imd)
    ensure_acceptable(combined, skip_bad)
    related: dict[str, dict[str, int]] = {}
    if imd is not None:
        related["imd_deciles"] = {
            "read": imd.read,
            **_counts(write(conn, imd, "imd_deciles", ("lsoa_code", "imd_decile"), ("lsoa_code",))),
        }
    codes = [r.values["lsoa_code"] for r in polygons.records]
    deciles: dict[str, int] = dict(
        conn.execute(
            text("SELECT lsoa_code, imd_decile FROM imd_deciles WHERE lsoa_code = ANY(:codes)"),
            {"codes": codes},
        ).all()
    )
    for record in polygons.records:
        record.values["imd_decile"] = deciles.get(record.values["lsoa_code"])
    counts = write(conn, polygons, "lsoas", TABLE_COLUMNS, ("lsoa_code",))
    related["areas"] = rebuild_areas(conn)
    # Rows imported before their areas (postcodes, addresses, incidents, sites) get them now.
    if placed := place_unplaced(conn, DISTRICT_AREA):
        related["placed"] = placed
    report = ImportReport.of(combined, counts)
    report.related = related
    return report


def _counts(counts: UpsertCounts) -> dict[str, int]:
    return {"loaded": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged}


def rebuild_areas(conn: Connection) -> dict[str, int]:
    """Upsert each configured area as the union of its LSOAs, then point LSOAs at their area.
    Set-based; the union is ordered so a re-import produces the same geometry (unchanged)."""
    pairs = [(d, a) for a, districts in AREA_DISTRICTS.items() for d in districts]
    params = {
        "districts": [d for d, _ in pairs],
        "area_ids": [a for _, a in pairs],
        "names": [AREAS[a] for _, a in pairs],
    }
    mapping = (
        "SELECT * FROM unnest(CAST(:districts AS text[]), CAST(:area_ids AS text[]), "
        "CAST(:names AS text[])) AS m(district, area_id, area_name)"
    )
    written = conn.execute(
        text(
            f"WITH m AS ({mapping}), u AS ("
            " SELECT m.area_id, m.area_name, "
            "  ST_Multi(ST_Union(l.geom ORDER BY l.lsoa_code)) AS geom"
            " FROM lsoas l JOIN m ON regexp_replace(l.name, :suffix, '') = m.district"
            " GROUP BY m.area_id, m.area_name)"
            " INSERT INTO areas (area_id, name, geom) SELECT area_id, area_name, geom FROM u"
            " ON CONFLICT (area_id) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom"
            " WHERE (areas.name, areas.geom) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.geom)"
            " RETURNING (xmax = 0) AS inserted"
        ),
        {**params, "suffix": DISTRICT_SUFFIX},
    ).scalars()
    flags = list(written)
    conn.execute(
        text(
            f"WITH m AS ({mapping})"
            " UPDATE lsoas l SET area_id = m.area_id FROM m"
            " WHERE regexp_replace(l.name, :suffix, '') = m.district"
            " AND l.area_id IS DISTINCT FROM m.area_id"
        ),
        {**params, "suffix": DISTRICT_SUFFIX},
    )
    return {"loaded": sum(flags), "updated": len(flags) - sum(flags)}


def import_files(
    conn: Connection,
    path: Path,
    imd: Path | None = None,
    *,
    crs: str | None = None,
    skip_bad: bool = False,
) -> ImportReport:
    deciles = parse_imd(imd) if imd is not None else None
    return load(conn, parse_polygons(path, crs), deciles, skip_bad=skip_bad)
