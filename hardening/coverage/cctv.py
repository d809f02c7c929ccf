"""New CCTV sites for an area: candidates along streets, at junctions, faulty cameras as repairs
and the user's own; existing working cameras locked; MCLP by HiGHS beside the greedy answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from hardening.coverage import data
from hardening.coverage.geometry import Camera, Walls
from hardening.coverage.matrix import Candidate, cover_matrix, street_points, views
from hardening.coverage.mclp import CoverProblem, greedy, solve
from hardening.errors import UserInputError
from hardening.geo import to_bng, to_lon_lat


@dataclass(frozen=True)
class CctvParams:
    new_sites: int | None = None
    budget: float | None = None
    spacing_m: float = 60.0
    range_m: float = 60.0
    fov_deg: float = 360.0
    new_cost: float = 1.0  # per new site (in the budget's unit)
    repair_cost: float = 0.4  # per faulty camera brought back
    backup_weight: float = 0.0
    visibility: bool = True
    time_limit_s: float = 60.0
    days: int = 365
    extra: tuple[tuple[float, float, float], ...] = ()  # user candidates: lon, lat, cost

    def check(self) -> None:
        if self.new_sites is None and self.budget is None:
            raise UserInputError("give --new-sites K or --budget B")
        if not 1.0 <= self.range_m <= 1000.0 or not 1.0 <= self.fov_deg <= 360.0:
            raise UserInputError("range must be 1..1000 m and field of view 1..360 degrees")
        if not 0.1 <= self.time_limit_s <= 3600:
            raise UserInputError("the time limit must be between 0.1 s and an hour")


def plan_cctv(
    conn: Connection,
    area_id: str,
    params: CctvParams,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    params.check()
    say = progress or (lambda _: None)
    area = data.area_polygon(conn, area_id)
    fence = data.walls(conn, area) if params.visibility else Walls()
    dem = data.demand(conn, area_id, days=params.days, fence=fence)
    sites = data.cctv_sites(conn, area_id)
    say(f"{len(dem):,} demand points, {len(sites)} existing cameras, {len(fence):,} walls")
    along, joints = street_points(data.roads(conn, area), area, params.spacing_m)
    cands = [
        Candidate(
            s.cam,
            "existing" if s.status == "working" else "repair",
            0.0 if s.status == "working" else params.repair_cost,
            s.site_id,
        )
        for s in sites
    ]
    fresh = np.vstack([joints, along]) if len(along) or len(joints) else np.empty((0, 2))
    cands += [
        Candidate(
            Camera(float(x), float(y), 0.0, params.fov_deg, params.range_m), kind, params.new_cost
        )
        for (x, y), kind in zip(
            fresh.tolist(), ["junction"] * len(joints) + ["street"] * len(along), strict=True
        )
    ]
    for lon, lat, cost in params.extra:
        x, y = to_bng(lon, lat)
        cands.append(Candidate(Camera(x, y, 0.0, params.fov_deg, params.range_m), "user", cost))
    say(f"{len(cands):,} candidates; computing views")
    cover = cover_matrix(views(cands, fence), dem.x, dem.y)
    locked = [j for j, c in enumerate(cands) if c.kind == "existing"]
    problem = CoverProblem(
        cover,
        dem.weight,
        np.array([c.cost for c in cands]),
        locked,
        params.new_sites,
        params.budget,
        params.backup_weight,
    )
    say("greedy, then HiGHS")
    quick = greedy(problem)
    best = solve(problem, params.time_limit_s, warm=quick)
    total = float(dem.weight.sum())
    before = problem.value([])
    return {
        "kind": "cctv",
        "area_id": area_id,
        "weight_basis": dem.basis,
        "demand_points": len(dem),
        "candidates": len(cands),
        "locked": len(locked),
        "objective": round(best.objective, 4),
        "bound": round(best.bound, 4),
        "gap": round(best.gap, 6),
        "status": best.status,
        "seconds": round(best.seconds, 3),
        "solver_rows": best.rows,
        "solver_cols": best.cols,
        "greedy": {"objective": round(quick.objective, 4), "seconds": round(quick.seconds, 3)},
        "coverage_before": round(before / total, 4) if total else 0.0,
        "coverage_after": round(_covered(problem, best.new) / total, 4) if total else 0.0,
        "cost": round(float(sum(cands[j].cost for j in best.new)), 3),
        "chosen": [_site(cands[j]) for j in best.new],
        "existing": [_site(cands[j]) for j in locked],
    }


def _covered(problem: CoverProblem, new: Sequence[int]) -> float:
    """Weight covered at least once (the backup term left out)."""
    plain = CoverProblem(problem.cover, problem.weight, problem.cost, problem.locked, 0)
    return plain.value(list(new))


def _site(c: Candidate) -> dict[str, Any]:
    lon, lat = to_lon_lat(c.cam.x, c.cam.y)
    return {
        "kind": c.kind,
        "site_id": c.site_id,
        "lon": round(lon, 6),
        "lat": round(lat, 6),
        "bearing_deg": c.cam.bearing_deg,
        "fov_deg": c.cam.fov_deg,
        "range_m": c.cam.range_m,
        "cost": c.cost,
    }
