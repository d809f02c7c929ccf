"""What coverage and siting read from the database, set-based, one query per layer.

Demand comes through the SECURITY DEFINER function coverage_demand (sql/007_coverage.sql): no
identifiers, one row per entrance point, so planners can be served aggregates of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from hardening.coverage.geometry import Camera, Walls
from hardening.errors import NotFoundError, PermissionDeniedError
from hardening.known import require_area

FloatArray = NDArray[np.float64]
INCIDENT_WEIGHT: Final = 0.5  # one recent incident nearby counts as half a top-scored home
BASE_WEIGHT: Final = 0.1  # with no scores, each household still counts a little
ENTRANCE_OUTSIDE_M: Final = 0.5  # an address point inside a footprint moves out by this much
MARGIN_M: Final = 250.0  # walls and roads this far past the boundary still matter


@dataclass(frozen=True)
class Site:
    site_id: int
    name: str | None
    status: str
    cam: Camera


@dataclass
class Demand:
    x: FloatArray
    y: FloatArray
    households: NDArray[np.int64]
    risk: FloatArray
    incidents: NDArray[np.int64]
    weight: FloatArray
    basis: str  # 'risk_scores' or 'incidents'

    def __len__(self) -> int:
        return len(self.x)


def area_polygon(conn: Connection, area_id: str) -> shapely.Geometry:
    wkb = conn.execute(
        text("SELECT ST_AsBinary(geom) FROM areas WHERE area_id = :a"), {"a": area_id}
    ).scalar()
    if wkb is None:
        require_area(conn, area_id)  # names the areas there are
        raise NotFoundError(f"unknown area {area_id!r}")
    return shapely.from_wkb(bytes(wkb))


def cctv_sites(conn: Connection, area_id: str) -> list[Site]:
    rows = conn.execute(
        text(
            "SELECT site_id, name, status, bearing_deg, fov_deg, range_m, ST_X(geom), ST_Y(geom) "
            "FROM cctv_sites WHERE area_id = :a AND status IN ('working', 'faulty') "
            "ORDER BY site_id"
        ),
        {"a": area_id},
    ).all()
    return [Site(r[0], r[1], r[2], Camera(r[6], r[7], r[3], r[4], r[5])) for r in rows]


def walls(conn: Connection, area: shapely.Geometry) -> Walls:
    rows = conn.execute(
        text(
            "SELECT ST_AsBinary(geom) FROM buildings "
            "WHERE geom && ST_Expand(ST_GeomFromWKB(:g, 27700), :m)"
        ),
        {"g": shapely.to_wkb(area), "m": MARGIN_M},
    ).scalars()
    return Walls(list(shapely.from_wkb([bytes(r) for r in rows])))


def demand(
    conn: Connection,
    area_id: str,
    days: int = 365,
    near_m: float = 50.0,
    fence: Walls | None = None,
) -> Demand:
    """Entrance points with households, risk and recent incidents, and the weight to cover.

    Weight = summed risk score / 100 + 0.5 per recent incident within near_m; with no risk
    scores at all, 0.1 per household + 1 per recent incident (basis 'incidents')."""
    require_planning(conn, area_id)
    rows = conn.execute(
        text(
            "SELECT x, y, households, risk, incidents FROM coverage_demand("
            ":a, CAST(:d AS integer), CAST(:n AS double precision))"
        ),
        {"a": area_id, "d": days, "n": near_m},
    ).all()
    # Plain tuples: numpy probes a Row for array interfaces by name, raising and catching once
    # per row and probe (most of this function's time before).
    arr = np.array([tuple(r) for r in rows], dtype=np.float64).reshape(-1, 5)
    x, y = arr[:, 0].copy(), arr[:, 1].copy()
    risk, incidents = arr[:, 3], arr[:, 4].astype(np.int64)
    households = arr[:, 2].astype(np.int64)
    if fence is not None and len(fence):
        x, y = _outside_walls(x, y, fence)
    scored = bool(risk.sum() > 0)
    weight = risk + INCIDENT_WEIGHT * incidents if scored else BASE_WEIGHT * households + incidents
    return Demand(
        x,
        y,
        households,
        risk,
        incidents,
        weight.astype(np.float64),
        "risk_scores" if scored else "incidents",
    )


def _outside_walls(x: FloatArray, y: FloatArray, fence: Walls) -> tuple[FloatArray, FloatArray]:
    """Address points that fall inside a footprint (common in real data) move to just outside
    its nearest wall: the entrance a camera could see."""
    pts = shapely.points(x, y)
    inside, poly = fence.tree.query(pts, predicate="within")
    if not len(inside):
        return x, y
    ring = shapely.get_exterior_ring(fence.polys[poly])
    near = shapely.get_coordinates(shapely.shortest_line(pts[inside], ring))[1::2]
    vx, vy = near[:, 0] - x[inside], near[:, 1] - y[inside]
    d = np.hypot(vx, vy).clip(1e-6)
    x, y = x.copy(), y.copy()
    x[inside] = near[:, 0] + ENTRANCE_OUTSIDE_M * vx / d
    y[inside] = near[:, 1] + ENTRANCE_OUTSIDE_M * vy / d
    return x, y


@dataclass(frozen=True)
class Road:
    road_id: int
    road_class: str
    oneway: bool
    line: shapely.LineString


def roads(conn: Connection, area: shapely.Geometry) -> list[Road]:
    rows = conn.execute(
        text(
            "SELECT road_id, road_class, oneway, ST_AsBinary(geom) FROM roads "
            "WHERE geom && ST_Expand(ST_GeomFromWKB(:g, 27700), :m) ORDER BY road_id"
        ),
        {"g": shapely.to_wkb(area), "m": MARGIN_M},
    ).all()
    return [Road(r[0], r[1], r[2], shapely.from_wkb(bytes(r[3]))) for r in rows]


def stations(conn: Connection, area_id: str) -> list[tuple[str, float, float]]:
    rows = conn.execute(
        text("SELECT name, ST_X(geom), ST_Y(geom) FROM transport_hubs WHERE area_id = :a"),
        {"a": area_id},
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def anpr_sites(conn: Connection, area_id: str) -> list[tuple[int, str | None, str, float, float]]:
    rows = conn.execute(
        text(
            "SELECT site_id, name, status, ST_X(geom), ST_Y(geom) FROM anpr_sites "
            "WHERE area_id = :a AND status IN ('working', 'faulty') ORDER BY site_id"
        ),
        {"a": area_id},
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def require_planning(conn: Connection, area_id: str) -> None:
    """Refuse (403) unless the actor may plan in the area: the system, or a planning role
    (planner, analyst, admin) whose agreement covers it."""
    allowed = conn.execute(
        text(
            "SELECT app_is_system() OR (app_has_any_role(app_planning_roles()) "
            "AND :a = ANY(app_areas()))"
        ),
        {"a": area_id},
    ).scalar()
    if not allowed:
        raise PermissionDeniedError(f"no planning access to area {area_id!r}")


def planning_areas(conn: Connection) -> list[tuple[str, str]]:
    """(area_id, name) of the areas the actor may plan in."""
    rows = conn.execute(
        text(
            "SELECT area_id, name FROM areas WHERE app_is_system() OR "
            "(app_has_any_role('{planner,analyst,admin}') AND area_id = ANY(app_areas())) "
            "ORDER BY name"
        )
    ).all()
    return [(r[0], r[1]) for r in rows]
