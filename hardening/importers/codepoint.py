"""OS Code-Point Open CSV -> postcode_units (one point per postcode unit, BNG metres).

The data files have no header row (the headers come in Code-Point_Open_Column_Headers.csv);
a header-looking row is ignored, so passing that file along with the data does no harm.
Postcodes are normalised to "OUTWARD INWARD". A unit at 0,0 has no position: a reject.
The area is the one of the unit's local authority district (DISTRICT_CODES) when that area is
loaded, else the area whose polygon contains the point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from hardening import geo
from hardening.areas import DISTRICT_AREA
from hardening.importers.core import (
    Batch,
    ImportReport,
    Origin,
    Progress,
    Record,
    RowRejected,
    csv_rows,
    each_row,
    ensure_acceptable,
    first_seen,
    integer,
    number,
    progress_every,
    text_value,
    write,
)
from hardening.importers.spatial import assign_areas, locate, point_geoms

WIDTH = 10  # PC, PQ, EA, NO, CY, RH, LH, CC, DC, WC
PC, PQ, EA, NO, DC = 0, 1, 2, 3, 8
HEADER_FIRST = {"pc", "postcode"}
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9][A-Z]{2})$")
QUALITIES = {10, 20, 30, 40, 50, 60, 90}
TABLE_COLUMNS = ("postcode", "positional_quality", "admin_district", "area_id", "geom")


def normalise_postcode(value: str | None) -> str:
    """'ca11aa', 'CA1  1AA', 'CA101AB' -> 'CA1 1AA', 'CA10 1AB'; RowRejected otherwise."""
    if value is None:
        raise RowRejected("postcode is empty")
    compact = re.sub(r"\s+", "", value).upper()
    matched = POSTCODE.match(compact)
    if matched is None:
        raise RowRejected(f"postcode {value!r} is not a UK postcode")
    return f"{matched[1]} {matched[2]}"


def parse(paths: Sequence[Path], progress: Progress | None = None) -> Batch:
    batch = Batch("postcodes", [str(p) for p in paths])
    seen: dict[str, Origin] = {}
    for path in paths:
        for line, fields in csv_rows(path):
            if (text_value(fields[0]) or "").lower() in HEADER_FIRST:
                continue
            origin = Origin(path.name, line)
            each_row(batch, origin, _row, fields, origin, seen)
            progress_every(progress, path, batch.read)
        if progress:
            progress(f"{path.name}: {batch.read} rows read so far")
    locate(batch, geo.BNG)
    point_geoms(batch)
    return batch


def _row(fields: list[str], origin: Origin, seen: dict[str, Origin]) -> Record:
    if len(fields) != WIDTH:
        raise RowRejected(
            f"expected {WIDTH} fields (Code-Point Open has no header row), found {len(fields)}"
        )
    postcode = normalise_postcode(text_value(fields[PC]))
    quality = integer(fields[PQ], "Positional_quality_indicator")
    if quality not in QUALITIES:
        raise RowRejected(f"Positional_quality_indicator {quality} is not one of 10..60, 90")
    east, north = number(fields[EA], "Eastings"), number(fields[NO], "Northings")
    if east == 0 and north == 0:
        raise RowRejected(f"postcode {postcode} has no position (Eastings/Northings 0,0)")
    first_seen(seen, postcode, origin, "postcode")
    values = {
        "postcode": postcode,
        "positional_quality": quality,
        "admin_district": text_value(fields[DC]),
    }
    return Record(origin, values, xy=(east, north))


def load(conn: Connection, batch: Batch, *, skip_bad: bool = False) -> ImportReport:
    ensure_acceptable(batch, skip_bad)
    preferred = {
        i: DISTRICT_AREA[r.values["admin_district"]]
        for i, r in enumerate(batch.records)
        if r.values["admin_district"] in DISTRICT_AREA
    }
    assign_areas(conn, batch, preferred)
    counts = write(conn, batch, "postcode_units", TABLE_COLUMNS, ("postcode",))
    return ImportReport.of(batch, counts)


def import_files(
    conn: Connection, paths: Sequence[Path], *, skip_bad: bool = False
) -> ImportReport:
    return load(conn, parse(paths), skip_bad=skip_bad)
