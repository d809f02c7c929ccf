"""Recording and reading visits. One call records a visit and its whole support package in
the caller's transaction, so a failure anywhere leaves nothing behind."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError, PermissionDeniedError, UserInputError
from hardening.known import require_area
from hardening.models import Result
from hardening.security import access, audit
from hardening.visits.markers_bridge import create_marker
from hardening.visits.models import VisitInput
from hardening.visits.rescore import Status, after_visit


@dataclass
class RecordedVisit(Result):
    visit_id: int
    area_id: str | None
    marker_id: int | None = None
    plan_id: int | None = None
    referral_ids: list[int] = field(default_factory=list)
    rescore: Status = "not_needed"  # the address's risk score: see visits/rescore.py
    rescored: int | None = None  # addresses re-scored


@dataclass(frozen=True)
class Visit(Result):
    """A visit as read (VISIT_COLUMNS, in that order)."""

    visit_id: int
    area_id: str | None
    uprn: int
    full_address: str | None
    visited_on: date
    team_org_id: str
    team_user_ids: list[int]
    subject_ref: str
    subject_type: str
    signs: list[str]
    occupant_vulnerable: bool
    calling_card: bool
    outcome: str | None
    intelligence_count: int
    intelligence_grading: str | None


@dataclass(frozen=True)
class VisitDetail(Visit):
    """One visit with what it put in place."""

    kit: dict[str, int]
    marker_ids: list[int] | None
    plan_ids: list[int] | None
    referrals: list[dict[str, Any]]  # referral_id, partner_org_id, service, status


def _team_org(conn: Connection, user_ids: list[int]) -> str:
    """The team's organisation: every member must be an active user of the same one, and it
    must be the actor's own when the actor has one."""
    rows = conn.execute(
        text(
            "SELECT user_id, org_id, active FROM users WHERE user_id = ANY(:ids) "
            "AND (app_org_id() IS NULL OR org_id = app_org_id())"
        ),
        {"ids": user_ids},
    ).all()
    found = {r.user_id for r in rows if r.active}
    missing = sorted(set(user_ids) - found)
    if missing:
        raise UserInputError(f"team members not found among your organisation's users: {missing}")
    orgs = {r.org_id for r in rows}
    if len(orgs) != 1:
        raise UserInputError("the team's members belong to different organisations")
    return str(orgs.pop())


def _check_dates(visit: VisitInput, today: date) -> None:
    if visit.visited_on > today:
        raise UserInputError(f"the visit date {visit.visited_on} is in the future")
    for label, due in (
        ("marker review", visit.marker.review_due if visit.marker else None),
        (
            "protection plan review",
            visit.protection_plan.review_due if visit.protection_plan else None,
        ),
    ):
        if due is not None and due <= visit.visited_on:
            raise UserInputError(f"the {label} date must be after the visit")


def may_record(conn: Connection) -> bool:
    """Whether the actor may record visits: the visits policy's WITH CHECK, asked up front."""
    return access.may(conn, "app_writes_visits")


def record_visit(conn: Connection, visit: VisitInput, today: date | None = None) -> RecordedVisit:
    """Insert the visit, then each part of its support package, with one audit row each; then
    re-score the address when the risk model reads what the visit recorded."""
    today = today or date.today()
    _check_dates(visit, today)
    if not may_record(conn):  # the same rule as the visits policy's WITH CHECK, said clearly
        raise PermissionDeniedError(
            "recording visits needs the visit_team role and a visits agreement"
        )
    area = conn.execute(
        text("SELECT area_id FROM addresses WHERE uprn = :u"), {"u": visit.uprn}
    ).one_or_none()
    if area is None:
        raise NotFoundError(f"address {visit.uprn} not found (or not in your areas)")
    team_org = _team_org(conn, visit.team_user_ids)
    partners = {r.partner_org_id for r in visit.referrals}
    if partners:
        known = set(
            conn.execute(
                text("SELECT org_id FROM organisations WHERE org_id = ANY(:ids)"),
                {"ids": list(partners)},
            ).scalars()
        )
        if partners - known:
            raise UserInputError(f"unknown partner organisations: {sorted(partners - known)}")
    visit_id: int = conn.execute(
        text(
            "INSERT INTO visits (area_id, uprn, visited_on, team_org_id, team_user_ids, "
            "subject_ref, subject_type, signs, occupant_vulnerable, calling_card, outcome, "
            "intelligence_count, intelligence_grading, created_by) VALUES (:area, :uprn, :day, "
            ":org, :team, :subject, :stype, :signs, :vuln, :card, :outcome, :intel, :grading, "
            "app_user_id()) RETURNING visit_id"
        ),
        {
            "area": area.area_id,
            "uprn": visit.uprn,
            "day": visit.visited_on,
            "org": team_org,
            "team": sorted(set(visit.team_user_ids)),
            "subject": visit.subject_ref,
            "stype": visit.subject_type,
            "signs": sorted(set(visit.signs)),
            "vuln": visit.occupant_vulnerable,
            "card": visit.calling_card,
            "outcome": visit.outcome,
            "intel": visit.intelligence_count,
            "grading": visit.intelligence_grading,
        },
    ).scalar_one()
    audit.record(
        conn,
        "collection",
        "visit",
        visit_id,
        details={"uprn": visit.uprn, "package": _package(visit)},
    )
    out = RecordedVisit(visit_id, area.area_id)
    if visit.marker is not None:
        out.marker_id = create_marker(conn, visit.uprn, visit_id, visit.marker)
    if visit.protection_plan is not None:
        out.plan_id = _add_plan(conn, visit, visit_id, area.area_id)
    for referral in visit.referrals:
        referral_id: int = conn.execute(
            text(
                "INSERT INTO referrals (visit_id, partner_org_id, service, made_on, area_id) "
                "VALUES (:v, :p, :s, :d, :a) RETURNING referral_id"
            ),
            {
                "v": visit_id,
                "p": referral.partner_org_id,
                "s": referral.service,
                "d": visit.visited_on,
                "a": area.area_id,
            },
        ).scalar_one()
        audit.record(
            conn,
            "collection",
            "referral",
            referral_id,
            recipient=referral.partner_org_id,
            details={"visit_id": visit_id, "service": referral.service},
        )
        out.referral_ids.append(referral_id)
    if visit.kit:
        conn.execute(
            text(
                "INSERT INTO harm_reduction_items (visit_id, item, quantity) "
                "SELECT :v, key, value::int FROM jsonb_each_text(CAST(:kit AS jsonb))"
            ),
            {"v": visit_id, "kit": json.dumps(visit.kit)},
        )
    out.rescore, out.rescored = after_visit(conn, visit_id, visit, today)
    return out


