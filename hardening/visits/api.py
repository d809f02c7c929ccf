"""`/v1/visits`, `/v1/referrals` and `/v1/lines`: routes over the visits services, run as the
caller under row-level security. Mounted by the lead with
`app.include_router(router, prefix="/v1")`."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hardening.api.deps import ConnDep
from hardening.api.models import ErrorBody, IsoDate, IsoTime
from hardening.errors import UserInputError
from hardening.visits import lines as lines_mod
from hardening.visits.due import who_to_visit_next
from hardening.visits.models import ReferralUpdate, VisitInput
from hardening.visits.referrals import list_referrals, update_referral
from hardening.visits.route import TeamDay, day_list
from hardening.visits.service import get_visit, list_visits, record_visit

router = APIRouter(tags=["visits"])

# Required unless the token has a standing purpose (audit.reason_for): then a 400 without it.
Reason = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=500,
        description="Why (audited); a token with a standing purpose may leave it out.",
    ),
]
AreaQ = Annotated[str | None, Query(pattern=r"^[a-z0-9-]+$")]


@router.post("/visits", status_code=201)
def post_visit(conn: ConnDep, visit: VisitInput) -> dict[str, Any]:
    """Record a visit and its support package (marker, plan, referrals, kit) in one go. When
    the risk model reads it and the caller may not write scores, the system worker re-scores
    the address shortly after ("rescore": "deferred")."""
    return record_visit(conn, visit).as_dict()


@router.get("/visits")
def get_visits(
    conn: ConnDep,
    reason: Reason = None,
    area: AreaQ = None,
    since: IsoDate | None = None,
    until: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict[str, Any]]:
    return [v.as_dict() for v in list_visits(conn, reason, area, since, until, limit)]


@router.get(
    "/visits/due",
    responses={403: {"model": ErrorBody, "description": "The agreement does not cover visits"}},
)
def get_due(
    conn: ConnDep, reason: Reason = None, on: IsoDate | None = None, area: AreaQ = None
) -> list[dict[str, Any]]:
    """Who to visit next on a day (default today). Personal data: `reason` is required and the
    list is written to the audit log (a `visits_due` consultation naming the addresses and
    markers shown). For visit teams and police roles whose agreement covers visits (else 403);
    `marker_review_due` is listed only when the agreement also covers markers."""
    return [c.as_dict() for c in who_to_visit_next(conn, on or date.today(), area, reason=reason)]


@router.get(
    "/visits/route",
    responses={403: {"model": ErrorBody, "description": "The agreement does not cover visits"}},
)
def get_route(
    conn: ConnDep,
    reason: Reason = None,
    on: IsoDate | None = None,
    area: AreaQ = None,
    stops: Annotated[int, Query(ge=1, le=30)] = 8,
    base_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    base_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    start: IsoTime = time(9, 0),
    end: IsoTime = time(17, 0),
    visit_minutes: Annotated[int, Query(ge=10, le=240)] = 45,
    town: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> dict[str, Any]:
    """A team's day in one town (default: the most pressing case's): the most pressing due
    cases routed by the works scheduler from its base (default: the most pressing case), from
    now when the day is today, and the cases the day cannot hold with the reason. Read like
    `/visits/due`: `reason` required, one `visit_route` audit row, 403 without visits."""
    if (base_lon is None) != (base_lat is None):
        raise UserInputError("give both base_lon and base_lat, or neither")
    base = None if base_lon is None or base_lat is None else (base_lon, base_lat)
    team = TeamDay(start.hour * 60 + start.minute, end.hour * 60 + end.minute, visit_minutes, base)
    return day_list(conn, on or date.today(), area, stops, team, town=town, reason=reason).as_dict()


@router.get("/visits/{visit_id}")
def get_one_visit(conn: ConnDep, visit_id: int, reason: Reason = None) -> dict[str, Any]:
    return get_visit(conn, visit_id, reason).as_dict()


@router.get("/referrals")
def get_referrals(
    conn: ConnDep,
    reason: Reason = None,
    status: Annotated[str | None, Query(pattern=r"^(made|accepted|engaged|closed)$")] = None,
    area: AreaQ = None,
) -> list[dict[str, Any]]:
    """Referrals the caller may see: a partner sees only those made to it."""
    return [r.as_dict() for r in list_referrals(conn, reason, status, area)]


@router.patch("/referrals/{referral_id}")
def patch_referral(conn: ConnDep, referral_id: int, change: ReferralUpdate) -> dict[str, Any]:
    return update_referral(conn, referral_id, change).as_dict()


@router.get("/lines/active")
def get_active_lines(
    conn: ConnDep, on: IsoDate | None = None, area: AreaQ = None
) -> list[dict[str, Any]]:
    return [line.as_dict() for line in lines_mod.active_lines_on(conn, on or date.today(), area)]


@router.get("/lines/{line_id}")
def get_line(conn: ConnDep, line_id: int) -> dict[str, Any]:
    return lines_mod.history(conn, line_id).as_dict()
