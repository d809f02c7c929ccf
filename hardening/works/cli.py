"""`hardening works recommend|raise|orders|move|complete|schedule`, as the system actor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.errors import UserInputError
from hardening.jobs.cli import NoWaitOption, queue_instead
from hardening.known import require_provider
from hardening.works import orders, plan
from hardening.works.orders import WorkOrder
from hardening.works.recommend import Recommendation
from hardening.works.recommend import recommend as recommend_measures

app = typer.Typer(help="Housing security works: measures, orders, schedules.", no_args_is_help=True)

Provider = Annotated[str, typer.Option(help="Housing provider org id (an unknown one is refused).")]
Version = Annotated[int, typer.Option(min=1, help="The version you read (see `orders`).")]


def _order_text(o: WorkOrder) -> str:
    return (
        f"#{o.work_order_id} v{o.version} {o.status:<11} {o.priority:<9} "
        f"{o.measure_code:<20} uprn {o.uprn} due {o.due_at:%Y-%m-%d %H:%M}"
    )


def _emit_orders(rows: Sequence[WorkOrder], as_json: bool, none: str = "") -> None:
    emit([o.as_dict() for o in rows], as_json, lambda _: "\n".join(map(_order_text, rows)) or none)


@app.command()
def recommend(provider: Provider, limit: int = 20, as_json: JsonOption = False) -> None:
    """Measures that would lower the provider's homes' risk most (block measures once)."""
    with system_connection() as conn:
        require_provider(conn, provider)
        items = recommend_measures(conn, provider, limit)
    emit([r.as_dict() for r in items], as_json, lambda _: _recommendations_text(items))


def _recommendations_text(rows: list[Recommendation]) -> str:
    lines = [
        f"{r.uprn:>12} {r.measure_code:<20} -{r.score_reduction:.2f} "
        f"£{r.typical_cost_pence / 100:.0f}"
        for r in rows
    ]
    return "\n".join(lines) or "nothing to recommend"


@app.command("raise")
def raise_order(
    uprn: Annotated[int | None, typer.Option(help="Address.")] = None,
    measure: Annotated[str | None, typer.Option(help="Measure code.")] = None,
    provider: Annotated[str | None, typer.Option(help="Defaults to the address's.")] = None,
    priority: Annotated[str | None, typer.Option(help="Defaults to the risk band's.")] = None,
    from_recommendations: Annotated[
        int, typer.Option(help="Instead: raise the top N recommendations of --provider.")
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Raise one work order (or the provider's top N recommendations)."""
    with system_connection() as conn:
        require_provider(conn, provider)
        if from_recommendations:
            if not provider:
                raise typer.BadParameter("--provider is needed with --from-recommendations")
            made = [
                orders.create(conn, r.uprn, r.measure_code, provider, priority)
                for r in recommend_measures(conn, provider, from_recommendations)
            ]
        elif uprn is None or measure is None:
            raise typer.BadParameter("give --uprn and --measure (or --from-recommendations)")
        else:
            made = [orders.create(conn, uprn, measure, provider, priority)]
    _emit_orders(made, as_json)


@app.command("orders")
def list_orders(
    provider: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOption = False,
) -> None:
    """Orders, most urgent SLA clock first."""
    with system_connection() as conn:
        require_provider(conn, provider)
        rows = orders.list_orders(conn, provider, status)
    _emit_orders(rows, as_json, "no orders")


@app.command()
def move(
    order: Annotated[int, typer.Argument()],
    to: Annotated[str, typer.Option(help="approved, cancelled, in_progress, no_access ...")],
    version: Version,
    as_json: JsonOption = False,
) -> None:
    """Move an order along its life cycle (checked against the version you read)."""
    with system_connection() as conn:
        if to == "no_access":
            row = orders.no_access(conn, order, version)
        else:
            row = orders.transition(conn, order, version, to)
    emit(row.as_dict(), as_json, lambda _: _order_text(row))


@app.command()
def complete(
    order: Annotated[int, typer.Argument()],
    version: Version,
    cost: Annotated[int | None, typer.Option(help="Cost in pence.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Complete an order: installs the measure and re-scores the addresses it protects."""
    with system_connection() as conn:
        done = orders.complete(conn, order, version, cost)
    emit(done.as_dict(), as_json, lambda _: _order_text(done))


@app.command()
def schedule(
    provider: Provider,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")],
    days: Annotated[int, typer.Option(min=1, max=31)] = 5,
    seconds: Annotated[float, typer.Option(min=0.5, max=120, help="Solver time limit.")] = 5.0,
    commit: Annotated[bool, typer.Option(help="Write the visits onto the orders.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=8, help="Solver processes.")] = 1,
    csv_dir: Annotated[Path | None, typer.Option(help="Write one CSV per operative.")] = None,
    ics_dir: Annotated[Path | None, typer.Option(help="Write one .ics per operative.")] = None,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Multi-day schedule of the provider's approved orders (local times, road travel where
    roads are loaded); says why a job is left out."""
    if no_wait:
        if commit or csv_dir or ics_dir:
            raise UserInputError("--commit, --csv-dir and --ics-dir need the schedule: drop "
                                 "--no-wait, or fetch the job's result later")  # fmt: skip
        job = {"provider": provider, "start": start.date(), "days": days, "seconds": seconds}
        queue_instead("works_schedule", job, as_json,
                      lambda conn: require_provider(conn, provider))  # fmt: skip
        return
    with system_connection() as conn:
        require_provider(conn, provider)
        result = plan.schedule(conn, provider, start.date(), days, seconds, commit, workers)
    for folder, suffix in ((csv_dir, "csv"), (ics_dir, "ics")):
        if folder is None:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for op in sorted({v["operative_id"] for v in result["visits"]}):
            body = plan.to_csv(result, op) if suffix == "csv" else plan.to_ics(result, op)
            (folder / f"operative-{op}.{suffix}").write_text(body, encoding="utf-8")
        info(f"wrote {suffix} files to {folder}")
    emit(result, as_json, lambda r: (
        f"travel: {r['travel']}; times {r['timezone']}\n"
        + "\n".join(f"{v['operative']:<16} {v['start']:%a %d %H:%M}-{v['end']:%H:%M} "
                  f"#{v['work_order_id']} {v['priority']}" for v in r["visits"])
        + "".join(f"\nleft out #{u['work_order_id']}: {u['reason']}" for u in r["unscheduled"])
        + (f"\nnothing scheduled: {r['note']}" if r["note"] else "")
    ))  # fmt: skip
