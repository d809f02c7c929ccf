"""`hardening coverage ...` and `hardening plan ...` (the lead mounts coverage_app and plan_app).
Commands act as the system actor, as every server-side command does."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.coverage.anpr import plan_anpr
from hardening.coverage.cctv import CctvParams, plan_cctv
from hardening.coverage.plans import compare_plans, list_plans, save_plan
from hardening.coverage.report import coverage_report
from hardening.coverage.summary import percent
from hardening.jobs.cli import NoWaitOption, queue_instead
from hardening.known import require_area

coverage_app = typer.Typer(help="What existing CCTV covers.", no_args_is_help=True)
plan_app = typer.Typer(help="Where new CCTV and ANPR sites should go.", no_args_is_help=True)


@coverage_app.callback()
def _coverage() -> None:
    """What existing CCTV covers (kept a group so more commands can join `report`)."""


AreaOpt = Annotated[str, typer.Option("--area", help="Area id.")]
SaveOpt = Annotated[str | None, typer.Option("--save", help="Save the result as this plan.")]
TimeOpt = Annotated[float, typer.Option("--time-limit", help="Solver time limit, seconds.")]


def _human(result: dict[str, Any]) -> str:
    lines = [
        f"{result['kind']} plan for {result['area_id']}: {result['status']}, "
        f"objective {result['objective']} (bound {result['bound']}, gap {result['gap']}), "
        f"greedy {result['greedy']['objective']}",
        f"coverage {percent(result['coverage_before'], 1)} -> "
        f"{percent(result['coverage_after'], 1)}",
    ]
    lines += [f"  {c.get('kind', 'link')} {c['lon']:.5f},{c['lat']:.5f}" for c in result["chosen"]]
    return "\n".join(lines)


@coverage_app.command("report")
def report_cmd(
    area: AreaOpt = "south-cumbria",
    visibility: Annotated[bool, typer.Option("--visibility/--no-visibility")] = True,
    as_json: JsonOption = False,
) -> None:
    """Coverage of addresses by working CCTV, and what each faulty camera's repair restores."""
    with system_connection() as conn:
        result = coverage_report(conn, area, visibility=visibility)
    emit(
        result,
        as_json,
        lambda r: (
            f"{r['area_id']}: {r['cameras']['working']} working, {r['cameras']['faulty']} faulty; "
            f"{percent(r['covered']['weight_share'], 1)} of weighted demand covered "
            f"({r['weight_basis']})"
        ),
    )


@plan_app.command("cctv")
def cctv_cmd(
    area: AreaOpt = "south-cumbria",
    new_sites: Annotated[int | None, typer.Option("--new-sites")] = None,
    budget: Annotated[float | None, typer.Option("--budget")] = None,
    spacing: Annotated[float, typer.Option("--spacing", help="Metres between candidates.")] = 60.0,
    range_m: Annotated[float, typer.Option("--range")] = 60.0,
    fov: Annotated[float, typer.Option("--fov")] = 360.0,
    new_cost: Annotated[float, typer.Option("--new-cost")] = 1.0,
    repair_cost: Annotated[float, typer.Option("--repair-cost")] = 0.4,
    backup: Annotated[float, typer.Option("--backup", help="Weight of backup coverage.")] = 0.0,
    visibility: Annotated[bool, typer.Option("--visibility/--no-visibility")] = True,
    time_limit: TimeOpt = 60.0,
    save: SaveOpt = None,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Best new CCTV sites (K of them or within a budget), existing working cameras kept."""
    params = CctvParams(
        new_sites,
        budget,
        spacing,
        range_m,
        fov,
        new_cost,
        repair_cost,
        backup,
        visibility,
        time_limit,
    )
    if no_wait:
        job = {"area": area, "name": save, **asdict(params)}
        queue_instead("cctv_plan", job, as_json, lambda conn: require_area(conn, area))
        return
    with system_connection() as conn:
        result = plan_cctv(conn, area, params, progress=info)
        if save:
            result["plan_id"] = save_plan(conn, save, result, asdict(params))
    emit(result, as_json, _human)


@plan_app.command("anpr")
def anpr_cmd(
    area: AreaOpt = "south-cumbria",
    new_sites: Annotated[int, typer.Option("--new-sites")] = 5,
    destinations: Annotated[int, typer.Option("--destinations")] = 20,
    time_limit: TimeOpt = 60.0,
    save: SaveOpt = None,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Best k new ANPR road links by captured flow; existing working ANPR kept."""
    if no_wait:
        job = {"area": area, "name": save, "new_sites": new_sites,
               "destinations": destinations, "time_limit_s": time_limit}  # fmt: skip
        queue_instead("anpr_plan", job, as_json, lambda conn: require_area(conn, area))
        return
    with system_connection() as conn:
        result = plan_anpr(conn, area, new_sites, destinations, time_limit, progress=info)
        if save:
            params = {"new_sites": new_sites, "destinations": destinations}
            result["plan_id"] = save_plan(conn, save, result, params)
    emit(result, as_json, _human)


@plan_app.command("list")
def list_cmd(
    area: Annotated[str | None, typer.Option("--area")] = None, as_json: JsonOption = False
) -> None:
    """Saved plans."""
    with system_connection() as conn:
        rows = list_plans(conn, area)
    emit(
        [r.as_dict() for r in rows],
        as_json,
        lambda _: "\n".join(
            f"{r.plan_id:>4} {r.kind} {r.name} coverage {r.coverage_after}" for r in rows
        ),
    )


@plan_app.command("compare")
def compare_cmd(a: int, b: int, as_json: JsonOption = False) -> None:
    """Two saved plans side by side."""
    with system_connection() as conn:
        result = compare_plans(conn, a, b)
    emit(result.as_dict(), as_json)
