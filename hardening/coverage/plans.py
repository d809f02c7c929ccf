"""Named scenarios: a plan's parameters and results saved per organisation, and compared."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hardening.errors import ConflictError, NotFoundError, UserInputError
from hardening.known import require_area
from hardening.models import Result


@dataclass(frozen=True)
class PlanSummary(Result):
    """A saved plan in a list: its headline figures, not its sites."""

    plan_id: int
    name: str
    kind: str  # cctv, anpr or budget
    area_id: str
    created_at: datetime
    objective: float | None
    coverage_after: float | None
    cost: float | None


@dataclass(frozen=True)
class SavedPlan(Result):
    plan_id: int
    name: str
    kind: str
    area_id: str
    created_at: datetime
    params: dict[str, Any]
    results: dict[str, Any]  # the planner's document as saved (coverage/cctv.py, anpr.py)


@dataclass(frozen=True)
class PlanSide(Result):
    """One scenario of a comparison."""

    plan_id: int
    name: str
    kind: str
    area_id: str
    objective: float | None
    coverage_before: float | None
    coverage_after: float | None
    coverage_gained: float | None  # withheld figures stay withheld (coverage/cctv.py)
    cost: float | None
    sites: int


@dataclass(frozen=True)
class PlanComparison(Result):
    a: PlanSide
    b: PlanSide
    coverage_gained_difference: float | None  # b's gain less a's
    cost_difference: float | None  # b's cost less a's
    sites_in_common: int


def save_plan(conn: Connection, name: str, result: dict[str, Any], params: dict[str, Any]) -> int:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise UserInputError("a plan name must be 1 to 120 characters")
    try:
        with conn.begin_nested():
            plan_id = conn.execute(
                text(
                    "INSERT INTO coverage_plans (name, kind, area_id, params, results) "
                    "VALUES (:n, :k, :a, CAST(:p AS jsonb), CAST(:r AS jsonb)) RETURNING plan_id"
                ),
                {
                    "n": name,
                    "k": result["kind"],
                    "a": result["area_id"],
                    "p": json.dumps(params),
                    "r": json.dumps(result),
                },
            ).scalar_one()
    except IntegrityError as exc:
        raise ConflictError(f"a plan named {name!r} already exists") from exc
    return int(plan_id)


def list_plans(conn: Connection, area_id: str | None = None) -> list[PlanSummary]:
    require_area(conn, area_id)
    rows = conn.execute(
        text(
            "SELECT plan_id, name, kind, area_id, created_at, "
            "results->>'objective', results->>'coverage_after', results->>'cost' "
            "FROM coverage_plans WHERE (CAST(:a AS text) IS NULL OR area_id = :a) "
            "ORDER BY created_at DESC, plan_id DESC"
        ),
        {"a": area_id},
    ).all()
    return [
        PlanSummary(r[0], r[1], r[2], r[3], r[4], _num(r[5]), _num(r[6]), _num(r[7])) for r in rows
    ]


def _num(v: str | None) -> float | None:
    return None if v is None else float(v)


def get_plan(conn: Connection, plan_id: int) -> SavedPlan:
    row = conn.execute(
        text(
            "SELECT plan_id, name, kind, area_id, created_at, params, results "
            "FROM coverage_plans WHERE plan_id = :i"
        ),
        {"i": plan_id},
    ).first()
    if row is None:
        raise NotFoundError(f"no plan {plan_id}")
    return SavedPlan(*row)


def _side(p: SavedPlan) -> PlanSide:
    r = p.results
    before, after = r.get("coverage_before"), r.get("coverage_after")
    gained = None if after is None or before is None else round(after - before, 4)
    return PlanSide(p.plan_id, p.name, p.kind, p.area_id, r.get("objective"), before, after,
                    gained, r.get("cost"), len(r.get("chosen", [])))  # fmt: skip


def _sites(p: SavedPlan) -> set[tuple[Any, ...]]:
    return {(c.get("road_id"), c["lon"], c["lat"]) for c in p.results.get("chosen", [])}


def compare_plans(conn: Connection, a: int, b: int) -> PlanComparison:
    """Two scenarios side by side: coverage gained over today, cost, and sites in common."""
    pa, pb = get_plan(conn, a), get_plan(conn, b)
    left, right = _side(pa), _side(pb)
    return PlanComparison(
        left,
        right,
        None
        if left.coverage_gained is None or right.coverage_gained is None
        else round(right.coverage_gained - left.coverage_gained, 4),
        None if left.cost is None or right.cost is None else round(right.cost - left.cost, 3),
        len(_sites(pa) & _sites(pb)),
    )
