"""New CCTV sites for an area: candidates along streets, at junctions, faulty cameras as repairs
and the user's own; existing working cameras locked; MCLP by HiGHS beside the greedy answer.

The answer is disclosure-controlled like the coverage report (`_publish`): a site's share of the
risk is withheld with its count of homes, and coverage before or after (and the optimiser's
objective, which is the weight covered) with the homes they are about."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from hardening.coverage import data
from hardening.coverage.geometry import Camera, Walls
from hardening.coverage.matrix import Candidate, cover_matrix, street_points, views
from hardening.coverage.mclp import CoverProblem, greedy, solve
from hardening.errors import UserInputError
from hardening.geo import to_bng, to_lon_lat
from hardening.security.disclosure import publishable, split_publishable


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


@dataclass(frozen=True)
class CctvInputs:
    """What a CCTV plan reads from the database (one short transaction), so the solve can run
    with no connection held, in this process or another (the values pickle)."""

    area_id: str
    area: shapely.Geometry
    fence: Walls
    demand: data.Demand
    sites: list[data.Site]
    roads: list[data.Road]


def read_cctv(conn: Connection, area_id: str, params: CctvParams) -> CctvInputs:
    """The plan's inputs, read as conn's actor."""
    params.check()
    area = data.area_polygon(conn, area_id)
    fence = data.walls(conn, area) if params.visibility else Walls()
    dem = data.demand(conn, area_id, days=params.days, fence=fence)
    sites = data.cctv_sites(conn, area_id)
    return CctvInputs(area_id, area, fence, dem, sites, data.roads(conn, area))


def plan_cctv(
    conn: Connection,
    area_id: str,
    params: CctvParams,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    return solve_cctv(read_cctv(conn, area_id, params), params, progress)


def solve_cctv(
    inputs: CctvInputs, params: CctvParams, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The plan from its inputs: no database."""
    say = progress or (lambda _: None)
    area_id, area, fence, dem, sites = (
        inputs.area_id, inputs.area, inputs.fence, inputs.demand, inputs.sites
    )  # fmt: skip
    say(f"{len(dem):,} demand points, {len(sites)} existing cameras, {len(fence):,} walls")
    along, joints = street_points(inputs.roads, area, params.spacing_m)
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
    order, adds, seen = _marginals(problem, best.new, dem.households, total)
    start = np.asarray(problem.cover[:, problem.locked].sum(axis=1)).ravel() > 0
    plan: dict[str, Any] = {
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
        "cost": round(float(sum(cands[j].cost for j in order)), 3),
        "chosen": [_site(cands[j]) | add for j, add in zip(order, adds, strict=True)],
        "existing": [_site(cands[j]) for j in locked],
        "households_added": publishable(seen),
        "shortfall": _shortfall(problem, params, order),
    }
    return _publish(plan, int(dem.households[start].sum()), seen, int(dem.households.sum()))


def _publish(plan: dict[str, Any], before: int, added: int, total: int) -> dict[str, Any]:
    """Withhold what would speak of fewer than 10 homes. Coverage before is about the homes
    the existing cameras see (and, with the area's weight, the rest); coverage after about
    those seen after, and minus coverage before about the homes added; the objective, bound and
    greedy figure are the weight seen after. Each site's share goes with its homes, and when
    exactly one site's is withheld while the total added shows, the smallest other one too
    (else the one is the total minus the others)."""
    before_ok = split_publishable(before, total)
    after_ok = split_publishable(before + added, total) and (
        publishable(added) is not None or not before_ok
    )
    if not before_ok:
        plan["coverage_before"] = None
    if not after_ok:
        plan["coverage_after"] = plan["objective"] = plan["bound"] = None
        plan["greedy"]["objective"] = None
    sites: list[dict[str, Any]] = plan["chosen"]
    for site in sites:
        if site["adds_households"] is None:
            site["adds_share"] = None
    withheld = [a for a in sites if a["adds_share"] is None]
    shown = [a for a in sites if a["adds_share"] is not None]
    if len(withheld) == 1 and before_ok and after_ok and shown:
        min(shown, key=lambda a: float(a["adds_share"]))["adds_share"] = None
    return plan


def _marginals(
    problem: CoverProblem, new: Sequence[int], households: np.ndarray, total: float
) -> tuple[list[int], list[dict[str, Any]], int]:
    """The chosen sites, the one adding most first, each with what it adds to the locked sites
    and those before it: homes newly seen (published) and its share of the area's weight. A
    site the optimiser opened that adds nothing (allowed, not needed) is left out."""
    seen = np.asarray(problem.cover[:, problem.locked].sum(axis=1)).ravel() > 0
    start = seen.copy()
    left, order, adds = list(new), [], []
    while left:
        gains = [
            (float(problem.weight[(problem.cover[:, [j]].toarray().ravel() > 0) & ~seen].sum()), j)
            for j in left
        ]
        gain, j = max(gains, key=lambda g: (g[0], -g[1]))
        if gain <= 0 and problem.backup_weight == 0:
            break  # the rest add nothing: a camera there would be money for no new view
        fresh = (problem.cover[:, [j]].toarray().ravel() > 0) & ~seen
        seen |= fresh
        left.remove(j)
        order.append(j)
        adds.append({
            "adds_households": publishable(int(households[fresh].sum())),
            "adds_share": round(float(problem.weight[fresh].sum()) / total, 4) if total else 0.0,
        })  # fmt: skip
    return order, adds, int(households[seen & ~start].sum())


def _shortfall(problem: CoverProblem, params: CctvParams, chosen: Sequence[int]) -> str | None:
    """Why fewer sites came back than were asked for, or why a budget bought none (None when
    as many as asked)."""
    if params.new_sites is None:
        if chosen or params.budget is None:
            return None
        unlocked = np.setdiff1d(np.arange(problem.cover.shape[1]), problem.locked)
        cheapest = np.inf if problem.cost is None else problem.cost[unlocked].min(initial=np.inf)
        if np.isfinite(cheapest) and params.budget < cheapest:
            return (f"the budget of £{params.budget:,.0f} is less than the cheapest site's "
                    f"£{cheapest:,.0f}")  # fmt: skip
        return "no place along the streets would see homes that no camera sees yet"
    if len(chosen) >= params.new_sites:
        return None
    if params.budget is not None and len(chosen) and problem.cost is not None:
        spent = float(problem.cost[list(chosen)].sum())
        if params.budget - spent < float(problem.cost[problem.free].min(initial=np.inf)):
            return f"the budget is spent after {len(chosen)} site(s)"
    return (
        f"only {len(chosen)} place(s) along the streets would see homes that no camera sees "
        "yet: a camera anywhere else would see only homes already covered"
    )


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
