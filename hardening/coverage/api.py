"""`/v1/coverage` and `/v1/plans` (mounted by the lead with prefix /v1)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from hardening.api.deps import ConnDep
from hardening.coverage.cctv import CctvParams
from hardening.coverage.plans import compare_plans, get_plan, list_plans
from hardening.coverage.report import coverage_report
from hardening.jobs.api import ACCEPTED, accepted
from hardening.known import require_area
from hardening.models import MAX_ID, InputModel

router = APIRouter(tags=["coverage"])


@router.get("/coverage")
def coverage(
    conn: ConnDep,
    area: Annotated[str, Query(pattern="^[a-z0-9-]+$")],
    visibility: bool = True,
) -> dict[str, Any]:
    """Coverage of an area by its working CCTV, what each faulty camera's repair restores, and
    uncovered homes per 250 m square. Disclosure-controlled: a household count under 10 is
    null, and so is every figure derived from it (a repair's `restored_weight` and
    `restored_share` with its `restored_households`; `covered` weight and shares unless both
    the covered and the uncovered homes are publishable)."""
    return coverage_report(conn, area, visibility=visibility)


class CctvPlanIn(InputModel):
    area: str = Field(pattern="^[a-z0-9-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    new_sites: int | None = Field(default=None, ge=0, le=500)
    budget: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    spacing_m: float = Field(default=60.0, ge=10, le=1000, allow_inf_nan=False)
    range_m: float = Field(default=60.0, ge=1, le=1000, allow_inf_nan=False)
    fov_deg: float = Field(default=360.0, ge=1, le=360, allow_inf_nan=False)
    backup_weight: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    time_limit_s: float = Field(default=30.0, ge=0.1, le=300, allow_inf_nan=False)


class AnprPlanIn(InputModel):
    area: str = Field(pattern="^[a-z0-9-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    new_sites: int = Field(default=5, ge=0, le=500)
    destinations: int = Field(default=20, ge=1, le=500)
    time_limit_s: float = Field(default=30.0, ge=0.1, le=300, allow_inf_nan=False)


@router.post("/plans/cctv", status_code=202, responses=ACCEPTED)
def new_cctv_plan(
    conn: ConnDep, request: Request, response: Response, body: CctvPlanIn
) -> dict[str, Any]:
    """Best new CCTV sites, as a job (202; follow its URL): its result is the plan.
    Disclosure-controlled like `/coverage`: a site's `adds_share` is null with its
    `adds_households`; `coverage_before`, `coverage_after`, `objective`, `bound` and
    `greedy.objective` are null when they would speak of fewer than 10 homes. With `name`,
    the plan is saved and the result carries its `plan_id`."""
    require_area(conn, body.area)
    params = CctvParams(
        body.new_sites,
        body.budget,
        body.spacing_m,
        body.range_m,
        body.fov_deg,
        backup_weight=body.backup_weight,
        time_limit_s=body.time_limit_s,
    )
    job = {"area": body.area, "name": body.name, **asdict(params)}
    return accepted(conn, request, response, "cctv_plan", job)


@router.post("/plans/anpr", status_code=202, responses=ACCEPTED)
def new_anpr_plan(
    conn: ConnDep, request: Request, response: Response, body: AnprPlanIn
) -> dict[str, Any]:
    """Best new ANPR sites on the roads, as a job (202; follow its URL)."""
    require_area(conn, body.area)
    return accepted(conn, request, response, "anpr_plan", body.model_dump())


@router.get("/plans")
def plans(conn: ConnDep, area: str | None = None) -> list[dict[str, Any]]:
    return [p.as_dict() for p in list_plans(conn, area)]


PlanIdQ = Annotated[int, Query(gt=0, le=MAX_ID, description="A saved plan's id")]


@router.get("/plans/compare")
def compare(conn: ConnDep, a: PlanIdQ, b: PlanIdQ) -> dict[str, Any]:
    return compare_plans(conn, a, b).as_dict()


# `:int` so that GET /plans/cctv is a 405 (POST only there), not a plan id that fails to parse.
@router.get("/plans/{plan_id:int}")
def plan(conn: ConnDep, plan_id: Annotated[int, Path(gt=0, le=MAX_ID)]) -> dict[str, Any]:
    return get_plan(conn, plan_id).as_dict()
