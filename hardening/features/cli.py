"""`hardening export COLLECTION --format gpkg|geojson|csv --out FILE`: a layer to a file, as the
system actor (everything) or, with `--as-user`, exactly as that user would see it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hardening.bbox import BBox
from hardening.clikit import JsonOption, emit, system_engine_scope
from hardening.db.engine import Actor, transaction
from hardening.features.collections import REGISTRY
from hardening.features.export import ExportFormat, ExportResult, export
from hardening.security.users import actor_for


def run_export(
    collection: str,
    fmt: str,
    out: Path,
    bbox: str | None = None,
    as_user: str | None = None,
    reason: str | None = None,
) -> ExportResult:
    box = BBox.parse(bbox) if bbox is not None else None
    with system_engine_scope() as engine:
        actor = Actor.system()
        if as_user is not None:
            with transaction(engine, Actor.system()) as conn:
                actor = actor_for(conn, as_user)
        with transaction(engine, actor) as conn:
            return export(conn, collection, fmt, out, box, reason)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        collection: Annotated[
            str, typer.Argument(help=f"One of {', '.join(REGISTRY)}.", show_default=False)
        ],
        out: Annotated[Path, typer.Option("--out", help="The file to write (replaced).")],
        fmt: Annotated[
            ExportFormat, typer.Option("--format", help="gpkg (BNG), geojson or csv (WGS84).")
        ] = ExportFormat.gpkg,
        bbox: Annotated[
            str | None, typer.Option(help="minlon,minlat,maxlon,maxlat in WGS84.")
        ] = None,
        as_user: Annotated[
            str | None,
            typer.Option("--as-user", help="Export what this user may see (default: all)."),
        ] = None,
        reason: Annotated[
            str | None,
            typer.Option(help="Why (required for safe-markers and work-orders; audited)."),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Export a layer (GeoPackage, GeoJSON or CSV) under row-level security."""
        result = run_export(collection, fmt.value, out, bbox, as_user, reason)
        emit(result.as_dict(), as_json, lambda d: f"{d['out']}: {d['features']} feature(s)")
