"""`/v1/reports/kpi`: the yearly indicators after disclosure control, as the caller.
Mounted by the lead with `app.include_router(router, prefix="/v1")`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import text

from hardening.api.deps import ConnDep
from hardening.errors import PermissionDeniedError
from hardening.reports.kpi import compute
from hardening.reports.publish import publish

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/kpi")
def get_kpi(
    conn: ConnDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    area: Annotated[str | None, Query(pattern=r"^[a-z0-9-]+$")] = None,
) -> dict[str, Any]:
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
