"""Benchmark: maximal covering (MCLP) by this project (HiGHS, reduced model, greedy warm start)
against greedy and against pysal/spopt's MCLP (PuLP + CBC), on the same instances.

Instances are demand x candidates points in a town-sized square with clustered demand; a
candidate covers demand within the service radius; p = candidates / 20 sites. spopt runs in a
separate interpreter (`--spopt-python`, e.g. a throw-away venv) with a time limit, since it is
not a dependency of the project. A visibility section times camera views with walls at town
scale (20,000 entrances). Prints one JSON document.

    .venv/bin/python benchmarks/bench_plan.py --spopt-python /tmp/spopt-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
import shapely

from hardening.coverage.geometry import Camera, Walls
from hardening.coverage.matrix import Candidate, cover_matrix, views
from hardening.coverage.mclp import CoverProblem, greedy, solve

SIZES = ((2_000, 200), (10_000, 500), (20_000, 1_000))
RADIUS = 150.0

SPOPT_SCRIPT = r"""
import json, sys, time
import numpy as np
import pulp
from spopt.locate import MCLP
d = np.load(sys.argv[1])
t0 = time.perf_counter()
model = MCLP.from_cost_matrix(d["dist"], d["weight"], service_radius=float(d["radius"]),
                              p_facilities=int(d["p"]))
built = time.perf_counter() - t0
solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(sys.argv[2]))
t1 = time.perf_counter()
try:
    model.solve(solver)
    status = pulp.LpStatus[model.problem.status]
except Exception as exc:  # spopt raises when CBC stops without an optimal answer
    status = f"error: {exc}"
solved = time.perf_counter() - t1
chosen = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
print(json.dumps({"build_s": built, "solve_s": solved, "status": status, "chosen": chosen}))
"""


def instance(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered demand (weights 0..1, a few hot spots heavier) and uniform candidates."""
    rng = np.random.default_rng(seed)
    side = 40.0 * np.sqrt(n)  # about 20,000 homes in a 5.7 km square
    centres = rng.random((max(4, n // 500), 2)) * side
    pick = rng.integers(0, len(centres), n)
    demand = np.clip(centres[pick] + rng.normal(0, side / 12, (n, 2)), 0, side)
    cands = rng.random((m, 2)) * side
    weight = rng.random(n) * np.where(rng.random(n) < 0.05, 10.0, 1.0)
    return demand, cands, weight


def coverage(demand: np.ndarray, cands: np.ndarray, radius: float) -> sp.csc_matrix:
    tree = shapely.STRtree(shapely.points(demand))
    j, i = tree.query(shapely.points(cands), predicate="dwithin", distance=radius)
    return sp.csc_matrix((np.ones(len(i)), (i, j)), shape=(len(demand), len(cands)))


def run_spopt(
    python: str, demand: np.ndarray, cands: np.ndarray, weight: np.ndarray, p: int, limit: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        dist = np.hypot(
            demand[:, None, 0] - cands[None, :, 0], demand[:, None, 1] - cands[None, :, 1]
        )
        path = Path(tmp) / "inst.npz"
        np.savez(path, dist=dist, weight=weight, radius=RADIUS, p=p)
        script = Path(tmp) / "run.py"
        script.write_text(SPOPT_SCRIPT)
        t0 = time.perf_counter()
        try:
            out = subprocess.run(
                [python, str(script), str(path), str(limit)],
                capture_output=True,
                text=True,
                timeout=limit * 3 + 300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "wall_s": time.perf_counter() - t0}
        if out.returncode != 0:
            return {"status": "failed", "stderr": out.stderr[-500:]}
        doc: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        doc["wall_s"] = time.perf_counter() - t0
        return doc


def mclp_case(n: int, m: int, spopt_python: str | None, limit: float) -> dict[str, Any]:
    demand, cands, weight = instance(n, m, seed=n + m)
    p = max(1, m // 20)
    t0 = time.perf_counter()
    cover = coverage(demand, cands, RADIUS)
    matrix_s = time.perf_counter() - t0
    problem = CoverProblem(cover, weight, max_new=p)
    quick = greedy(problem)
    best = solve(problem, time_limit=limit, warm=quick)
    ours_s = matrix_s + quick.seconds + best.seconds
    case: dict[str, Any] = {
        "demand": n,
        "candidates": m,
        "p": p,
        "ours": {
            "objective": round(best.objective, 4),
            "bound": round(best.bound, 4),
            "gap": best.gap,
            "status": best.status,
            "matrix_s": round(matrix_s, 3),
            "build_solve_s": round(best.seconds, 3),
            "total_s": round(ours_s, 3),
            "reduced_rows": best.rows,
            "reduced_cols": best.cols,
        },
        "greedy": {
            "objective": round(quick.objective, 4),
            "seconds": round(quick.seconds, 3),
            "points_below_optimal": round(100 * (1 - quick.objective / best.objective), 3),
        },
    }
    if spopt_python and Path(spopt_python).exists():
        sp_doc = run_spopt(spopt_python, demand, cands, weight, p, limit)
        if sp_doc.get("chosen") is not None:
            sp_doc["objective"] = round(problem.value(sp_doc.pop("chosen")), 4)
        if "build_s" in sp_doc:
            sp_total = sp_doc["build_s"] + sp_doc["solve_s"]
            sp_doc["total_s"] = round(sp_total, 3)
            case["time_ratio_spopt_over_ours"] = round(sp_total / ours_s, 1)
            case["ours_objective_ge_spopt"] = best.objective >= sp_doc.get("objective", 0) - 1e-6
        case["spopt"] = sp_doc
    else:
        case["spopt"] = "not available"
    return case


def visibility_case(n: int = 20_000, m: int = 1_000) -> dict[str, Any]:
    """Terraces of footprints with entrances 1 m in front; cameras along the streets."""
    rng = np.random.default_rng(7)
    rows = int(np.ceil(n / 200))
    fronts, polys = [], []
    for r in range(rows):  # two rows of 100 houses per street, 60 m between streets
        y = r * 60.0
        for k in range(100):
            x = k * 7.0
            polys += [
                shapely.box(x, y + 6, x + 6.5, y + 14),
                shapely.box(x, y - 14, x + 6.5, y - 6),
            ]
            fronts += [(x + 3.25, y + 5), (x + 3.25, y - 5)]
    pts = np.array(fronts[:n])
    walls = Walls(polys)
    cams = [
        Candidate(
            Camera(
                float(rng.uniform(0, 700)),
                float(rng.integers(0, rows) * 60.0),
                float(rng.uniform(0, 360)),
                90.0,
                60.0,
            ),
            "new",
            1.0,
        )
        for _ in range(m)
    ]
    t0 = time.perf_counter()
    vis = cover_matrix(views(cams, walls), pts[:, 0], pts[:, 1])
    walled = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = cover_matrix(views(cams, None), pts[:, 0], pts[:, 1])
    open_s = time.perf_counter() - t0
    return {
        "entrances": n,
        "walls": len(polys),
        "cameras": m,
        "with_walls_s": round(walled, 3),
        "sectors_only_s": round(open_s, 3),
        "pairs_with_walls": int(vis.nnz),
        "pairs_sectors_only": int(plain.nnz),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spopt-python", default=None, help="Interpreter with spopt and pulp.")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--sizes", default=",".join(f"{n}x{m}" for n, m in SIZES))
    args = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    doc = {
        "benchmark": "mclp",
        "radius_m": RADIUS,
        "cases": [mclp_case(n, m, args.spopt_python, args.time_limit) for n, m in sizes],
        "visibility": visibility_case(),
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
