"""`/v1/reports/kpi`: the yearly indicators after disclosure control, as the caller, as a job.
Mounted by the lead with `app.include_router(router, prefix="/v1")`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hardening.api.deps import ConnDep
from hardening.jobs.api import ACCEPTED, accepted
from hardening.known import require_area
from hardening.reports.publish import require_kpi_reader

router = APIRouter(prefix="/reports", tags=["reports"])


# name= keeps the operation id the route has had from the start.
@router.get("/kpi", name="get_kpi", status_code=202, responses=ACCEPTED)
def kpi_route(
    conn: ConnDep,
    request: Request,
    response: Response,
    year: Annotated[int, Query(ge=2000, le=2100)],
    area: Annotated[str | None, Query(pattern=r"^[a-z0-9-]+$")] = None,
) -> dict[str, Any]:
    """The yearly report as a job (202; follow its URL): published figures only (small counts
    suppressed); the caller's RLS view is counted, so a partner gets figures over what it may
    see, never more. Refused at once (403) to roles the report is not for."""
    require_area(conn, area)
    require_kpi_reader(conn)
    return accepted(conn, request, response, "kpi_report", {"year": year, "area": area})
