"""Saving a budget plan and raising it: the camera sites as a saved siting plan, the works as
work orders for each provider, each as far as the actor's role may (row-level security).

Who may raise what (sql/002, 007, 028): a saved siting plan, the planning roles of the plan's
organisation in its area (and the system); work orders, only a provider's own housing staff
with the works class (and the system). So a planner raises the cameras, each provider raises
its own homes' works from the same plan, and the system (the CLI) raises everything. What the
actor may not raise is listed with the reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from hardening.budget.plan import BudgetResult
from hardening.coverage.plans import SavedPlan, get_plan, save_plan
from hardening.coverage.summary import place_names
from hardening.errors import NotFoundError, UserInputError
from hardening.models import Result
from hardening.works import orders


def name_places(conn: Connection, doc: dict[str, Any]) -> None:
    """Each camera item by its street ("Abbey Road at Hartington Street")."""
    cams = [i for i in doc["items"] if "x" in i]
    for item, place in zip(cams, place_names(conn, [(i["x"], i["y"]) for i in cams]), strict=True):
        item["place"] = place
        del item["x"], item["y"]  # BNG for the look-up only; the answer speaks lon/lat


def save_budget_plan(
    conn: Connection, name: str, result: BudgetResult, params: dict[str, Any]
) -> int:
    """The plan as a scenario (aggregates only) and, when it holds them, its works by home."""
    plan_id = save_plan(conn, name, result.doc, params)
    if result.works:
        conn.execute(
            text(
                "INSERT INTO budget_plan_works (plan_id, provider_org_id, area_id, uprn, "
                "measure_code) VALUES (:i, :p, :a, :u, :m)"
            ),
            [
                {"i": plan_id, "p": p, "a": result.doc["area_id"], "u": u, "m": m}
                for p, u, m in result.works
            ],
        )
    return plan_id


def _may_raise_orders(conn: Connection, provider: str) -> bool:
    return bool(
        conn.execute(
            text("SELECT app_is_system() OR (app_org_id() = :p AND app_may('{housing}', 'works'))"),
            {"p": provider},
        ).scalar()
    )


@dataclass
class RaisedPlan(Result):
    """What raising a budget plan made, and what the actor may not raise, with the reason."""

    plan_id: int
    siting_plan_id: int | None = None  # the cameras as a saved CCTV siting plan
    work_orders: list[int] = field(default_factory=list)
    not_raised: list[str] = field(default_factory=list)


def raise_plan(conn: Connection, plan_id: int) -> RaisedPlan:
    """Raise what this actor may of a saved budget plan (see the module docstring)."""
    out = RaisedPlan(plan_id)
    rows = conn.execute(
        text(
            "SELECT provider_org_id, uprn, measure_code FROM budget_plan_works "
            "WHERE plan_id = :i AND work_order_id IS NULL ORDER BY provider_org_id, uprn, "
            "measure_code"
        ),
        {"i": plan_id},
    ).all()
    try:
        plan = get_plan(conn, plan_id)
    except NotFoundError:
        plan = None
        if (
            not rows
            and not conn.execute(
                text("SELECT 1 FROM budget_plan_works WHERE plan_id = :i LIMIT 1"), {"i": plan_id}
            ).first()
        ):
            raise NotFoundError(f"no budget plan {plan_id} that you may raise") from None
    if plan is not None and plan.kind != "budget":
        raise UserInputError(f"plan {plan_id} is a {plan.kind} plan, not a budget plan")
    if plan is not None:
        out.siting_plan_id = _siting(conn, plan)
    else:
        out.not_raised.append("the camera sites: only the plan's planners may raise them")
    by_provider: dict[str, list[tuple[int, str]]] = {}
    for provider, uprn, code in rows:
        by_provider.setdefault(str(provider), []).append((int(uprn), str(code)))
    for provider, works in by_provider.items():
        if not _may_raise_orders(conn, provider):
            out.not_raised.append(
                f"{len(works)} work order(s) for {provider}: only its own housing staff "
                "may raise them"
            )
            continue
        for uprn, code in works:
            order = orders.create(conn, uprn, code, provider=provider)
            conn.execute(
                text(
                    "UPDATE budget_plan_works SET work_order_id = :o WHERE plan_id = :i "
                    "AND uprn = :u AND measure_code = :m"
                ),
                {"o": order.work_order_id, "i": plan_id, "u": uprn, "m": code},
            )
            out.work_orders.append(order.work_order_id)
    if plan is not None and not rows and _has_works(plan):
        out.not_raised.append(
            "the works: none that you may raise (each provider's housing staff raise their own "
            "homes' works; a plan made by a planner names no homes)"
        )
    return out


def _has_works(plan: SavedPlan) -> bool:
    return any(i["kind"] not in ("new camera", "camera repair") for i in plan.results["items"])


def _siting(conn: Connection, plan: SavedPlan) -> int | None:
    """The plan's cameras as a saved CCTV siting plan (None when it chose none)."""
    results = plan.results
    cams = [i for i in results["items"] if i["kind"] in ("new camera", "camera repair")]
    if not cams:
        return None
    siting = {
        "kind": "cctv",
        "area_id": plan.area_id,
        "objective": None,
        "cost": round(sum(float(c["cost"]) for c in cams), 2),
        "chosen": [
            {
                "kind": "repair" if c["kind"] == "camera repair" else "street",
                "site_id": c.get("site_id"),
                "lon": c["lon"],
                "lat": c["lat"],
                "cost": c["cost"],
                "place": c.get("place"),
            }
            for c in cams
        ],
        "from_budget_plan": plan.plan_id,
    }
    name = f"{plan.name} (cameras)"[:120]
    done = conn.execute(
        text("SELECT plan_id FROM coverage_plans WHERE name = :n AND kind = 'cctv'"), {"n": name}
    ).scalar()
    if done is not None:  # raised before: the same siting plan
        return int(done)
    return save_plan(conn, name, siting, {"budget_plan": plan.plan_id})
