"""The force areas the partnership works in (every large table carries one of these ids), and
adding one: read its boundary, store it, extend partners' agreements, place rows waiting for it."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from shapely import MultiPolygon, Polygon, from_wkb, make_valid, unary_union
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hardening.errors import UserInputError
from hardening.geo import parse_crs, transformer
from hardening.importers.spatial import place_unplaced
from hardening.models import Result

AREAS: Final[dict[str, str]] = {
    "south-cumbria": "South Cumbria",
    "carlisle": "Carlisle",
    "west-cumbria": "West Cumbria",
}

# Local authority districts (as named in ONS LSOA names and Code-Point admin codes) per area.
AREA_DISTRICTS: Final[dict[str, tuple[str, ...]]] = {
    "south-cumbria": ("Barrow-in-Furness", "South Lakeland"),
    "carlisle": ("Carlisle",),
    "west-cumbria": ("Allerdale", "Copeland"),
}
DISTRICT_CODES: Final[dict[str, str]] = {
    "E07000027": "Barrow-in-Furness",
    "E07000031": "South Lakeland",
    "E07000028": "Carlisle",
    "E07000026": "Allerdale",
    "E07000029": "Copeland",
}
# A postcode unit's admin district code to its area (the postcode importer's preference).
DISTRICT_AREA: Final[dict[str, str]] = {
    code: area
    for code, district in DISTRICT_CODES.items()
    for area, districts in AREA_DISTRICTS.items()
    if district in districts
}


@dataclass(frozen=True)
class NewArea:
    """An area to add, checked before any connection is opened."""

    area_id: str
    name: str
    shape: MultiPolygon

    @classmethod
    def read(cls, name: str, boundary: Path, area_id: str | None = None) -> NewArea:
        """The area named name, its id given or slugged from the name, its boundary's file."""
        slug = area_id or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if not re.fullmatch(r"[a-z0-9-]+", slug):
            raise UserInputError(f"area id {slug!r} must be lower-case letters, digits and dashes")
        return cls(slug, name, read_boundary(boundary))


@dataclass(frozen=True)
class AddedArea(Result):
    """What adding an area did (the `hardening area add --json` document)."""

    area_id: str
    name: str
    km2: float
    agreements: dict[str, int]  # partner -> its active agreements extended
    placed: dict[str, int]  # table -> rows loaded before the area arrived, now placed in it


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


def add_area(conn: Connection, area: NewArea, partners: list[str]) -> AddedArea:
    """Add (or re-draw) the area, extend the partners' active agreements to it and place the
    rows that were loaded before it existed; as the system, in conn's transaction."""
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO areas VALUES (:id, :name, ST_Multi(ST_GeomFromText(:wkt, "
                    "27700))) ON CONFLICT (area_id) DO UPDATE SET name = EXCLUDED.name, "
                    "geom = EXCLUDED.geom"
                ),
                {"id": area.area_id, "name": area.name, "wkt": area.shape.wkt},
            )
    except IntegrityError as exc:
        raise UserInputError(f"cannot add area {area.name!r}: {exc.orig}") from exc
    linked: dict[str, int] = {}
    for org in partners:
        rows = conn.execute(
            text(
                "INSERT INTO agreement_areas (agreement_id, area_id) SELECT agreement_id, :a "
                "FROM sharing_agreements WHERE org_id = :o AND current_date <= ends_on "
                "ON CONFLICT DO NOTHING RETURNING agreement_id"
            ),
            {"a": area.area_id, "o": org},
        ).all()
        known = conn.execute(
            text("SELECT count(*) FROM sharing_agreements WHERE org_id = :o"), {"o": org}
        ).scalar_one()
        if not known:
            raise UserInputError(f"organisation {org!r} has no sharing agreement")
        linked[org] = len(rows)
    placed = place_unplaced(conn, DISTRICT_AREA)
    return AddedArea(area.area_id, area.name, round(area.shape.area / 1e6, 2), linked, placed)
