"""The budget plan's solve: first the priced budgets (lagrange.py: a proven bound and plans in
seconds at any size), then, only when they are not within the relative gap, this MILP built
directly for HiGHS (as coverage.mclp is) from the best plan for the time left. Both start
from the best baseline, so the answer is never worse than any of them.

Columns: x_j (binary) per camera column, y_k (binary) per home package, g_b (binary) per block
package, c_r in [0, 1] per coverage row, w_h >= 0 per covered home with packages.
    max  sum_k v0_k y_k + sum_r gcam_r c_r - sum_h w_h + sum_b V_b g_b
    s.t. sum_k y_k <= 1                       (one package per home)
         c_r - sum_j a_rj x_j <= 0            (a home counts as seen only when a camera sees it)
         sum_k pen_k y_k + M_h c_h - w_h <= M_h  (M_h = max pen: w_h = pen of the chosen
                                              package when seen, else 0)
         sum_b g_b <= 1 per block; costs within the total and each owner's cap.
Homes with no package that have the same coverage pattern merge into one row with their
summed gain (as coverage.mclp.reduce merges demand). c needs no integrality: with integer x
and y the optimum has c at min(1, seen) and w at its bound. At 80,000 homes this is 79,000
rows x 189,000 columns and its root LP alone takes HiGHS over a minute, hence the first phase.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

from hardening.budget import lagrange
from hardening.budget.problem import BudgetProblem, Choice

TIME_UP = "Time limit reached"  # HiGHS's words for it


@dataclass
class Solved:
    choice: Choice
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float
    rows: int
    cols: int

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


@dataclass
class _Model:
    a: sp.csc_matrix
    cost: np.ndarray
    upper_col: np.ndarray
    upper_row: np.ndarray
    integer: np.ndarray
    n_x: int
    n_y: int
    n_g: int
    row_homes: list[np.ndarray]  # per coverage row, its homes (merged rows hold several)
    w_home: np.ndarray  # per w column, its home


def _build(pr: BudgetProblem, lever: str | None) -> _Model:
    n_x, n_y, n_g = len(pr.col_cost), len(pr.opt_home), len(pr.blk_block)
    allowed_x, works = pr.lever_mask(lever) if lever else (np.ones(n_x, bool), True)
    has_pkg = np.zeros(pr.n_homes, dtype=bool)
    if works:
        has_pkg[pr.opt_home] = True
    reach = np.diff(pr.rows.indptr) > 0
    coverable = reach & (pr.gcam > 1e-12)
    # Coverage rows: each home with packages its own, the rest merged by pattern.
    groups: dict[bytes, int] = {}
    row_homes: list[list[int]] = []
    row_of_home = np.full(pr.n_homes, -1, dtype=np.int64)
    for h in np.flatnonzero(coverable).tolist():
        if has_pkg[h]:
            r = len(row_homes)
            row_homes.append([h])
        else:
            key = pr.rows.indices[pr.rows.indptr[h] : pr.rows.indptr[h + 1]].tobytes()
            r = groups.get(key, -1)
            if r < 0:
                r = groups[key] = len(row_homes)
                row_homes.append([])
            row_homes[r].append(h)
        row_of_home[h] = r
    n_c = len(row_homes)
    homes_arr = [np.asarray(hs, dtype=np.int64) for hs in row_homes]
    first = np.array([hs[0] for hs in row_homes], dtype=np.int64)
    gain_c = np.array([float(pr.gcam[hs].sum()) for hs in homes_arr])
    # w per covered home with packages whose packages take from the camera's gain.
    m_home = np.zeros(pr.n_homes)
    if works and n_y:
        np.maximum.at(m_home, pr.opt_home, pr.pen)
    w_home = np.flatnonzero(has_pkg & coverable & (m_home > 1e-12))
    n_w = len(w_home)
    ox, oy, og, oc, ow = 0, n_x, n_x + n_y, n_x + n_y + n_g, n_x + n_y + n_g + n_c
    n_cols = ow + n_w
    rows, cols, vals, upper = [], [], [], []
    r0 = 0
    # One package per home.
    pkg_homes = np.flatnonzero(has_pkg)
    row_of = np.full(pr.n_homes, -1, dtype=np.int64)
    row_of[pkg_homes] = np.arange(len(pkg_homes))
    if n_y and works:
        rows.append(r0 + row_of[pr.opt_home])
        cols.append(oy + np.arange(n_y))
        vals.append(np.ones(n_y))
    upper.append(np.ones(len(pkg_homes)))
    r0 += len(pkg_homes)
    # Coverage: c_r - sum_j a_rj x_j <= 0.
    if n_c:
        sub = pr.rows[first]
        sub_r = np.repeat(np.arange(n_c), np.diff(sub.indptr))
        rows += [r0 + np.arange(n_c), r0 + sub_r]
        cols += [oc + np.arange(n_c), ox + sub.indices]
        vals += [np.ones(n_c), -np.ones(len(sub.indices))]
    upper.append(np.zeros(n_c))
    r0 += n_c
    # Interaction: sum_k pen_k y_k + M_h c_h - w_h <= M_h.
    if n_w:
        w_row = np.full(pr.n_homes, -1, dtype=np.int64)
        w_row[w_home] = np.arange(n_w)
        k = np.flatnonzero(w_row[pr.opt_home] >= 0)
        rows += [r0 + w_row[pr.opt_home[k]], r0 + np.arange(n_w), r0 + np.arange(n_w)]
        cols += [oy + k, oc + row_of_home[w_home], ow + np.arange(n_w)]
        vals += [pr.pen[k], m_home[w_home], -np.ones(n_w)]
    upper.append(m_home[w_home])
    r0 += n_w
    # One package per block.
    if n_g:
        rows.append(r0 + pr.blk_block)
        cols.append(og + np.arange(n_g))
        vals.append(np.ones(n_g))
    upper.append(np.ones(pr.n_blocks))
    r0 += pr.n_blocks
    # Budgets: the total, then each capped owner.
    costs = np.concatenate([pr.col_cost, pr.opt_cost, pr.blk_cost])
    owner = np.concatenate([pr.col_owner, pr.opt_owner, pr.blk_owner])
    idx = np.arange(n_x + n_y + n_g)
    rows.append(np.full(len(idx), r0))
    cols.append(idx)
    vals.append(costs)
    upper.append(np.array([pr.total]))
    r0 += 1
    for o in np.flatnonzero(np.isfinite(pr.caps)).tolist():
        mine = idx[owner == o]
        rows.append(np.full(len(mine), r0))
        cols.append(mine)
        vals.append(costs[mine])
        upper.append(np.array([pr.caps[o]]))
        r0 += 1
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, n_cols)
    )
    a.sort_indices()
    obj = np.concatenate(
        [
            np.zeros(n_x),
            pr.v0 if works else np.zeros(n_y),
            pr.blk_value if works else np.zeros(n_g),
            gain_c,
            -np.ones(n_w),
        ]
    )
    ub = np.concatenate(
        [
            allowed_x.astype(float),
            np.full(n_y + n_g, 1.0 if works else 0.0),
            np.ones(n_c),
            m_home[w_home],
        ]
    )
    integer = np.concatenate([np.ones(n_x + n_y + n_g, bool), np.zeros(n_c + n_w, bool)])
    return _Model(a, obj, ub, np.concatenate(upper), integer, n_x, n_y, n_g, homes_arr, w_home)


def _values(pr: BudgetProblem, m: _Model, choice: Choice) -> np.ndarray:
    """Column values of a choice (for the warm start)."""
    x = choice.cols.astype(float)
    y = np.zeros(m.n_y)
    y[choice.pkg[choice.pkg >= 0]] = 1.0
    g = np.zeros(m.n_g)
    g[choice.blk[choice.blk >= 0]] = 1.0
    seen = pr.covered(choice.cols)
    c = np.array([1.0 if seen[hs[0]] else 0.0 for hs in m.row_homes])
    k = choice.pkg[m.w_home]
    w = np.where((k >= 0) & seen[m.w_home], pr.pen[np.maximum(k, 0)], 0.0)
    return np.concatenate([x, y, g, c, w])


def solve(
    pr: BudgetProblem,
    warm: Choice,
    time_limit: float,
    lever: str | None = None,
    rel_gap: float = 1e-4,
) -> Solved:
    """The best choice within time_limit (never worse than `warm`, which must be feasible for
    the lever), with a proven bound and the gap. First the priced budgets (lagrange.py): a
    bound and plans in seconds at any size; then, if they are not within rel_gap, this MILP
    on HiGHS from the best plan for the time left, its bound kept when tighter."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    priced = lagrange.bound_and_plan(pr, lever, warm, deadline, rel_gap)
    bound, choice = priced.bound, priced.choice
    value = pr.value(choice)
    status, shape = TIME_UP, priced.shape
    if bound - value > rel_gap * abs(bound) and time.perf_counter() < deadline:
        m = _build(pr, lever)
        shape = m.a.shape
        h = lagrange.run_highs(
            m.a, m.cost, m.upper_col, m.upper_row, m.integer, deadline, rel_gap,
            _values(pr, m, choice), presolve=False,
        )  # fmt: skip
        found = _choice(pr, m, np.asarray(h.getSolution().col_value))
        if found is not None and pr.feasible(found) and pr.value(found) > value:
            choice, value = found, pr.value(found)
        dual = float(h.getInfo().mip_dual_bound)
        if np.isfinite(dual):
            bound = min(bound, max(dual, value))
        stopped = h.getModelStatus() == highspy.HighsModelStatus.kInterrupt  # our deadline
        status = TIME_UP if stopped else h.modelStatusToString(h.getModelStatus())
    # No bound yet (the deadline came first): the gap is unknown (inf).
    gap = max(0.0, (bound - value) / max(abs(bound), 1e-12)) if math.isfinite(bound) else math.inf
    return Solved(
        choice,
        value,
        bound,
        gap,
        "optimal" if gap <= rel_gap else status,
        time.perf_counter() - t0,
        shape[0],
        shape[1],
    )


def _choice(pr: BudgetProblem, m: _Model, sol: np.ndarray) -> Choice | None:
    """The choice of a MILP solution (None when HiGHS has none)."""
    if len(sol) != m.a.shape[1]:
        return None
    choice = pr.empty()
    choice.cols = sol[: m.n_x] > 0.5
    for k in np.flatnonzero(sol[m.n_x : m.n_x + m.n_y] > 0.5).tolist():
        choice.pkg[int(pr.opt_home[k])] = k
    for k in np.flatnonzero(sol[m.n_x + m.n_y : m.n_x + m.n_y + m.n_g] > 0.5).tolist():
        choice.blk[int(pr.blk_block[k])] = k
    return choice
