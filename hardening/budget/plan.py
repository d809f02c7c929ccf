"""The budget plan from its inputs, with no database: baselines, the solve (milp.py), the
uncertainty runs and the answer in words, a table and map points.

Baselines in the same run: cameras only and works only (the same solve with the other lever
shut) and greedy by value per pound. The full solve starts from the best of them, so its
objective is at least each one's. The effects are priors: the plan is valued again with every
effect size x low and x high, and re-solved at each, to say which choices would change.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hardening.budget import milp
from hardening.budget.build import Meta, build
from hardening.budget.inputs import BudgetInputs, BudgetParams
from hardening.budget.problem import CAMERA, WORKS, BudgetProblem, Choice, greedy
from hardening.budget.report import describe

WorksRow = tuple[str, int, str]  # provider, uprn (home or block), measure code


@dataclass
class BudgetResult:
    """The answer (`doc`, safe for any planning role) and the works by home (`works`, only
    when the actor reads the addresses: stored for the providers to raise)."""

    doc: dict[str, Any]
    works: list[WorksRow]


def _cost(pr: BudgetProblem, choice: Choice) -> float:
    return float(pr.spent(choice).sum())


def _changes(pr: BudgetProblem, meta: Meta, a: Choice, b: Choice) -> dict[str, Any]:
    """What differs between two choices: cameras opened or dropped, homes whose package
    changes, blocks whose package changes."""
    add = np.flatnonzero(b.cols & ~a.cols)
    drop = np.flatnonzero(a.cols & ~b.cols)
    return {
        "cameras_added": [meta.cols[j]["kind"] for j in add.tolist()],
        "cameras_dropped": [meta.cols[j]["kind"] for j in drop.tolist()],
        "homes_changed": int((a.pkg != b.pkg).sum()),
        "blocks_changed": int((a.blk != b.blk).sum()),
    }


def solve_budget(inputs: BudgetInputs, params: BudgetParams) -> BudgetResult:
    t0 = time.perf_counter()
    pr, meta = build(inputs, params)
    built = time.perf_counter() - t0
    limit = params.time_limit_s
    t1 = time.perf_counter()
    g = greedy(pr)
    seconds = {"build": built, "greedy": time.perf_counter() - t1}
    cams = milp.solve(pr, _only(pr, g, CAMERA), limit / 4, CAMERA)
    works = milp.solve(pr, _only(pr, g, WORKS), limit / 4, WORKS)
    seconds |= {"cameras only": cams.seconds, "works only": works.seconds}
    baselines = [("cameras only", cams.choice), ("works only", works.choice), ("greedy", g)]
    warm = max((c for _, c in baselines), key=pr.value)
    best = milp.solve(pr, warm, limit)
    seconds["milp"] = best.seconds
    t1 = time.perf_counter()
    uncertainty = _uncertainty(pr, meta, best.choice, params) if params.uncertainty else []
    seconds["uncertainty"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    doc = describe(inputs, pr, meta, best.choice)
    seconds["describe"] = time.perf_counter() - t1
    doc |= {
        "objective": round(best.objective, 6),
        "bound": round(best.bound, 6) if math.isfinite(best.bound) else None,  # None: unknown
        "gap": round(best.gap, 8) if math.isfinite(best.gap) else None,
        "status": best.status,
        "seconds": round(best.seconds, 3),
        "timings": {k: round(v, 3) for k, v in seconds.items()},
        "solver_rows": best.rows,
        "solver_cols": best.cols,
        "baselines": [
            {"name": name, "objective": round(pr.value(c), 6), "total_cost": round(_cost(pr, c), 2)}
            for name, c in baselines
        ],
        "uncertainty": uncertainty,
    }
    return BudgetResult(doc, _works_rows(inputs, pr, meta, best.choice))


def _only(pr: BudgetProblem, choice: Choice, lever: str) -> Choice:
    """The part of a choice one lever may keep (still within every budget)."""
    out = choice.copy()
    out.cols &= np.array([c == lever for c in pr.col_lever], dtype=bool)
    if lever != WORKS:
        out.pkg[:] = -1
        out.blk[:] = -1
    return out


def _uncertainty(
    pr: BudgetProblem, meta: Meta, chosen: Choice, params: BudgetParams
) -> list[dict[str, Any]]:
    out = []
    for name, scale in (("low", params.effects[0]), ("central", 1.0), ("high", params.effects[1])):
        at = pr if scale == 1.0 else pr.scaled(scale)
        row: dict[str, Any] = {
            "effects": name,
            "scale": scale,
            "plan_value": round(at.value(chosen), 6),
        }
        if scale != 1.0:
            best = milp.solve(at, chosen, params.time_limit_s / 4)
            row["best_value"] = round(best.objective, 6)
            row["changes"] = _changes(at, meta, chosen, best.choice)
        out.append(row)
    return out


def _works_rows(
    inputs: BudgetInputs, pr: BudgetProblem, meta: Meta, choice: Choice
) -> list[WorksRow]:
    """Each chosen measure at its home or block, when the homes are named to this actor."""
    if not inputs.named:
        return []
    rows: list[WorksRow] = []
    for h in np.flatnonzero(choice.pkg >= 0).tolist():
        k = int(choice.pkg[h])
        owner = pr.owners[int(pr.opt_owner[k])]
        rows += [(owner, int(inputs.homes.uprn[h]), c) for c in meta.opt_codes[k]]
    for b in np.flatnonzero(choice.blk >= 0).tolist():
        k = int(choice.blk[b])
        uprn = meta.block_uprn.get(b)
        if uprn is not None:
            owner = pr.owners[int(pr.blk_owner[k])]
            rows += [(owner, int(uprn), c) for c in meta.blk_codes[k]]
    for j in np.flatnonzero(choice.cols).tolist():
        col = meta.cols[j]
        if col["kind"] == "CCTV repair" and col.get("uprn") is not None:
            rows.append((pr.owners[int(col["owner"])], int(col["uprn"]), "cctv_repair"))
    return sorted(set(rows))
