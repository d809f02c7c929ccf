"""`hardening plan budget` and `hardening plan raise` (on the coverage capability's `plan`
group). Commands act as the system actor, as every server-side command does."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from hardening.budget.inputs import BudgetParams, read_budget
from hardening.budget.plan import solve_budget
from hardening.budget.store import name_places, raise_plan, save_budget_plan
from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.coverage.cli import plan_app
from hardening.coverage.summary import money
from hardening.errors import UserInputError
from hardening.jobs.cli import NoWaitOption, queue_instead
from hardening.known import require_area


def pairs(values: list[str] | None, what: str) -> tuple[tuple[str, float], ...]:
    """`key=pounds` options as (key, pounds) pairs; a malformed one is refused by name."""
    out = []
    for v in values or []:
        key, sep, amount = v.partition("=")
        try:
            pounds = float(amount.replace(",", "").lstrip("£"))
        except ValueError:
            pounds = float("nan")
        if not sep or not key.strip() or pounds != pounds:
            raise UserInputError(f"{what} {v!r}: write it as name=pounds, e.g. police=150000")
        out.append((key.strip(), pounds))
    return tuple(out)


def human(doc: dict[str, Any]) -> str:
    gap = "unknown (stopped before any bound)" if doc["gap"] is None else f"{doc['gap']:.4%}"
    lines = [doc["summary"], f"status {doc['status']}, gap {gap}"]
    lines += [
        f"  budget {b['name']}: {money(b['spent'])} spent"
        + (f" of {money(b['budget'])}" if b["budget"] is not None else "")
        for b in doc["budgets"]
    ]
    lines += [
        f"  baseline {b['name']}: {b['objective']:.2f} for {money(b['total_cost'])}"
        for b in doc["baselines"]
    ]
    for item in doc["items"]:
        count = "?" if item["count"] is None else item["count"]
        where = f" at {item['place']}" if item.get("place") else ""
        adds = "withheld" if item["adds"] is None else f"{item['adds']:.3f}"
        lines.append(f"  {count} x {item['what']}{where} ({item['owner']}): adds {adds}")
    return "\n".join(lines)


@plan_app.command("budget")
def budget_cmd(
    area: Annotated[str, typer.Option("--area", help="Area id.")] = "south-cumbria",
    budget: Annotated[float, typer.Option("--budget", help="Total budget, pounds.")] = 250_000,
    owner_budget: Annotated[
        list[str] | None,
        typer.Option("--owner-budget", help="An owner's cap, e.g. police=150000 (repeatable)."),
    ] = None,
    cost: Annotated[
        list[str] | None,
        typer.Option(
            "--cost",
            help="A unit cost in pounds: new_camera=, camera_repair= or a "
            "measure code, e.g. door_chain=40 (repeatable).",
        ),
    ] = None,
    camera_owner: Annotated[
        str | None, typer.Option("--camera-owner", help="Who pays for new cameras.")
    ] = None,
    spacing: Annotated[float, typer.Option("--spacing", help="Metres between sites.")] = 60.0,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit", help="Seconds for the plan's solve (baselines: a quarter each)."
        ),
    ] = 30.0,
    save: Annotated[str | None, typer.Option("--save", help="Save as this plan.")] = None,
    raise_it: Annotated[
        bool, typer.Option("--raise", help="Save, then raise the orders and siting plan.")
    ] = False,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Cameras, camera repairs and housing works chosen together within the budgets."""
    params = BudgetParams(
        budget,
        pairs(owner_budget, "--owner-budget"),
        pairs(cost, "--cost"),
        camera_owner,
        spacing_m=spacing,
        time_limit_s=time_limit,
    )
    if raise_it and not save:
        raise UserInputError("--raise needs --save NAME (the plan the orders come from)")
    if no_wait:
        if raise_it:
            raise UserInputError("--raise needs the plan here: drop --no-wait")
        params.check()
        job = {"area": area, "name": save, **asdict(params)}
        queue_instead("budget_plan", job, as_json, lambda conn: require_area(conn, area))
        return
    with system_connection() as conn:
        inputs = read_budget(conn, area, params)
    info(f"{len(inputs.homes):,} scored homes; solving (up to {time_limit:g} s a solve)")
    result = solve_budget(inputs, params)
    with system_connection() as conn:
        name_places(conn, result.doc)
        if save:
            result.doc["plan_id"] = save_budget_plan(conn, save, result, asdict(params))
        if raise_it:
            result.doc["raised"] = raise_plan(conn, result.doc["plan_id"]).as_dict()
    emit(result.doc, as_json, human)


@plan_app.command("raise")
def raise_cmd(plan_id: int, as_json: JsonOption = False) -> None:
    """Raise a saved budget plan: its cameras as a siting plan, its works as work orders."""
    with system_connection() as conn:
        raised = raise_plan(conn, plan_id)
    emit(
        raised.as_dict(),
        as_json,
        lambda _: (
            f"siting plan {raised.siting_plan_id}, {len(raised.work_orders)} work order(s)"
            + "".join(f"\nnot raised: {n}" for n in raised.not_raised)
        ),
    )
