"""`/v1/reports/kpi`: the yearly indicators after disclosure control, as the caller.
Mounted by the lead with `app.include_router(router, prefix="/v1")`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Connection, text

from hardening.api.deps import TokenDep
from hardening.api.heavy import HeavyDep
from hardening.db.engine import Actor
from hardening.errors import PermissionDeniedError
from hardening.reports.kpi import compute
from hardening.reports.publish import publish

router = APIRouter(prefix="/reports", tags=["reports"])


def get_kpi(conn: Connection, year: int, area: str | None = None) -> dict[str, Any]:
    """Published figures only (small counts suppressed); the caller's RLS view is counted,
    so a partner gets figures over what it may see, never more."""
    allowed = conn.execute(
        text("SELECT app_is_system() OR app_may('{analyst,admin,visit_team}', 'visits')")
    ).scalar_one()
    if not allowed:
        raise PermissionDeniedError(
            "the yearly report is for police analysts, admins and visit teams"
        )
    return publish(compute(conn, year, area))


# name= keeps the operation id the route had when the function above was the route.
@router.get("/kpi", name="get_kpi")
def kpi_route(
    heavy: HeavyDep,
    token: TokenDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    area: Annotated[str | None, Query(pattern=r"^[a-z0-9-]+$")] = None,
) -> dict[str, Any]:
    """Published figures only (small counts suppressed); the caller's RLS view is counted,
    so a partner gets figures over what it may see, never more. Heavy work (the database
    counts a year): its own connection budget, 503 with Retry-After when over it."""

    def read(conn: Connection, actor: Actor) -> dict[str, Any]:
        return get_kpi(conn, year, area)

    return heavy.run(token, read, lambda report: report)
