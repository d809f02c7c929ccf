"""The risk layer for maps: stored scores aggregated to a BNG grid (never a point per
household), cell centres in WGS84. What an actor sees follows row-level security: a housing
provider gets the cells of its own homes, police their areas, planners nothing."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.geo import to_bng, to_lon_lat
from hardening.risk.model import load

MIN_CELL_M, MAX_CELL_M = 50, 5000


def grid(
    conn: Connection,
    cell_m: int = 250,
    area_id: str | None = None,
    model_version: str | None = None,
    scores: bool = False,
) -> list[dict[str, Any]]:
    """One row per cell with scores: centre lon/lat, dwellings, the highest band and how many
    are high or very high; with `scores` (police views) also the mean and maximum score."""
    if not MIN_CELL_M <= cell_m <= MAX_CELL_M:
        raise UserInputError(f"cell size must be {MIN_CELL_M}..{MAX_CELL_M} m, not {cell_m}")
    model = load(conn, model_version, store=False)
    rows = conn.execute(
        text(
            "SELECT floor(ST_X(a.geom) / :c)::bigint AS ix, floor(ST_Y(a.geom) / :c)::bigint AS iy,"
            " count(*) AS n, avg(s.score) AS mean, max(s.score) AS top, "
            "count(*) FILTER (WHERE s.band IN ('high', 'very_high')) AS high "
            "FROM risk_scores s JOIN addresses a USING (uprn) WHERE s.model_version = :m "
            "AND (CAST(:a AS text) IS NULL OR s.area_id = :a) GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"c": cell_m, "m": model.version, "a": area_id},
    ).all()
    out = []
    for ix, iy, n, mean, top, high in rows:
        lon, lat = to_lon_lat((ix + 0.5) * cell_m, (iy + 0.5) * cell_m)
        cell = {
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "cell_m": cell_m,
            "dwellings": int(n),
            "high": int(high),
            "band": model.band(float(top)),
        }
        if scores:
            cell |= {"mean_score": round(float(mean), 3), "max_score": round(float(top), 3)}
        out.append(cell)
    return out


def cell_ring(cell: dict[str, Any]) -> list[list[float]]:
    """The square of a `grid` cell as a lon/lat ring (its BNG corners, so neighbouring cells
    meet edge to edge on the map)."""
    size = int(cell["cell_m"])
    x, y = to_bng(float(cell["lon"]), float(cell["lat"]))
    x0, y0 = math.floor(x / size) * size, math.floor(y / size) * size
    corners = ((x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0))
    return [[round(v, 6) for v in to_lon_lat(cx, cy)] for cx, cy in corners]
