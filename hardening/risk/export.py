"""Exports of stored scores: CSV or GeoJSON with id, x, y (WGS84), score, band, model version.

Rows stream from a server-side cursor and are written as they come, so a million scores never
sit in memory. Only what the actor may see is exported (row-level security). A score per address
is personal data drawn from intelligence and visits: exporting them needs a reason and writes one
audit consultation row with the number exported; postcode-unit scores (aggregates) need none.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, Literal, TextIO

from sqlalchemy import Connection, text

from hardening.known import require_area
from hardening.models import Feature, FeatureCollection
from hardening.risk.model import load
from hardening.risk.worktables import Units
from hardening.security import audit

Format = Literal["csv", "geojson"]
COLUMNS = ("id", "x", "y", "score", "band", "model_version", "computed_at")


def rows(
    conn: Connection, units: Units, area_id: str | None, model_version: str | None
) -> Iterator[tuple[Any, ...]]:
    model = load(conn, model_version, store=False)
    if units == "addresses":
        source = (
            "SELECT s.uprn::text AS id, a.geom, s.score, s.band, s.model_version, s.computed_at "
            "FROM risk_scores s JOIN addresses a USING (uprn) WHERE s.model_version = :m "
            "AND (CAST(:a AS text) IS NULL OR s.area_id = :a) ORDER BY s.uprn"
        )
    else:
        source = (
            "SELECT s.postcode AS id, p.geom, s.score, s.band, s.model_version, s.computed_at "
            "FROM risk_postcode_scores s JOIN postcode_units p USING (postcode) "
            "WHERE s.model_version = :m AND (CAST(:a AS text) IS NULL OR s.area_id = :a) "
            "ORDER BY s.postcode"
        )
    query = text(
        "SELECT id, round(ST_X(g)::numeric, 6)::float8, round(ST_Y(g)::numeric, 6)::float8, "
        "round(score::numeric, 4)::float8, band, model_version, computed_at FROM ("
        f"SELECT q.*, ST_Transform(q.geom, 4326) AS g FROM ({source}) q) r"
    )
    # per statement: Connection.execution_options would make every later statement stream
    streamed = query.execution_options(stream_results=True, yield_per=5000)
    result = conn.execute(streamed, {"m": model.version, "a": area_id})
    yield from (tuple(r) for r in result)


def write(
    conn: Connection,
    out: TextIO,
    fmt: Format,
    units: Units = "addresses",
    area_id: str | None = None,
    model_version: str | None = None,
    reason: str | None = None,
) -> int:
    """Write the export to out; returns the number of rows. Addresses need a reason (audited)."""
    why = audit.reason_for(conn, reason) if units == "addresses" else None
    require_area(conn, area_id)
    count = _write(conn, out, fmt, units, area_id, model_version)
    if why is not None:
        audit.record(
            conn, "consultation", "risk_scores", None, why,
            details={"export": fmt, "units": units, "area": area_id, "rows": count},
        )  # fmt: skip
    return count


def _write(
    conn: Connection,
    out: TextIO,
    fmt: Format,
    units: Units,
    area_id: str | None,
    model_version: str | None,
) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows(conn, units, area_id, model_version):
            writer.writerow([*row[:-1], row[-1].isoformat()])
            count += 1
        return count
    # The service's one GeoJSON model, streamed: its envelope around one Feature per row.
    head, tail = FeatureCollection(features=[]).model_dump_json().split("[]")
    out.write(head + "[")
    for row in rows(conn, units, area_id, model_version):
        feature = Feature(
            geometry={"type": "Point", "coordinates": [row[1], row[2]]},
            properties={
                "id": row[0],
                "score": row[3],
                "band": row[4],
                "model_version": row[5],
                "computed_at": row[6].isoformat(),
            },
        )
        out.write(("," if count else "") + "\n" + feature.model_dump_json())
        count += 1
    out.write("\n]" + tail + "\n")
    return count
