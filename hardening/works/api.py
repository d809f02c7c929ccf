"""`/v1/works/...`: recommendations, work orders (version-checked) and the schedule.

Every route runs in the request's one transaction as the caller, so RLS keeps a provider to its
own homes, orders and operatives; the provider is the caller's organisation.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import Field

from hardening.api.deps import ActorDep, ConnDep
from hardening.api.models import ErrorBody
from hardening.db.engine import Actor
from hardening.errors import PermissionDeniedError
from hardening.jobs.api import ACCEPTED, accepted
from hardening.models import MAX_ID, InputModel, IsoDate
from hardening.works import orders
from hardening.works.recommend import recommend

router = APIRouter(
    prefix="/works",
    tags=["housing works"],
    responses={
        403: {"model": ErrorBody, "description": "Not a housing provider"},
        404: {"model": ErrorBody, "description": "No such order or address (or not yours)"},
        409: {"model": ErrorBody, "description": "The order changed since you read it"},
    },
)
OrderId = Annotated[int, Path(gt=0, le=MAX_ID)]


class OrderCreate(InputModel):
    uprn: int = Field(gt=0, lt=10**12)
    measure_code: str = Field(pattern="^[a-z_]+$", max_length=50)
    priority: str | None = Field(default=None, pattern="^(emergency|urgent|routine|planned)$")
    window_start: time | None = None
    window_end: time | None = None


class OrderChange(InputModel):
    version: int = Field(ge=1)
    status: str = Field(pattern="^(approved|scheduled|in_progress|completed|no_access|cancelled)$")
    cost_pence: int | None = Field(default=None, ge=0)


def _provider(actor: Actor) -> str:
    if not actor.org_id:
        raise PermissionDeniedError("works routes are for a housing provider's users")
    return actor.org_id


@router.get("/recommendations", summary="Measures that would lower your homes' risk most")
def get_recommendations(
    conn: ConnDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    return [r.as_dict() for r in recommend(conn, _provider(actor), limit)]


@router.get("/orders", summary="Your orders, most urgent SLA clock first")
def get_orders(
    conn: ConnDep,
    actor: ActorDep,
    state: Annotated[str | None, Query(alias="status", max_length=20)] = None,
) -> list[dict[str, Any]]:
    return [o.as_dict() for o in orders.list_orders(conn, _provider(actor), state)]


@router.post("/orders", status_code=status.HTTP_201_CREATED, summary="Raise a work order")
def post_order(conn: ConnDep, actor: ActorDep, body: OrderCreate) -> dict[str, Any]:
    window = None
    if body.window_start is not None and body.window_end is not None:
        window = (body.window_start, body.window_end)
    return orders.create(
        conn, body.uprn, body.measure_code, _provider(actor), body.priority, window
    ).as_dict()


@router.get("/orders/{order_id}", summary="One order with its version")
def get_order(conn: ConnDep, order_id: OrderId) -> dict[str, Any]:
    return orders.get(conn, order_id).as_dict()


@router.patch("/orders/{order_id}", summary="Move an order on (send the version you read)")
def patch_order(conn: ConnDep, order_id: OrderId, body: OrderChange) -> dict[str, Any]:
    if body.status == "completed":
        return orders.complete(conn, order_id, body.version, body.cost_pence).as_dict()
    if body.status == "no_access":
        return orders.no_access(conn, order_id, body.version).as_dict()
    return orders.transition(conn, order_id, body.version, body.status).as_dict()


@router.get(
    "/schedule",
    summary="A multi-day schedule of your approved orders, as a job",
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACCEPTED,
)
def get_schedule(
    conn: ConnDep,
    actor: ActorDep,
    request: Request,
    response: Response,
    start: IsoDate,
    days: Annotated[int, Query(ge=1, le=31)] = 5,
    seconds: Annotated[float, Query(ge=0.5, le=30)] = 3.0,
) -> dict[str, Any]:
    """Queued (202; follow its URL): the job's result is the schedule."""
    params = {"provider": _provider(actor), "start": start, "days": days, "seconds": seconds}
    return accepted(conn, request, response, "works_schedule", params)
