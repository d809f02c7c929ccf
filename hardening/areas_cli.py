"""`hardening area add NAME --boundary FILE`: bring a new area in, with the partners whose
sharing agreements should cover it."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
import typer
from shapely import MultiPolygon, Polygon, from_wkb, make_valid, unary_union
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hardening.clikit import JsonOption, emit
from hardening.db.engine import Actor, system_engine, transaction
from hardening.errors import UserInputError
from hardening.geo import parse_crs, transformer
from hardening.importers.codepoint import DISTRICT_AREA
from hardening.importers.spatial import place_unplaced
from hardening.settings import get_settings

app = typer.Typer(help="Areas the partnership works in.", no_args_is_help=True)


@app.callback()
def _areas() -> None:
    """Keeps `add` a sub-command (Typer collapses one-command apps)."""


def read_boundary(path: Path) -> MultiPolygon:
    """Every polygon in the file, dissolved, in BNG; WGS84 assumed when the file has no CRS."""
    # GDAL and GEOS warn about unclosed rings and NaN as they read; the checks below refuse
    # those with one line of their own.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            meta, _, wkb, _ = pyogrio.raw.read(path)
        except Exception as exc:  # pyogrio raises its own errors for unreadable files
            raise UserInputError(f"cannot read boundary {path}: {exc}") from exc
        try:
            geoms = [g for g in from_wkb(wkb) if g is not None and not g.is_empty]
        except shapely.errors.GEOSException as exc:  # e.g. a ring that does not close
            raise UserInputError(f"{path}: unreadable geometry: {exc}") from exc
    if not geoms:
        raise UserInputError(f"{path} has no features")
    if not np.isfinite(shapely.get_coordinates(geoms)).all():
        raise UserInputError(f"{path}: coordinates must be finite numbers (NaN or infinity)")
    # A self-intersecting ("bow-tie") or degenerate ring is refused, not silently re-drawn.
    for geom in geoms:
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise UserInputError(f"{path}: the boundary is not a valid polygon: {reason}")
    crs = parse_crs(meta["crs"]) if meta.get("crs") else 4326
    shape = unary_union(geoms)
    if crs != 27700:
        tr = transformer(crs, 27700)
        shape = shapely.transform(
            shape, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
        )
    x0, y0, x1, y1 = shape.bounds
    if not (x0 >= 0 and x1 <= 700_000 and y0 >= 0 and y1 <= 1_300_000):
        raise UserInputError(
            f"{path}: the boundary falls outside Great Britain (longitude and latitude swapped?)"
        )
    if not shape.is_valid:  # reprojection can bend near-touching edges into each other
        shape = make_valid(shape)
    polys = [g for g in getattr(shape, "geoms", [shape]) if isinstance(g, Polygon)]
    if isinstance(shape, MultiPolygon):
        polys = list(shape.geoms)
    if not polys:
        raise UserInputError(f"{path} holds no polygon")
    return MultiPolygon(polys)


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
    slug = area_id or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not re.fullmatch(r"[a-z0-9-]+", slug):
        raise UserInputError(f"area id {slug!r} must be lower-case letters, digits and dashes")
    shape = read_boundary(boundary)
    with transaction(system_engine(get_settings()), Actor.system()) as conn:
        try:
            with conn.begin_nested():
                conn.execute(
                    text(
                        "INSERT INTO areas VALUES (:id, :name, ST_Multi(ST_GeomFromText(:wkt, "
                        "27700))) ON CONFLICT (area_id) DO UPDATE SET name = EXCLUDED.name, "
                        "geom = EXCLUDED.geom"
                    ),
                    {"id": slug, "name": name, "wkt": shape.wkt},
                )
        except IntegrityError as exc:
            raise UserInputError(f"cannot add area {name!r}: {exc.orig}") from exc
        linked: dict[str, int] = {}
        for org in partners or []:
            rows = conn.execute(
                text(
                    "INSERT INTO agreement_areas (agreement_id, area_id) SELECT agreement_id, :a "
                    "FROM sharing_agreements WHERE org_id = :o AND current_date <= ends_on "
                    "ON CONFLICT DO NOTHING RETURNING agreement_id"
                ),
                {"a": slug, "o": org},
            ).all()
            known = conn.execute(
                text("SELECT count(*) FROM sharing_agreements WHERE org_id = :o"), {"o": org}
            ).scalar_one()
            if not known:
                raise UserInputError(f"organisation {org!r} has no sharing agreement")
            linked[org] = len(rows)
        placed = place_unplaced(conn, DISTRICT_AREA)  # rows loaded before the area arrived
    emit(
        {
            "area_id": slug,
            "name": name,
            "km2": round(shape.area / 1e6, 2),
            "agreements": linked,
            "placed": placed,
        },
        as_json,
        lambda d: (
            f"area {d['area_id']} ({d['km2']} km2); agreements extended: {d['agreements']}"
            + (f"; placed in areas: {d['placed']}" if d["placed"] else "")
        ),
    )
