"""`hardening area add NAME --boundary FILE`: bring a new area in, with the partners whose
sharing agreements should cover it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hardening.areas import NewArea, add_area
from hardening.clikit import JsonOption, emit, system_connection

app = typer.Typer(help="Areas the partnership works in.", no_args_is_help=True)


@app.callback()
def _areas() -> None:
    """Keeps `add` a sub-command (Typer collapses one-command apps)."""


@app.command("add")
def add(
    name: str,
    boundary: Annotated[Path, typer.Option("--boundary", help="GeoJSON/GPKG/SHP polygon(s).")],
    area_id: Annotated[str | None, typer.Option("--id", help="Default: the name, slugged.")] = None,
    partners: Annotated[
        list[str] | None,
        typer.Option("--partner", help="Organisation whose active agreements gain the area."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add (or re-draw) an area and extend the named partners' agreements to it."""
    new = NewArea.read(name, boundary, area_id)
    with system_connection() as conn:
        added = add_area(conn, new, partners or [])
    emit(
        added.as_dict(),
        as_json,
        lambda d: (
            f"area {d['area_id']} ({d['km2']} km2); agreements extended: {d['agreements']}"
            + (f"; placed in areas: {d['placed']}" if d["placed"] else "")
        ),
    )
