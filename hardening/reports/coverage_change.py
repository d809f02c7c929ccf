"""Camera coverage at the start and at the end of a year, from the sites' install and removal
dates (sql/013_site_dates.sql), through the coverage module's own functions: the same demand
points, walls, camera views and road flows as `hardening coverage report` and `plan anpr`.

A site is there on a day when it was installed by then (no date: always) and, if removed, it
went after that day (a removed site with no date: never there). Fault history is not kept, so
a camera faulty now counts as faulty on both days; planned sites count on neither. CCTV:
dwellings (households at entrance points) inside a working camera's view, walls included.
ANPR: the cordon share, the share of routes from where main roads enter the area (to its
highest-risk places) that pass a working ANPR camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
from sqlalchemy import Connection, text

from hardening.coverage import data
from hardening.coverage.anpr import entry_flows, snap_to_link
from hardening.coverage.flows import captured
from hardening.coverage.geometry import Camera
from hardening.coverage.matrix import Candidate, cover_matrix, views
from hardening.errors import PermissionDeniedError, UserInputError

DESTINATIONS: Final = 20  # as `hardening plan anpr` by default
PRESENT = """
    (s.installed_on IS NULL OR s.installed_on <= :d)
    AND (s.status IN ('working', 'faulty') OR (s.status = 'removed' AND s.removed_on > :d))
    AND (s.removed_on IS NULL OR s.removed_on > :d)
"""


@dataclass(frozen=True)
class Dated:
    """A site with whether it worked on each of the two days."""

    site_id: int
    x: float
    y: float
    cam: Camera | None  # None for ANPR
    working: tuple[bool, bool]


def _sites(conn: Connection, kind: str, area_id: str, days: tuple[date, date]) -> list[Dated]:
    view = ", s.bearing_deg, s.fov_deg, s.range_m" if kind == "cctv" else ""
    rows = conn.execute(
        text(
            f"SELECT s.site_id, ST_X(s.geom) AS x, ST_Y(s.geom) AS y, s.status{view}, "
            f"{PRESENT.replace(':d', ':d0')} AS at_start, {PRESENT.replace(':d', ':d1')} AS at_end "
            f"FROM {kind}_sites s WHERE s.area_id = :a ORDER BY s.site_id"
        ),
        {"a": area_id, "d0": days[0], "d1": days[1]},
    ).all()
    out = []
    for r in rows:
        works = r.status != "faulty"
        if not (r.at_start or r.at_end):
            continue
        cam = None
        if kind == "cctv":
            cam = Camera(r.x, r.y, r.bearing_deg, r.fov_deg, r.range_m)
        out.append(
            Dated(r.site_id, r.x, r.y, cam, (bool(r.at_start and works), bool(r.at_end and works)))
        )
    return out


def sites_present(conn: Connection, area_id: str | None, day: date) -> dict[str, int]:
    """Working sites of each kind on a day (for the report's counts)."""
    out = {}
    for kind in ("cctv", "anpr"):
        out[kind] = int(
            conn.execute(
                text(
                    f"SELECT count(*) FROM {kind}_sites s WHERE {PRESENT} AND s.status <> 'faulty' "
                    "AND s.area_id IS NOT NULL AND (CAST(:a AS text) IS NULL OR s.area_id = :a)"
                ),
                {"a": area_id, "d": day},
            ).scalar_one()
        )
    return out


def _cctv(conn: Connection, area_id: str, days: tuple[date, date]) -> dict[str, Any] | None:
    area = data.area_polygon(conn, area_id)
    fence = data.walls(conn, area)
    dem = data.demand(conn, area_id, fence=fence)
    if not len(dem):
        return None
    sites = _sites(conn, "cctv", area_id, days)
    cands = [Candidate(s.cam, "existing", 0.0, s.site_id) for s in sites if s.cam is not None]
    cover = cover_matrix(views(cands, fence), dem.x, dem.y)
    out: dict[str, Any] = {"households": int(dem.households.sum())}
    for k, label in enumerate(("start", "end")):
        on = np.flatnonzero([s.working[k] for s in sites])
        covered = np.asarray(cover[:, on].sum(axis=1)).ravel() > 0
        out[f"covered_{label}"] = int(dem.households[covered].sum())
        out[f"cameras_{label}"] = len(on)
    return out


def _anpr(conn: Connection, area_id: str, days: tuple[date, date]) -> dict[str, Any] | None:
    """Entry paths captured on each day, on the flows `coverage.anpr.plan_anpr` judges."""
    try:
        setup = entry_flows(conn, area_id, DESTINATIONS)
    except UserInputError:  # no origin or no destination: no route to capture
        return None
    if setup is None:
        return None
    flows = setup.flows
    entry_total = int(flows.entry.sum())
    if not entry_total:
        return None
    out: dict[str, Any] = {"entry_routes": entry_total}
    sites = _sites(conn, "anpr", area_id, days)
    for k, label in enumerate(("start", "end")):
        links = []
        for s in sites:
            link = snap_to_link(setup.tree, s.x, s.y)
            if s.working[k] and link is not None:
                links.append(link)
        hit = captured(flows, links) & flows.entry
        out[f"captured_{label}"] = int(hit.sum())
        out[f"cameras_{label}"] = sum(s.working[k] for s in sites)
    return out


def coverage_change(conn: Connection, year: int, area: str | None) -> dict[str, Any]:
    """Per area: CCTV households covered and ANPR entry routes captured on 1 January and
    31 December, raw (publish.py rounds and shares them)."""
    days = (date(year, 1, 1), date(year, 12, 31))
    areas = (
        [area]
        if area
        else list(
            conn.execute(
                text(
                    "SELECT area_id FROM areas WHERE app_is_system() OR area_id = ANY(app_areas()) "
                    "ORDER BY area_id"
                )
            ).scalars()
        )
    )
    out: dict[str, Any] = {
        "start": days[0],
        "end": days[1],
        "sites_start": sites_present(conn, area, days[0]),
        "sites_end": sites_present(conn, area, days[1]),
        "areas": {},
        "area_names": dict(
            conn.execute(
                text("SELECT area_id, name FROM areas WHERE area_id = ANY(:a)"), {"a": areas}
            ).all()
        ),
    }
    try:
        for a in areas:
            cctv, anpr = _cctv(conn, a, days), _anpr(conn, a, days)
            if cctv or anpr:
                out["areas"][a] = {"cctv": cctv, "anpr": anpr}
    except PermissionDeniedError:  # demand is for planners, analysts and admins
        out["areas"] = None
    return out
