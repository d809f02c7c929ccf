"""SAFE marker lifecycle: create (on an address or a whole block), review (retain with a reason
and a new review date), revoke; each audited, each guarded by the version the caller read.

A marker's state on a day is derived, never stored: revoked, expired (its expiry date has
come), review due (active, but its review date has come), or active.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hardening.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UserInputError,
)
from hardening.known import require_area
from hardening.markers.records import (
    MAX_LIST,
    REASONS,
    SCOPES,
    SELECT_MARKERS,
    STATES,
    Marker,
    Review,
    as_marker,
    fetch,
    require_police,
    reviews_of,
)
from hardening.markers.settings import MarkerSettings, get_marker_settings
from hardening.security import access, audit


def _require_writer(conn: Connection) -> None:
    if not access.may(conn, "app_writes_markers"):
        raise PermissionDeniedError("only visit teams and admins create, review or revoke markers")


def _write(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Run a write; row-level security refusing it is a permission error, not a 500."""
    try:
        return conn.execute(text(sql), params)
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if state == "42501":
            raise PermissionDeniedError(
                "your organisation's sharing agreement does not cover markers in this area"
            ) from exc
        if state == "23503":
            raise UserInputError("unknown organisation, visit or address") from exc
        raise


def _reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if len(cleaned) < 3:
        raise UserInputError("a reason is required (at least 3 characters)")
    return audit.check_text(cleaned)


def _future(day: date, today: date, what: str) -> date:
    if day <= today:
        raise UserInputError(f"the {what} must be after today ({today.isoformat()})")
    return day


def create_marker(
    conn: Connection,
    *,
    uprn: int,
    scope: str,
    reason_category: str,
    grading_advice: str,
    review_due: date | None = None,
    expires_on: date | None = None,
    visit_id: int | None = None,
    org_id: str | None = None,
    today: date | None = None,
    settings: MarkerSettings | None = None,
) -> Marker:
    """Put a marker on an address, or (scope 'block') on the block it is in or that it is."""
    settings = settings or get_marker_settings()
    today = today or date.today()
    if scope not in SCOPES:
        raise UserInputError(f"scope must be one of {', '.join(SCOPES)}")
    if reason_category not in REASONS:
        raise UserInputError(f"reason category must be one of {', '.join(REASONS)}")
    advice = (grading_advice or "").strip()
    if not 3 <= len(advice) <= 2000:
        raise UserInputError("grading advice must be 3 to 2,000 characters")
    _require_writer(conn)
    address = conn.execute(
        text(
            "SELECT a.uprn, a.parent_uprn, a.property_type, EXISTS (SELECT 1 FROM addresses c "
            "WHERE c.parent_uprn = a.uprn) AS has_flats FROM addresses a WHERE a.uprn = :u"
        ),
        {"u": uprn},
    ).first()
    if address is None:
        raise NotFoundError(f"no address with UPRN {uprn}")
    target = uprn
    if scope == "block":
        if address.parent_uprn is not None:
            target = address.parent_uprn
        elif not (address.has_flats or address.property_type == "block"):
            raise UserInputError(f"UPRN {uprn} is neither a block nor a flat in one")
    due = _future(review_due or today + timedelta(days=settings.review_days), today, "review")
    if expires_on is not None:
        _future(expires_on, today, "expiry date")
    organisation = conn.execute(
        text("SELECT coalesce(app_org_id(), CAST(:org AS text))"), {"org": org_id}
    ).scalar_one()
    if organisation is None:
        raise UserInputError("acting as the system: give the organisation the marker is for")
    if (
        visit_id is not None
        and conn.execute(text("SELECT 1 FROM visits WHERE visit_id = :v"), {"v": visit_id}).first()
        is None
    ):
        raise NotFoundError(f"no visit {visit_id}")
    marker_id = _write(
        conn,
        "INSERT INTO safe_markers (uprn, scope, reason_category, grading_advice, org_id, "
        "author_user_id, visit_id, review_due, expires_on, area_id) VALUES (:uprn, :scope, "
        ":reason, :advice, :org, app_user_id(), :visit, :due, :expires, "
        "(SELECT area_id FROM addresses WHERE uprn = :uprn)) RETURNING marker_id",
        {
            "uprn": target,
            "scope": scope,
            "reason": reason_category,
            "advice": advice,
            "org": organisation,
            "visit": visit_id,
            "due": due,
            "expires": expires_on,
        },
    ).scalar_one()
    audit.record(
        conn,
        "collection",
        "safe_marker",
        marker_id,
        details={"uprn": target, "scope": scope, "reason_category": reason_category},
    )
    return fetch(conn, marker_id, today)


def _current(conn: Connection, marker_id: int, version: int) -> Any:
    row = conn.execute(
        text("SELECT status, version, expires_on FROM safe_markers WHERE marker_id = :id"),
        {"id": marker_id},
    ).first()
    if row is None:
        raise NotFoundError(f"no marker {marker_id}")
    if row.version != version:
        raise ConflictError(
            f"marker {marker_id} was changed since you read it (version {row.version}, "
            f"not {version}): reload it and try again"
        )
    if row.status == "revoked":
        raise ConflictError(f"marker {marker_id} is revoked; create a new one if needed")
    return row


