"""`hardening report kpi ...` and `hardening training ...` (they act as the system actor)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.errors import UserInputError
from hardening.jobs.cli import NoWaitOption, queue_instead
from hardening.known import require_area
from hardening.reports.html import render
from hardening.reports.publish import system_report
from hardening.reports.training import add_session, list_sessions

report_app = typer.Typer(help="The yearly performance report.", no_args_is_help=True)
training_app = typer.Typer(help="Awareness training delivered to partners.", no_args_is_help=True)


@report_app.callback()
def _report() -> None:
    """Keeps `kpi` a sub-command (Typer collapses one-command apps)."""


@report_app.command("kpi")
def kpi(
    year: Annotated[int, typer.Option("--year", help="Calendar year, e.g. 2025.")],
    area: Annotated[
        str | None, typer.Option("--area", help="Area id; all areas if omitted.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML report here.")] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Unsuppressed figures (analysts only; not for sharing).")
    ] = False,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """The yearly indicators; --out writes the self-contained HTML report."""
    if no_wait:
        if out is not None or raw:
            raise UserInputError("--out and --raw need the report here: drop --no-wait")
        queue_instead("kpi_report", {"year": year, "area": area}, as_json,
                      lambda conn: require_area(conn, area))  # fmt: skip
        return
    with system_connection() as conn:
        figures, name = system_report(conn, year, area, raw)
    if out is not None:
        if raw:
            raise typer.BadParameter("--raw figures are never written to the shared HTML report")
        out.write_text(render(figures, name), encoding="utf-8")
        info(f"wrote {out} ({out.stat().st_size:,} bytes)")
    if as_json or out is None:
        emit(figures, as_json)


@training_app.command("add")
def add(
    area: Annotated[str, typer.Option("--area")],
    delivered_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    topic: Annotated[str, typer.Option("--topic")],
    attendees: Annotated[int, typer.Option("--attendees")],
    partner_org: Annotated[str | None, typer.Option("--partner-org")] = None,
    partner_type: Annotated[str | None, typer.Option("--partner-type")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record one awareness training session delivered to a partner."""
    try:
        day = date.fromisoformat(delivered_on)
    except ValueError as exc:
        raise typer.BadParameter(f"--date must be YYYY-MM-DD, not {delivered_on!r}") from exc
    with system_connection() as conn:
        session_id = add_session(conn, area, day, topic, attendees, partner_org, partner_type)
    emit({"session_id": session_id}, as_json, lambda d: f"recorded session {d['session_id']}")


@training_app.command("list")
def list_(
    year: Annotated[int | None, typer.Option("--year")] = None,
    area: Annotated[str | None, typer.Option("--area")] = None,
    as_json: JsonOption = False,
) -> None:
    with system_connection() as conn:
        rows = [s.as_dict() for s in list_sessions(conn, year, area)]
    emit(rows, as_json)
