"""SAFE markers as read: the record, its review history, its state on a day, and who may see
markers at all. The lifecycle (create, review, revoke) is in service.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError, PermissionDeniedError
from hardening.models import Result
from hardening.security import access

MarkerReason = Literal[
    "cuckooing",
    "exploitation",
    "threat_to_life",
    "vulnerable_occupant",
    "drug_supply",
    "weapons",
    "other",
]
REASONS: Final = get_args(MarkerReason)  # the schema's CHECK on safe_markers holds the same
BY_SEVERITY: Final[tuple[MarkerReason, ...]] = (  # the most dangerous first, as listed to operators
    "threat_to_life", "weapons", "cuckooing", "drug_supply", "exploitation",
    "vulnerable_occupant", "other",
)  # fmt: skip
SCOPES: Final = ("address", "block")
STATES: Final = ("active", "review_due", "expired", "revoked")
MAX_LIST: Final = 1000
State = Literal["active", "review_due", "expired", "revoked"]

MARKER_COLUMNS: Final = """m.marker_id, m.uprn, a.full_address, m.scope, m.reason_category,
    m.grading_advice, m.org_id, m.author_user_id, m.visit_id, m.created_at, m.review_due,
    m.expires_on, m.status, marker_state(m.status, m.review_due, m.expires_on, CAST(:on AS date))
    AS state, m.revoked_at, m.revoked_reason, m.version, m.area_id"""
SELECT_MARKERS = (
    f"SELECT {MARKER_COLUMNS} FROM safe_markers m LEFT JOIN addresses a ON a.uprn = m.uprn"
)


@dataclass(frozen=True)
class Review(Result):
    review_id: int
    marker_id: int
    reviewed_by: int | None
    reviewed_at: datetime
    decision: str
    reason: str
    new_review_due: date | None


@dataclass(frozen=True)
class Marker(Result):
    marker_id: int
    uprn: int
    full_address: str | None
    scope: str
    reason_category: str
    grading_advice: str
    org_id: str
    author_user_id: int | None
    visit_id: int | None
    created_at: datetime
    review_due: date
    expires_on: date | None
    status: str
    state: State
    revoked_at: datetime | None
    revoked_reason: str | None
    version: int
    area_id: str | None


def require_police(conn: Connection) -> None:
    """Markers, look-ups and their advice are for police roles whose agreement covers markers
    (control room, visit team, analyst, admin); partners get a 403, not an empty answer."""
    if not access.may(conn, "app_reads_markers"):
        raise PermissionDeniedError(
            "SAFE markers are for police roles whose sharing agreement covers markers"
        )


def as_marker(row: Any) -> Marker:
    return Marker(**row._mapping)


def fetch(conn: Connection, marker_id: int, on: date | None = None) -> Marker:
    """The marker as the actor may see it (no audit: for callers that audit themselves)."""
    row = conn.execute(
        text(f"{SELECT_MARKERS} WHERE m.marker_id = :id"),
        {"id": marker_id, "on": on or date.today()},
    ).first()
    if row is None:
        raise NotFoundError(f"no marker {marker_id}")
    return as_marker(row)


def reviews_of(conn: Connection, marker_ids: list[int]) -> dict[int, list[Review]]:
    """Review history (oldest first) of markers the actor may see (no audit)."""
    if not marker_ids:
        return {}
    rows = conn.execute(
        text(
            "SELECT review_id, marker_id, reviewed_by, reviewed_at, decision, reason, "
            "new_review_due FROM marker_reviews WHERE marker_id = ANY(:ids) "
            "ORDER BY marker_id, reviewed_at, review_id"
        ),
        {"ids": marker_ids},
    )
    out: dict[int, list[Review]] = defaultdict(list)
    for row in rows:
        out[row.marker_id].append(Review(**row._mapping))
    return dict(out)