def _package(visit: VisitInput) -> list[str]:
    parts = ["calling_card"] if visit.calling_card else []
    parts += ["marker"] if visit.marker else []
    parts += ["protection_plan"] if visit.protection_plan else []
    parts += [f"referral:{r.service}" for r in visit.referrals]
    parts += [f"kit:{k}" for k in sorted(visit.kit)]
    return parts


def _add_plan(conn: Connection, visit: VisitInput, visit_id: int, area_id: str | None) -> int:
    assert visit.protection_plan is not None
    plan_id: int = conn.execute(
        text(
            "INSERT INTO protection_plans (visit_id, uprn, subject_ref, visit_cadence_days, "
            "review_due, area_id) VALUES (:v, :u, :s, :c, :r, :a) RETURNING plan_id"
        ),
        {
            "v": visit_id,
            "u": visit.uprn,
            "s": visit.subject_ref,
            "c": visit.protection_plan.visit_cadence_days,
            "r": visit.protection_plan.review_due,
            "a": area_id,
        },
    ).scalar_one()
    audit.record(conn, "collection", "protection_plan", plan_id, details={"visit_id": visit_id})
    return plan_id


VISIT_COLUMNS = (
    "v.visit_id, v.area_id, v.uprn, a.full_address, v.visited_on, v.team_org_id, "
    "v.team_user_ids, v.subject_ref, v.subject_type, v.signs, v.occupant_vulnerable, "
    "v.calling_card, v.outcome, v.intelligence_count, v.intelligence_grading"
)


def get_visit(conn: Connection, visit_id: int, reason: str | None) -> VisitDetail:
    """One visit with its package; writes exactly one consultation row."""
    why = audit.reason_for(conn, reason)
    row = conn.execute(
        text(
            f"SELECT {VISIT_COLUMNS}, "
            "(SELECT coalesce(jsonb_object_agg(item, quantity), '{}') FROM harm_reduction_items h "
            " WHERE h.visit_id = v.visit_id) AS kit, "
            "(SELECT array_agg(marker_id) FROM safe_markers m WHERE m.visit_id = v.visit_id) "
            "  AS marker_ids, "
            "(SELECT array_agg(plan_id) FROM protection_plans p WHERE p.visit_id = v.visit_id) "
            "  AS plan_ids, "
            "(SELECT coalesce(jsonb_agg(jsonb_build_object('referral_id', r.referral_id, "
            "  'partner_org_id', r.partner_org_id, 'service', r.service, 'status', r.status) "
            "  ORDER BY r.referral_id), '[]') FROM referrals r WHERE r.visit_id = v.visit_id) "
            "  AS referrals "
            "FROM visits v JOIN addresses a USING (uprn) WHERE v.visit_id = :id"
        ),
        {"id": visit_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"visit {visit_id} not found (or not yours to see)")
    audit.record(conn, "consultation", "visit", visit_id, justification=why)
    return VisitDetail(**row._mapping)


def list_visits(
    conn: Connection,
    reason: str | None,
    area: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
) -> list[Visit]:
    """Visits the actor may see, newest first; one consultation row for the whole list."""
    why = audit.reason_for(conn, reason)
    if not 1 <= limit <= 5000:
        raise UserInputError("limit must be between 1 and 5000")
    require_area(conn, area)
    rows = conn.execute(
        text(
            f"SELECT {VISIT_COLUMNS} FROM visits v JOIN addresses a USING (uprn) "
            "WHERE (CAST(:area AS text) IS NULL OR v.area_id = :area) "
            "AND (CAST(:since AS date) IS NULL OR v.visited_on >= :since) "
            "AND (CAST(:until AS date) IS NULL OR v.visited_on <= :until) "
            "ORDER BY v.visited_on DESC, v.visit_id DESC LIMIT :limit"
        ),
        {"area": area, "since": since, "until": until, "limit": limit},
    ).all()
    audit.record(
        conn,
        "consultation",
        "visit",
        None,
        justification=why,
        details={"count": len(rows), "area": area, "visit_ids": [r.visit_id for r in rows][:200]},
    )
    return [Visit(**r._mapping) for r in rows]
