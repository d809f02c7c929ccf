"""County lines and their status histories. A line's status on a day is the latest history
entry on or before it; "active lines on a date" are those whose status then is active."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hardening.errors import ConflictError, NotFoundError, UserInputError
from hardening.known import require_area
from hardening.models import Result
from hardening.security import audit

LineStatus = Literal["active", "disrupted", "closed"]

STATUS_ON_SQL = """
SELECT l.line_id, l.name, l.area_id, l.origin, s.status, s.valid_from AS since, s.note
FROM county_lines l
JOIN LATERAL (
    SELECT status, valid_from, note FROM county_line_status cs
    WHERE cs.line_id = l.line_id AND cs.valid_from <= :day
    ORDER BY cs.valid_from DESC LIMIT 1
) s ON true
WHERE (CAST(:area AS text) IS NULL OR l.area_id = :area)
"""


@dataclass(frozen=True)
class LineOn(Result):
    """A line and its status on a day (STATUS_ON_SQL's columns)."""

    line_id: int
    name: str
    area_id: str | None
    origin: str | None
    status: LineStatus
    since: date
    note: str | None


@dataclass(frozen=True)
class LineHistory(Result):
    line_id: int
    name: str
    area_id: str | None
    origin: str | None
    first_seen: date | None
    last_seen: date | None
    history: list[dict[str, Any]]  # status, valid_from, note; oldest first
    incidents: list[dict[str, Any]]  # incident_id, category, occurred_at, kind


def lines_on(conn: Connection, day: date, area: str | None = None) -> list[LineOn]:
    """Every line known by `day` with its status then."""
    require_area(conn, area)
    rows = conn.execute(text(STATUS_ON_SQL + " ORDER BY l.name"), {"day": day, "area": area})
    return [LineOn(**r._mapping) for r in rows]


def active_lines_on(conn: Connection, day: date, area: str | None = None) -> list[LineOn]:
    return [line for line in lines_on(conn, day, area) if line.status == "active"]


def add_line(
    conn: Connection,
    name: str,
    area: str,
    first_seen: date,
    origin: str | None = None,
    note: str | None = None,
) -> int:
    """A new line, active from the day it was first seen."""
    if not 3 <= len(name.strip()) <= 100:
        raise UserInputError("a line's name must be 3 to 100 characters")
    require_area(conn, area)
    try:
        with conn.begin_nested():
            line_id: int = conn.execute(
                text(
                    "INSERT INTO county_lines (name, area_id, origin, first_seen, last_seen) "
                    "VALUES (:n, :a, :o, :d, :d) RETURNING line_id"
                ),
                {"n": name.strip(), "a": area, "o": origin, "d": first_seen},
            ).scalar_one()
    except IntegrityError as exc:
        raise UserInputError(f"cannot add line {name!r}: {exc.orig}") from exc
    conn.execute(
        text("INSERT INTO county_line_status VALUES (:l, 'active', :d, :note)"),
        {"l": line_id, "d": first_seen, "note": note or "First intelligence of the line"},
    )
    audit.record(conn, "collection", "county_line", line_id, details={"area": area})
    return line_id


def set_status(
    conn: Connection, line_id: int, status: LineStatus, valid_from: date, note: str | None = None
) -> None:
    """Append a status change; history is never rewritten, one change per line per day."""
    if status not in ("active", "disrupted", "closed"):
        raise UserInputError(f"unknown line status {status!r}")
    line = conn.execute(
        text("SELECT first_seen FROM county_lines WHERE line_id = :l"), {"l": line_id}
    ).one_or_none()
    if line is None:
        raise NotFoundError(f"county line {line_id} not found")
    if line.first_seen is not None and valid_from < line.first_seen:
        raise UserInputError(f"the line was first seen on {line.first_seen}")
    try:
        with conn.begin_nested():
            conn.execute(
                text("INSERT INTO county_line_status VALUES (:l, :s, :d, :n)"),
                {"l": line_id, "s": status, "d": valid_from, "n": note},
            )
    except IntegrityError as exc:
        raise ConflictError(f"line {line_id} already has a status change on {valid_from}") from exc
    conn.execute(
        text("UPDATE county_lines SET last_seen = greatest(last_seen, :d) WHERE line_id = :l"),
        {"l": line_id, "d": valid_from},
    )
    audit.record(
        conn,
        "alteration",
        "county_line",
        line_id,
        details={"status": status, "from": valid_from.isoformat()},
    )


def history(conn: Connection, line_id: int) -> LineHistory:
    """A line, its status history and its linked incidents."""
    line = conn.execute(
        text(
            "SELECT line_id, name, area_id, origin, first_seen, last_seen FROM county_lines "
            "WHERE line_id = :l"
        ),
        {"l": line_id},
    ).one_or_none()
    if line is None:
        raise NotFoundError(f"county line {line_id} not found")
    statuses = conn.execute(
        text(
            "SELECT status, valid_from, note FROM county_line_status WHERE line_id = :l "
            "ORDER BY valid_from"
        ),
        {"l": line_id},
    )
    incidents = conn.execute(
        text(
            "SELECT incident_id, category, occurred_at, kind FROM incidents "
            "WHERE county_line_id = :l ORDER BY occurred_at"
        ),
        {"l": line_id},
    )
    return LineHistory(
        **line._mapping,
        history=[dict(r._mapping) for r in statuses],
        incidents=[dict(r._mapping) for r in incidents],
    )


def link_incident(conn: Connection, line_id: int, incident_id: int) -> None:
    found = conn.execute(
        text(
            "UPDATE incidents SET county_line_id = :l WHERE incident_id = :i "
            "AND EXISTS (SELECT 1 FROM county_lines WHERE line_id = :l) RETURNING incident_id"
        ),
        {"l": line_id, "i": incident_id},
    ).one_or_none()
    if found is None:
        raise NotFoundError(f"incident {incident_id} or line {line_id} not found")
    audit.record(conn, "alteration", "incident", incident_id, details={"county_line_id": line_id})
