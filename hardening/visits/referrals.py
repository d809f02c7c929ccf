"""Referrals to partner organisations. Row-level security decides who sees what: visit teams
their areas' referrals, a partner only the referrals made to it (policy partner_own); the
control room and analysts may read their areas' referrals too.

Who moves a referral on is narrower (MOVE_RULE, the policies' WITH CHECK said up front): the
visit team (or an admin) with a visits agreement, or the partner it was made to. The control
room looks up markers and analysts report: neither moves referrals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from hardening.errors import ConflictError, NotFoundError, PermissionDeniedError, UserInputError
from hardening.known import require_area
from hardening.models import Result
from hardening.security import audit
from hardening.visits.models import REFERRAL_STATUSES, ReferralUpdate

# Forward only; a referral may close from any open state (declined, withdrawn, completed).
NEXT: dict[str, tuple[str, ...]] = {
    "made": ("accepted", "closed"),
    "accepted": ("engaged", "closed"),
    "engaged": ("closed",),
    "closed": (),
}

# Per referral row r; the actor's functions are scalar subqueries, computed once per query.
MOVE_RULE = (
    "((SELECT app_is_system()) OR (SELECT app_may('{visit_team,admin}', 'visits')) "
    "OR (r.partner_org_id = (SELECT app_org_id()) "
    "AND 'referrals' = ANY((SELECT app_classes())::text[])))"
)
REFUSED = "moving a referral on is for the visit team that made it or the partner it was made to"


@dataclass(frozen=True)
class Referral(Result):
    referral_id: int
    visit_id: int
    partner_org_id: str
    partner_name: str
    service: str
    status: str
    outcome: str | None
    made_on: date
    updated_at: datetime
    version: int
    area_id: str | None


@dataclass(frozen=True)
class MovedReferral(Result):
    """A referral after update_referral: its new status and the version to send next."""

    referral_id: int
    status: str
    outcome: str | None
    version: int


def movable(conn: Connection, referral_ids: list[int]) -> set[int]:
    """Which of these referrals the actor may move on (MOVE_RULE)."""
    rows = conn.execute(
        text(
            f"SELECT r.referral_id FROM referrals r WHERE r.referral_id = ANY(:ids) AND {MOVE_RULE}"
        ),
        {"ids": referral_ids},
    ).scalars()
    return {int(i) for i in rows}


def list_referrals(
    conn: Connection,
    reason: str | None,
    status: str | None = None,
    area: str | None = None,
    since: date | None = None,
) -> list[Referral]:
    """Referrals the actor may see, newest first; one consultation row for the list."""
    why = audit.reason_for(conn, reason)
    if status is not None and status not in REFERRAL_STATUSES:
        raise UserInputError(
            f"unknown status {status!r}; use one of {', '.join(REFERRAL_STATUSES)}"
        )
    require_area(conn, area)
    rows = conn.execute(
        text(
            "SELECT r.referral_id, r.visit_id, r.partner_org_id, o.name AS partner_name, "
            "r.service, r.status, r.outcome, r.made_on, r.updated_at, r.version, r.area_id "
            "FROM referrals r JOIN organisations o ON o.org_id = r.partner_org_id "
            "WHERE (CAST(:status AS text) IS NULL OR r.status = :status) "
            "AND (CAST(:area AS text) IS NULL OR r.area_id = :area) "
            "AND (CAST(:since AS date) IS NULL OR r.made_on >= :since) "
            "ORDER BY r.made_on DESC, r.referral_id DESC"
        ),
        {"status": status, "area": area, "since": since},
    ).all()
    audit.record(
        conn,
        "consultation",
        "referral",
        None,
        justification=why,
        details={"count": len(rows), "status": status, "area": area},
    )
    return [Referral(**r._mapping) for r in rows]


def update_referral(conn: Connection, referral_id: int, change: ReferralUpdate) -> MovedReferral:
    """Move a referral on (made -> accepted -> engaged -> closed) with optimistic locking."""
    current = conn.execute(
        text(
            f"SELECT r.status, r.version, {MOVE_RULE} AS may_move FROM referrals r "
            "WHERE r.referral_id = :id"
        ),
        {"id": referral_id},
    ).one_or_none()
    if current is None:
        raise NotFoundError(f"referral {referral_id} not found (or not made to you)")
    if not current.may_move:
        raise PermissionDeniedError(REFUSED)
    if current.version != change.version:
        raise ConflictError(
            f"referral {referral_id} changed since you read it (version {current.version}, "
            f"you sent {change.version}); reload and try again"
        )
    if change.status != current.status and change.status not in NEXT[current.status]:
        raise ConflictError(f"a referral cannot go from {current.status} to {change.status}")
    if change.status == "closed" and not (change.outcome or "").strip():
        raise UserInputError("closing a referral needs an outcome")
    row = conn.execute(
        text(
            "UPDATE referrals SET status = :status, outcome = coalesce(:outcome, outcome), "
            "updated_at = now(), version = version + 1 "
            "WHERE referral_id = :id AND version = :version "
            "RETURNING referral_id, status, outcome, version"
        ),
        {
            "status": change.status,
            "outcome": change.outcome,
            "id": referral_id,
            "version": change.version,
        },
    ).one_or_none()
    if row is None:  # a concurrent writer won between our read and write
        raise ConflictError(f"referral {referral_id} changed since you read it; reload")
    audit.record(
        conn,
        "alteration",
        "referral",
        referral_id,
        details={"from": current.status, "to": change.status},
    )
    return MovedReferral(**row._mapping)
