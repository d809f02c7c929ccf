"""`hardening export COLLECTION --format gpkg|geojson|csv --out FILE`: a layer to a file, as the
system actor (everything) or, with `--as-user`, exactly as that user would see it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection, text

from hardening.bbox import BBox
from hardening.clikit import JsonOption, emit
from hardening.db.engine import Actor, system_engine, transaction
from hardening.errors import NotFoundError
from hardening.features.collections import REGISTRY
from hardening.features.export import ExportFormat, ExportResult, export
from hardening.settings import get_settings


def actor_for(conn: Connection, username: str) -> Actor:
    """The actor a user's requests run as (read by the system actor on the server)."""
    row = conn.execute(
        text("SELECT user_id, org_id, roles, username FROM users WHERE username = :u AND active"),
        {"u": username},
    ).first()
    if row is None:
        raise NotFoundError(f"unknown or inactive user {username!r}")
    return Actor(int(row.user_id), str(row.org_id), tuple(row.roles), str(row.username))


def run_export(
    collection: str,
    fmt: str,
    out: Path,
    bbox: str | None = None,
    as_user: str | None = None,
    reason: str | None = None,
) -> ExportResult:
    engine = system_engine(get_settings())
    try:
        actor = Actor.system()
        if as_user is not None:
            with transaction(engine, Actor.system()) as conn:
                actor = actor_for(conn, as_user)
        box = BBox.parse(bbox) if bbox is not None else None
        with transaction(engine, actor) as conn:
            return export(conn, collection, fmt, out, box, reason)
    finally:
        engine.dispose()


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
