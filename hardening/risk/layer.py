"""The risk layer for maps: stored scores aggregated to a BNG grid (never a point per
household), cell centres in WGS84. The squares are the one risk grid's (`risk_squares`,
sql/034_risk_squares.sql, shared with the OGC collection and the vector tiles), in its exact
form: what an actor sees follows row-level security (a housing provider gets the cells of its
own homes, police their areas, planners nothing), and mean and highest scores come only to
those who read risk factors (police). Python only places and formats the squares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.geo import to_bng, to_lon_lat
from hardening.models import Result
from hardening.risk.model import load

MIN_CELL_M, MAX_CELL_M = 50, 5000


@dataclass(frozen=True)
class RiskCell(Result):
    """One square: its centre, size, dwellings scored, how many are high or very high, the
    highest band; mean and highest score for police (None otherwise)."""

    lon: float
    lat: float
    cell_m: int
    dwellings: int
    high: int
    band: str
    mean_score: float | None = None
    max_score: float | None = None


def grid(
    conn: Connection,
    cell_m: int = 250,
    area_id: str | None = None,
    model_version: str | None = None,
) -> list[RiskCell]:
    """The squares with scores the actor may read, in columns west to east (each south to north)."""
    if not MIN_CELL_M <= cell_m <= MAX_CELL_M:
        raise UserInputError(f"cell size must be {MIN_CELL_M}..{MAX_CELL_M} m, not {cell_m}")
    model = load(conn, model_version, store=False)  # the explanation panel's model too
    rows = conn.execute(
        text(
            "SELECT ix, iy, dwellings, high, band, mean_score, max_score "
            "FROM risk_squares(:c, area => :a, model => :m) ORDER BY ix, iy"
        ),
        {"c": cell_m, "m": model.version, "a": area_id},
    ).all()
    out = []
    for r in rows:
        lon, lat = to_lon_lat((r.ix + 0.5) * cell_m, (r.iy + 0.5) * cell_m)
        scores = (None if v is None else round(v, 3) for v in (r.mean_score, r.max_score))
        out.append(RiskCell(round(lon, 6), round(lat, 6), cell_m, r.dwellings, r.high, r.band,
                            *scores))  # fmt: skip
    return out


def cell_ring(cell: RiskCell | Mapping[str, Any]) -> list[list[float]]:
    """The square of a cell (a `grid` cell, or a mapping with lon, lat and cell_m) as a lon/lat
    ring (its BNG corners, so neighbouring cells meet edge to edge on the map)."""
    c = cell.as_dict() if isinstance(cell, RiskCell) else cell
    size = int(c["cell_m"])
    x, y = to_bng(float(c["lon"]), float(c["lat"]))
    x0, y0 = math.floor(x / size) * size, math.floor(y / size) * size
    corners = ((x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0))
    return [[round(v, 6) for v in to_lon_lat(cx, cy)] for cx, cy in corners]
