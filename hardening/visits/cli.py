"""`hardening visits ...` and `hardening lines ...` (server-side: they act as the system actor)."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from hardening.clikit import JsonOption, emit, system_connection
from hardening.errors import UserInputError
from hardening.visits import lines as lines_mod
from hardening.visits.due import who_to_visit_next
from hardening.visits.models import VisitInput
from hardening.visits.route import DayRoute, TeamDay, day_list
from hardening.visits.service import get_visit, record_visit

visits_app = typer.Typer(help="Vulnerability visits and who to visit next.", no_args_is_help=True)
lines_app = typer.Typer(help="County lines and their status histories.", no_args_is_help=True)

AreaOpt = Annotated[str | None, typer.Option("--area", help="Area id; all areas if omitted.")]


def _day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserInputError(f"dates are YYYY-MM-DD, not {value!r}") from exc


@visits_app.command("record")
def record(
    file: Annotated[Path, typer.Argument(help="A JSON visit (see docs/report.md).")],
    as_json: JsonOption = False,
) -> None:
    """Record a visit and its support package from a JSON file."""
    try:
        visit = VisitInput.model_validate_json(file.read_bytes())
    except OSError as exc:
        raise UserInputError(f"cannot read {file}: {exc.strerror}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "visit"
        raise UserInputError(f"{file}: {where}: {first['msg']}") from exc
    with system_connection() as conn:
        out = record_visit(conn, visit)
    emit(out.as_dict(), as_json, lambda d: f"recorded visit {d['visit_id']}")


@visits_app.command("show")
def show(
    visit_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why you look (audited).")],
    as_json: JsonOption = False,
) -> None:
    with system_connection() as conn:
        emit(get_visit(conn, visit_id, reason).as_dict(), as_json)


ReasonOpt = Annotated[str, typer.Option("--reason", help="Why you look (audited).")]


@visits_app.command("due")
def due(
    reason: ReasonOpt,
    on: Annotated[str | None, typer.Option("--on", help="Day, YYYY-MM-DD (default today).")] = None,
    area: AreaOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Protection plans due a visit or review, markers due review, high-risk homes with signs
    (personal data: the reason is written to the audit log)."""
    with system_connection() as conn:
        cases = [c.as_dict() for c in who_to_visit_next(conn, _day(on), area, reason=reason)]
    emit(
        cases,
        as_json,
        lambda cs: (
            "\n".join(
                f"{c['due_on']}  {c['uprn']:>12}  {','.join(c['reasons']):<40} {c['full_address']}"
                for c in cs
            )
            or "nothing due"
        ),
    )


def _hours(value: str) -> tuple[int, int]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError as exc:
        raise UserInputError(f"--hours is HH:MM-HH:MM, not {value!r}") from exc
    return start.hour * 60 + start.minute, end.hour * 60 + end.minute


def _lon_lat(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lon, lat = (float(part) for part in value.split(","))
    except ValueError as exc:
        raise UserInputError(f"--base is LON,LAT, not {value!r}") from exc
    return lon, lat


def _route_text(plan: DayRoute) -> str:
    lines = [
        f"{p.stop:>2}. {p.arrive}-{p.leave}  {p.full_address} "
        f"(+{p.leg_m:.0f} m; {','.join(p.reasons)})"
        for p in plan.stops
    ]
    lines += [f" -  left out: {c.full_address} ({c.why})" for c in plan.left_out]
    if plan.stops:
        lines.append(f"{plan.travel_m / 1000:.1f} km in all, back to base included")
    return "\n".join(lines) or "nothing due"


@visits_app.command("route")
def route(
    reason: ReasonOpt,
    on: Annotated[str | None, typer.Option("--on")] = None,
    area: AreaOpt = None,
    stops: Annotated[int, typer.Option("--stops", help="Most pressing cases to route.")] = 8,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Team base LON,LAT (default: the most pressing case)."),
    ] = None,
    hours: Annotated[str, typer.Option("--hours", help="Working hours HH:MM-HH:MM.")] = (
        "09:00-17:00"
    ),
    visit_minutes: Annotated[int, typer.Option("--visit-minutes")] = 45,
    town: Annotated[
        str | None, typer.Option("--town", help="Town to route (default: the most pressing).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One team's day in one town: the most pressing cases routed by the works scheduler
    (personal data: the reason is written to the audit log)."""
    start, end = _hours(hours)
    team = TeamDay(start, end, visit_minutes, _lon_lat(base))
    with system_connection() as conn:
        plan = day_list(conn, _day(on), area, stops, team, town=town, reason=reason)
    emit(plan.as_dict(), as_json, lambda _: _route_text(plan))


@lines_app.command("active")
def active(
    on: Annotated[str | None, typer.Option("--on")] = None,
    area: AreaOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Lines active (embedded) on a day."""
    with system_connection() as conn:
        rows = [line.as_dict() for line in lines_mod.active_lines_on(conn, _day(on), area)]
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['line_id']:>4}  {r['name']:<24} {r['area_id']:<16} since {r['since']}"
                for r in rs
            )
            + f"\n{len(rs)} active"
        ),
    )


@lines_app.command("add")
def add(
    name: str,
    area: Annotated[str, typer.Option("--area")],
    first_seen: Annotated[str, typer.Option("--first-seen")],
    origin: Annotated[str | None, typer.Option("--origin")] = None,
    as_json: JsonOption = False,
) -> None:
    with system_connection() as conn:
        line_id = lines_mod.add_line(conn, name, area, _day(first_seen), origin)
    emit({"line_id": line_id}, as_json, lambda d: f"added line {d['line_id']}")


@lines_app.command("status")
def status(
    line_id: int,
    new_status: Annotated[str, typer.Argument(help="active, disrupted or closed")],
    on: Annotated[str, typer.Option("--on")],
    note: Annotated[str | None, typer.Option("--note")] = None,
    as_json: JsonOption = False,
) -> None:
    if new_status not in ("active", "disrupted", "closed"):
        raise UserInputError("status must be active, disrupted or closed")
    with system_connection() as conn:
        lines_mod.set_status(conn, line_id, new_status, _day(on), note)  # type: ignore[arg-type]
    emit({"line_id": line_id, "status": new_status}, as_json, lambda d: json.dumps(d))


@lines_app.command("show")
def show_line(line_id: int, as_json: JsonOption = False) -> None:
    """A line with its status history and linked incidents."""
    with system_connection() as conn:
        emit(lines_mod.history(conn, line_id).as_dict(), as_json)
