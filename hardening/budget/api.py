"""`POST /v1/plans/budget` (heavy: read, solve with no connection held, write) and
`POST /v1/plans/budget/{id}/raise`. The lead moves the plan onto the job queue (issue 17)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field, StringConstraints
from sqlalchemy import Connection

from hardening.api.deps import ConnDep, TokenDep
from hardening.api.heavy import HeavyDep
from hardening.api.models import MAX_ID, ApiModel
from hardening.budget.inputs import BudgetInputs, BudgetParams, read_budget
from hardening.budget.plan import BudgetResult, solve_budget
from hardening.budget.store import name_places, raise_plan, save_budget_plan
from hardening.db.engine import Actor

router = APIRouter(tags=["coverage"])
Key = Annotated[str, StringConstraints(pattern="^[a-z0-9_-]{1,60}$")]
Pounds = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


class Amount(ApiModel):
    name: Key = Field(description="An owner (organisation id, or 'police') or a cost's key.")
    pounds: Pounds


class BudgetPlanIn(ApiModel):
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


@router.post("/plans/budget")
def new_budget_plan(heavy: HeavyDep, token: TokenDep, body: BudgetPlanIn) -> dict[str, Any]:
    """New cameras, camera repairs and housing works chosen together within the budgets
    (MILP on HiGHS), with the baselines (cameras only, works only, greedy by value per pound)
    and the plan valued at low and high effect sizes. Works are told per provider and package
    (counts under 10 withheld). With `name` the plan is saved. Heavy work: 503 with
    Retry-After when over its budget."""
    params = params_of(body)

    def read(conn: Connection, actor: Actor) -> BudgetInputs:
        return read_budget(conn, body.area, params)

    def solve(inputs: BudgetInputs) -> BudgetResult:
        return heavy.solve(solve_budget, inputs, params)

    def write(conn: Connection, actor: Actor, result: BudgetResult) -> BudgetResult:
        name_places(conn, result.doc)
        if body.name:
            result.doc["plan_id"] = save_budget_plan(conn, body.name, result, body.model_dump())
        return result

    return heavy.run(token, read, solve, write).doc


@router.post("/plans/budget/{plan_id}/raise")
def raise_budget_plan(
    conn: ConnDep, plan_id: Annotated[int, Path(gt=0, le=MAX_ID)]
) -> dict[str, Any]:
    """Raise what your role may of a saved budget plan: its cameras as a saved siting plan
    (planning roles), its works as work orders (each provider's housing staff, their own
    homes). What you may not raise is listed in `not_raised` with the reason."""
    return raise_plan(conn, plan_id)