def _bump(
    conn: Connection, marker_id: int, version: int, sql_set: str, params: dict[str, Any]
) -> None:
    changed = _write(
        conn,
        f"UPDATE safe_markers SET {sql_set}, version = version + 1 "
        "WHERE marker_id = :id AND version = :version AND status = 'active' RETURNING version",
        {"id": marker_id, "version": version, **params},
    ).first()
    if changed is None:  # someone else got there between our read and this write
        raise ConflictError(f"marker {marker_id} was changed meanwhile: reload it and try again")


def _decided(
    conn: Connection,
    marker_id: int,
    version: int,
    decision: Literal["retain", "revoke"],
    why: str,
    due: date | None,
    today: date | None,
) -> Marker:
    """Record a review decision (a retained marker's next review `due`) and its audit row;
    the marker as it now stands."""
    conn.execute(
        text(
            "INSERT INTO marker_reviews (marker_id, reviewed_by, decision, reason, "
            "new_review_due) VALUES (:id, app_user_id(), :decision, :reason, :due)"
        ),
        {"id": marker_id, "decision": decision, "reason": why, "due": due},
    )
    next_review = {} if due is None else {"next_review": due.isoformat()}
    details = {"decision": decision, **next_review, "version": version + 1}
    audit.record(conn, "alteration", "safe_marker", marker_id, why, details=details)
    return fetch(conn, marker_id, today)


def review_marker(
    conn: Connection,
    marker_id: int,
    *,
    version: int,
    reason: str,
    next_review: date | None = None,
    expires_on: date | None = None,
    today: date | None = None,
    settings: MarkerSettings | None = None,
) -> Marker:
    """Retain the marker: a reason, a new review date (default: the configured period) and,
    for a marker that has expired, a new expiry date."""
    settings = settings or get_marker_settings()
    today = today or date.today()
    why = _reason(reason)
    _require_writer(conn)
    current = _current(conn, marker_id, version)
    due = _future(next_review or today + timedelta(days=settings.review_days), today, "review")
    if expires_on is not None:
        _future(expires_on, today, "expiry date")
    elif current.expires_on is not None and current.expires_on <= today:
        raise ConflictError(
            f"marker {marker_id} expired on {current.expires_on.isoformat()}: give a new "
            "expiry date to retain it"
        )
    new_expiry = expires_on or current.expires_on
    params = {"due": due, "expires": new_expiry}
    _bump(conn, marker_id, version, "review_due = :due, expires_on = :expires", params)
    return _decided(conn, marker_id, version, "retain", why, due, today)


def revoke_marker(
    conn: Connection, marker_id: int, *, version: int, reason: str, today: date | None = None
) -> Marker:
    """Revoke the marker (it stays on record, no longer in force)."""
    why = _reason(reason)
    _require_writer(conn)
    _current(conn, marker_id, version)
    _bump(
        conn,
        marker_id,
        version,
        "status = 'revoked', revoked_at = now(), revoked_reason = :reason",
        {"reason": why},
    )
    return _decided(conn, marker_id, version, "revoke", why, None, today)


def get_marker(
    conn: Connection, marker_id: int, *, reason: str | None, on: date | None = None
) -> tuple[Marker, list[Review]]:
    """One marker with its review history; a reason is required and the look-up audited."""
    why = audit.reason_for(conn, reason)
    require_police(conn)
    marker = fetch(conn, marker_id, on)
    history = reviews_of(conn, [marker_id]).get(marker_id, [])
    audit.record(conn, "consultation", "safe_marker", marker_id, why)
    return marker, history


def list_markers(
    conn: Connection,
    *,
    reason: str | None,
    uprn: int | None = None,
    state: str | None = None,
    area_id: str | None = None,
    review_due_by: date | None = None,
    on: date | None = None,
    limit: int = 100,
) -> list[Marker]:
    """Markers the actor may see, filtered; a reason is required and the listing audited
    once (with the ids it returned)."""
    why = audit.reason_for(conn, reason)
    if state is not None and state not in STATES:
        raise UserInputError(f"state must be one of {', '.join(STATES)}")
    require_area(conn, area_id)
    if not 1 <= limit <= MAX_LIST:
        raise UserInputError(f"limit must be between 1 and {MAX_LIST}")
    require_police(conn)
    rows = conn.execute(
        text(
            f"{SELECT_MARKERS} WHERE (CAST(:uprn AS bigint) IS NULL OR m.uprn = :uprn) "
            "AND (CAST(:area AS text) IS NULL OR m.area_id = :area) "
            "AND (CAST(:due_by AS date) IS NULL OR m.review_due <= :due_by) "
            "AND (CAST(:state AS text) IS NULL OR marker_state(m.status, m.review_due, "
            "m.expires_on, CAST(:on AS date)) = :state) "
            "ORDER BY m.review_due, m.marker_id LIMIT :limit"
        ),
        {
            "uprn": uprn,
            "area": area_id,
            "due_by": review_due_by,
            "state": state,
            "on": on or date.today(),
            "limit": limit,
        },
    )
    markers = [as_marker(r) for r in rows]
    audit.record(
        conn,
        "consultation",
        "safe_marker",
        None,
        why,
        details={
            "listing": {"uprn": uprn, "state": state, "area_id": area_id},
            "marker_ids": [m.marker_id for m in markers],
        },
    )
    return markers


__all__ = [
    "MAX_LIST",
    "REASONS",
    "SCOPES",
    "STATES",
    "Marker",
    "Review",
    "create_marker",
    "fetch",
    "get_marker",
    "list_markers",
    "require_police",
    "review_marker",
    "reviews_of",
    "revoke_marker",
]
