"""Retention: markers, visits and protection plans carry review dates; a review retains (with a
reason and a new date) or deletes, and either way leaves a decision row and an audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError, UserInputError
from hardening.models import Result
from hardening.security import audit

ObjectType = Literal["safe_marker", "visit", "protection_plan"]


@dataclass(frozen=True)
class DueReview(Result):
    object_type: ObjectType
    object_id: int
    uprn: int | None
    review_due: date
    area_id: str | None


@dataclass(frozen=True)
class ReviewDecision(Result):
    object_type: ObjectType
    object_id: int
    decision: Literal["retain", "delete"]
    next_review: date | None


# table, id column, the rows that must go with it on erasure (child table, its key column)
_TABLES: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "safe_marker": ("safe_markers", "marker_id", (("marker_reviews", "marker_id"),)),
    "protection_plan": ("protection_plans", "plan_id", ()),
    "visit": (
        "visits",
        "visit_id",
        (
            ("harm_reduction_items", "visit_id"),
            ("referrals", "visit_id"),
            ("protection_plans", "visit_id"),
        ),
    ),
}

_DUE_SQL = text("""
    SELECT 'safe_marker' AS object_type, marker_id AS object_id, uprn, review_due, area_id
      FROM safe_markers WHERE status = 'active' AND review_due <= :on
    UNION ALL
    SELECT 'visit', visit_id, uprn, review_due, area_id
      FROM visits WHERE review_due <= :on
    UNION ALL
    SELECT 'protection_plan', plan_id, uprn, review_due, area_id
      FROM protection_plans WHERE status = 'active' AND review_due <= :on
    ORDER BY review_due, object_type, object_id
""")


def due(conn: Connection, on: date) -> list[DueReview]:
    """What the actor may see that is due (or overdue) for review on a date."""
    return [DueReview(**row) for row in conn.execute(_DUE_SQL, {"on": on}).mappings()]


def decide(
    conn: Connection,
    object_type: ObjectType,
    object_id: int,
    reason: str,
    retain_until: date | None,
) -> ReviewDecision:
    """Retain until a new review date, or (retain_until None) delete the record."""
    if object_type not in _TABLES:
        raise UserInputError(f"object type must be one of {', '.join(_TABLES)}")
    reason = audit.require_reason(reason)
    table, key, children = _TABLES[object_type]
    row = conn.execute(
        text(f"SELECT area_id FROM {table} WHERE {key} = :id"), {"id": object_id}
    ).first()
    if row is None:
        raise NotFoundError(f"no {object_type} {object_id}")
    if retain_until is not None and retain_until <= date.today():
        raise UserInputError("the next review date must be in the future")
    decision: Literal["retain", "delete"] = "retain" if retain_until is not None else "delete"
    conn.execute(
        text(
            "INSERT INTO review_decisions (object_type, object_id, decision, reason, next_review,"
            " decided_by, area_id) VALUES (:t, :id, :d, :r, :next, app_user_id(), :area)"
        ),
        {
            "t": object_type,
            "id": object_id,
            "d": decision,
            "r": reason,
            "next": retain_until,
            "area": row.area_id,
        },
    )
    if retain_until is not None:
        conn.execute(
            text(f"UPDATE {table} SET review_due = :next WHERE {key} = :id"),
            {"next": retain_until, "id": object_id},
        )
        audit.record(
            conn,
            "alteration",
            object_type,
            object_id,
            reason,
            details={"review": "retain", "next_review": retain_until.isoformat()},
        )
    else:
        if object_type == "visit":
            conn.execute(
                text("UPDATE safe_markers SET visit_id = NULL WHERE visit_id = :id"),
                {"id": object_id},
            )
        for child, child_key in children:
            conn.execute(text(f"DELETE FROM {child} WHERE {child_key} = :id"), {"id": object_id})
        conn.execute(text(f"DELETE FROM {table} WHERE {key} = :id"), {"id": object_id})
        audit.record(conn, "erasure", object_type, object_id, reason)
    return ReviewDecision(object_type, object_id, decision, retain_until)
