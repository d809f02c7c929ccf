"""`/v1/coverage` and `/v1/plans` (mounted by the lead with prefix /v1)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field
from sqlalchemy import Connection

from hardening.api.deps import ConnDep, TokenDep
from hardening.api.heavy import HeavyDep
from hardening.api.models import MAX_ID, ApiModel
from hardening.coverage.anpr import EntryInputs, read_anpr, solve_anpr
from hardening.coverage.cctv import CctvInputs, CctvParams, read_cctv, solve_cctv
from hardening.coverage.plans import compare_plans, get_plan, list_plans, save_plan
from hardening.coverage.report import coverage_report
from hardening.db.engine import Actor

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


class CctvPlanIn(ApiModel):
    area: str = Field(pattern="^[a-z0-9-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    new_sites: int | None = Field(default=None, ge=0, le=500)
    budget: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    spacing_m: float = Field(default=60.0, ge=10, le=1000, allow_inf_nan=False)
    range_m: float = Field(default=60.0, ge=1, le=1000, allow_inf_nan=False)
    fov_deg: float = Field(default=360.0, ge=1, le=360, allow_inf_nan=False)
    backup_weight: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    time_limit_s: float = Field(default=30.0, ge=0.1, le=300, allow_inf_nan=False)


class AnprPlanIn(ApiModel):
    area: str = Field(pattern="^[a-z0-9-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    new_sites: int = Field(default=5, ge=0, le=500)
    destinations: int = Field(default=20, ge=1, le=500)
    time_limit_s: float = Field(default=30.0, ge=0.1, le=300, allow_inf_nan=False)


@router.post("/plans/cctv")
def new_cctv_plan(heavy: HeavyDep, token: TokenDep, body: CctvPlanIn) -> dict[str, Any]:
    """Best new CCTV sites. Disclosure-controlled like `/coverage`: a site's `adds_share` is
    null with its `adds_households`; `coverage_before`, `coverage_after`, `objective`, `bound`
    and `greedy.objective` are null when they would speak of fewer than 10 homes.

    Heavy work (docs/capacity.md): 503 with Retry-After when over its budget."""
    params = CctvParams(
        body.new_sites,
        body.budget,
        body.spacing_m,
        body.range_m,
        body.fov_deg,
        backup_weight=body.backup_weight,
        time_limit_s=body.time_limit_s,
    )

    def read(conn: Connection, actor: Actor) -> CctvInputs:
        return read_cctv(conn, body.area, params)

    def solve(inputs: CctvInputs) -> dict[str, Any]:
        return heavy.solve(solve_cctv, inputs, params)

    def write(conn: Connection, actor: Actor, result: dict[str, Any]) -> dict[str, Any]:
        if body.name:
            result["plan_id"] = save_plan(conn, body.name, result, asdict(params))
        return result

    return heavy.run(token, read, solve, write)


AnprInputs = tuple[EntryInputs, list[tuple[int, str | None, str, float, float]]]


@router.post("/plans/anpr")
def new_anpr_plan(heavy: HeavyDep, token: TokenDep, body: AnprPlanIn) -> dict[str, Any]:
    """Best new ANPR sites on the roads. Heavy work: 503 with Retry-After over its budget."""

    def read(conn: Connection, actor: Actor) -> AnprInputs:
        return read_anpr(conn, body.area, body.new_sites, body.destinations)

    def solve(inputs: AnprInputs) -> dict[str, Any]:
        entry, sites = inputs
        return heavy.solve(solve_anpr, entry, sites, body.area, body.new_sites,
                           body.destinations, body.time_limit_s)  # fmt: skip

    def write(conn: Connection, actor: Actor, result: dict[str, Any]) -> dict[str, Any]:
        if body.name:
            result["plan_id"] = save_plan(conn, body.name, result, body.model_dump())
        return result

    return heavy.run(token, read, solve, write)


@router.get("/plans")
def plans(conn: ConnDep, area: str | None = None) -> list[dict[str, Any]]:
    return list_plans(conn, area)


PlanIdQ = Annotated[int, Query(gt=0, le=MAX_ID, description="A saved plan's id")]


@router.get("/plans/compare")
def compare(conn: ConnDep, a: PlanIdQ, b: PlanIdQ) -> dict[str, Any]:
    return compare_plans(conn, a, b)


# `:int` so that GET /plans/cctv is a 405 (POST only there), not a plan id that fails to parse.
@router.get("/plans/{plan_id:int}")
def plan(conn: ConnDep, plan_id: Annotated[int, Path(gt=0, le=MAX_ID)]) -> dict[str, Any]:
    return get_plan(conn, plan_id)
