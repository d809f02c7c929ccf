"""police.uk street-level crime CSV -> incidents.

Locations are anonymised snap points in WGS84 lon/lat; the month is the only time given. Crime
ID is the natural key; rows without one (anti-social behaviour) are keyed by a hash of their
identifying fields plus the ordinal of identical rows in the file, since identical ASB rows at
one snap point in one month are distinct events. "No Location" rows (crimes police.uk cannot
place) are skipped and counted, not rejected: the file is still whole.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection

from hardening import geo
from hardening.importers.core import (
    Batch,
    ImportReport,
    Origin,
    Progress,
    Record,
    RowError,
    RowRejected,
    csv_with_header,
    each_row,
    ensure_acceptable,
    first_seen,
    header_index,
    number,
    progress_every,
    text_value,
    write,
)
from hardening.importers.spatial import assign_areas, locate, point_geoms

SOURCE = "police_uk"
COLUMNS = {
    "crime_id": ("Crime ID",),
    "month": ("Month",),
    "reported_by": ("Reported by",),
    "lon": ("Longitude",),
    "lat": ("Latitude",),
    "location": ("Location",),
    "lsoa_code": ("LSOA code",),
    "crime_type": ("Crime type",),
    "outcome": ("Last outcome category",),
}
REQUIRED = ("crime_id", "month", "lon", "lat", "location", "crime_type")
# police.uk "Drugs" covers possession and supply; without the detail, possession is the
# honest reading (supply is recorded as intelligence or from visits).
CATEGORIES = {
    "Anti-social behaviour": "asb",
    "Violence and sexual offences": "violence",
    "Violent crime": "violence",  # the label before May 2013
    "Drugs": "drug_possession",
    "Possession of weapons": "weapons",
    "Burglary": "burglary",
    "Robbery": "robbery",
}
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
LSOA = re.compile(r"^[EW]0[01]\d{6}$")
NO_LOCATION = "no location"
TABLE_COLUMNS = (
    "source",
    "source_ref",
    "kind",
    "category",
    "crime_type",
    "occurred_at",
    "time_precision",
    "location_text",
    "lsoa_code",
    "outcome",
    "area_id",
    "geom",
)


def parse(paths: Sequence[Path], progress: Progress | None = None) -> Batch:
    batch = Batch("police-uk", [str(p) for p in paths])
    crime_ids: dict[str, Origin] = {}
    for path in paths:
        header, rows = csv_with_header(path)
        cols = header_index(path, header, COLUMNS, REQUIRED)
        identical: Counter[str] = Counter()
        for line, fields in rows:
            origin = Origin(path.name, line)
            width = len(header)
            each_row(batch, origin, _row, batch, fields, width, cols, origin, crime_ids, identical)
            progress_every(progress, path, batch.read)
        if progress:
            progress(f"{path.name}: {batch.read} rows read so far")
    locate(batch, geo.WGS84)
    point_geoms(batch)
    return batch


def _row(
    batch: Batch,
    fields: list[str],
    width: int,
    cols: dict[str, int],
    origin: Origin,
    crime_ids: dict[str, Origin],
    identical: Counter[str],
) -> Record | None:
    if len(fields) != width:
        raise RowRejected(f"expected {width} fields, found {len(fields)} (malformed CSV row)")

    def get(name: str) -> str | None:
        return text_value(fields[cols[name]]) if name in cols else None

    # The ordinal counts every row with the same identity, good or bad, so fixing a bad row
    # later never renumbers its neighbours.
    identity = "\x1f".join(fields[cols[c]].strip() for c in sorted(cols) if c != "outcome")
    identical[identity] += 1
    ordinal = identical[identity]
    location = get("location")
    lon_text, lat_text = get("lon"), get("lat")
    if lon_text is None and lat_text is None and (location or "").lower() == NO_LOCATION:
        batch.skips.append(RowError(origin, "police.uk 'No Location' row: no map position"))
        return None
    lon, lat = number(lon_text, "Longitude"), number(lat_text, "Latitude")
    month = get("month")
    if month is None:
        raise RowRejected("Month is empty")
    matched = MONTH.match(month)
    if matched is None:
        raise RowRejected(f"Month {month!r} is not YYYY-MM")
    crime_type = get("crime_type")
    if crime_type is None:
        raise RowRejected("Crime type is empty")
    lsoa = get("lsoa_code")
    if lsoa is not None and not LSOA.match(lsoa):
        raise RowRejected(f"LSOA code {lsoa!r} is not an LSOA code (E01... or W01...)")
    crime_id = get("crime_id")
    if crime_id is not None:
        first_seen(crime_ids, crime_id, origin, "Crime ID")
        source_ref = crime_id
    else:
        digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
        source_ref = f"row:{digest}:{ordinal}"
    values = {
        "source": SOURCE,
        "source_ref": source_ref,
        "kind": "incident",
        "category": CATEGORIES.get(crime_type, "other_crime"),
        "crime_type": crime_type,
        "occurred_at": datetime(int(matched[1]), int(matched[2]), 1, tzinfo=UTC),
        "time_precision": "month",
        "location_text": location,
        "lsoa_code": lsoa,
        "outcome": get("outcome"),
    }
    return Record(origin, values, xy=(lon, lat))


def load(conn: Connection, batch: Batch, *, skip_bad: bool = False) -> ImportReport:
    ensure_acceptable(batch, skip_bad)
    assign_areas(conn, batch)
    counts = write(conn, batch, "incidents", TABLE_COLUMNS, ("source", "source_ref"))
    return ImportReport.of(batch, counts)


def import_files(
    conn: Connection, paths: Sequence[Path], *, skip_bad: bool = False
) -> ImportReport:
    return load(conn, parse(paths), skip_bad=skip_bad)
