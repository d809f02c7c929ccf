"""`POST /v1/plans/budget` (a job: hardening/jobs/kinds.py reads, solves with no connection
held, writes) and `POST /v1/plans/budget/{id}/raise`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import Field, StringConstraints

from hardening.api.deps import ConnDep
from hardening.api.models import MAX_ID
from hardening.budget.inputs import BudgetParams, checked_terms
from hardening.budget.store import raise_plan
from hardening.jobs.api import ACCEPTED, accepted
from hardening.known import require_area
from hardening.models import InputModel

router = APIRouter(tags=["coverage"])
Key = Annotated[str, StringConstraints(pattern="^[a-z0-9_-]{1,60}$")]
Pounds = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


class Amount(InputModel):
    name: Key = Field(description="An owner (organisation id, or 'police') or a cost's key.")
    pounds: Pounds


class BudgetPlanIn(InputModel):
    area: str = Field(pattern="^[a-z0-9-]+$")
    budget: float = Field(gt=0, le=1e9, allow_inf_nan=False, description="Pounds, all owners.")
    owner_budgets: list[Amount] = Field(
        default_factory=list,
        max_length=50,
        description="Caps in pounds per owner: an organisation id, or a kind naming one "
        "organisation ('police').",
    )
    costs: list[Amount] = Field(
        default_factory=list,
        max_length=50,
        description="Unit costs in pounds: new_camera, camera_repair or a measure code.",
    )
    camera_owner: Key | None = None
    name: str | None = Field(default=None, min_length=1, max_length=120)
    spacing_m: float = Field(default=60.0, ge=10, le=1000, allow_inf_nan=False)
    time_limit_s: float = Field(default=30.0, ge=0.1, le=120, allow_inf_nan=False)
    uncertainty: bool = True


def params_of(body: BudgetPlanIn) -> BudgetParams:
    return BudgetParams(
        body.budget,
        tuple((a.name, a.pounds) for a in body.owner_budgets),
        tuple((a.name, a.pounds) for a in body.costs),
        body.camera_owner,
        spacing_m=body.spacing_m,
        time_limit_s=body.time_limit_s,
        uncertainty=body.uncertainty,
    )


@router.post("/plans/budget", status_code=202, responses=ACCEPTED)
def new_budget_plan(
    conn: ConnDep, request: Request, response: Response, body: BudgetPlanIn
) -> dict[str, Any]:
    """New cameras, camera repairs and housing works chosen together within the budgets
    (priced budgets, then a MILP, on HiGHS), with the baselines (cameras only, works only,
    greedy by value per pound) and the plan valued at low and high effect sizes, as a job
    (202; follow its URL): its result is the plan. Works are told per provider and package
    (counts under 10 withheld). With `name` the plan is saved."""
    require_area(conn, body.area)
    params = params_of(body)
    checked_terms(conn, body.area, params)
    job = {"area": body.area, "name": body.name, **asdict(params)}
    return accepted(conn, request, response, "budget_plan", job)


@router.post("/plans/budget/{plan_id}/raise")
def raise_budget_plan(
    conn: ConnDep, plan_id: Annotated[int, Path(gt=0, le=MAX_ID)]
) -> dict[str, Any]:
    """Raise what your role may of a saved budget plan: its cameras as a saved siting plan
    (planning roles), its works as work orders (each provider's housing staff, their own
    homes). What you may not raise is listed in `not_raised` with the reason."""
    return raise_plan(conn, plan_id).as_dict()
