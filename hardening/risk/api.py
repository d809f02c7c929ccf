"""`/v1/risk/{uprn}`: an address's risk, minimised by what the caller may see (explain.py).
Mounted by the lead with `app.include_router(router, prefix="/v1")`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from hardening.api.deps import ConnDep
from hardening.api.models import MAX_ID, ErrorBody
from hardening.risk import explain as explaining


class Contribution(BaseModel):
    factor: str
    label: str
    value: float
    coefficient: float
    contribution: float


class Measure(BaseModel):
    measure_code: str
    name: str
    scope: str
    risk_factor: str | None = None
    typical_cost_pence: int | None = None
    logit_change: float | None = None
    score_after: float | None = None
    score_reduction: float | None = None


class RiskView(BaseModel):
    """`detail` says how much the caller may see: `band` (housing: band and recommended
    measures by name) or `factors` (police roles with `risk_factors`: the score and why, only
    with a reason, audited). `score` is no longer returned: a score without a reason was a
    read of intelligence-derived personal data with no audit row."""

    uprn: int
    model_version: str
    band: Literal["low", "medium", "high", "very_high"]
    computed_at: datetime
    detail: Literal["band", "factors"]
    score: float | None = None
    note: str | None = None
    as_of: datetime | None = None
    intercept: float | None = None
    logit: float | None = None
    contributions: list[Contribution] | None = None
    top_reasons: list[str] | None = None
    absent_factors: list[str] | None = None
    recommended_measures: list[Measure] | None = None


router = APIRouter(
    prefix="/risk",
    tags=["risk"],
    responses={404: {"model": ErrorBody, "description": "No score the caller may see"}},
)


@router.get(
    "/{uprn}",
    response_model=RiskView,
    response_model_exclude_none=True,
    summary="An address's risk band (housing) or score and why (police, with a reason)",
    responses={400: {"model": ErrorBody, "description": "Police roles: no reason given"}},
)
def get_risk(
    uprn: Annotated[int, Path(ge=1, le=MAX_ID, description="The address's UPRN.")],
    conn: ConnDep,
    reason: Annotated[
        str | None,
        Query(
            min_length=3,
            max_length=500,
            description="Why you look: required of police roles (who see the score and its "
            "factors), each look-up recorded in the audit log; housing needs none.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="Model version."),
    ] = None,
) -> dict[str, Any]:
    return explaining.explain(conn, uprn, reason, model)
