"""The MILP's first phase: a proven bound and good plans from pricing the budgets (Lagrangian
relaxation), fast where the whole MILP's LP relaxation is not (at 80,000 homes HiGHS needs a
minute for the root LP; each priced problem here is a few thousand rows).

Price every pound owner o spends at pi_o = lam + mu_o (lam for the total, mu_o for o's cap).
With budgets priced instead of enforced the problem splits, exactly (problem.py's value):
- each home takes the package with the most value less its price, once as unseen and once as
  seen by a camera; its camera credit d_h is the difference;
- each block takes its best package;
- the cameras solve a prize-collecting cover on HiGHS: homes with one coverage pattern merge
  into one row worth their summed d_h (as coverage.mclp merges demand), cameras worth no more
  than their price alone are dropped, and so are the rows no camera left sees.
L = lam B + sum_o mu_o cap_o + that maximum bounds every plan's value (weak duality; HiGHS's
dual bound stands in for the cameras' part if it stops early), for any multipliers >= 0.
A cutting-plane method in a trust region minimises L over the multipliers; the minimum is at
least as tight as the MILP's LP relaxation. Each priced answer, cut back to the budgets and
topped up greedily, is a plan.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

from hardening.budget.problem import BudgetProblem, Choice, FloatArray, IntArray, top_up, trim
from hardening.coverage.mclp import quiet_highs


def stop_at(h: highspy.Highs, deadline: float) -> None:
    """Interrupt HiGHS at the deadline (perf_counter) wherever it is: its own time_limit is
    checked between phases only, and the root LP at 200,000 addresses overran it tenfold."""

    def check(event: highspy.HighsCallbackEvent) -> None:
        if time.perf_counter() > deadline:
            event.interrupt()

    for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
        hook.subscribe(check)
    h.setOptionValue("time_limit", float(max(0.05, deadline - time.perf_counter())))


def run_highs(
    a: sp.csc_matrix,
    cost: FloatArray,
    upper_col: FloatArray,
    upper_row: FloatArray,
    integer: np.ndarray,
    deadline: float,
    rel_gap: float,
    start: FloatArray | None = None,
    abs_gap: float = 0.0,
    presolve: bool = True,
) -> highspy.Highs:
    """max cost.x, 0 <= x <= upper_col, a x <= upper_row, on one thread until the deadline
    (turn presolve off for large models: HiGHS's MIP presolve does not answer the interrupt,
    and took minutes on the whole MILP at 200,000 addresses)."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = upper_col
    lp.row_lower_ = np.full(lp.num_row_, -highspy.kHighsInf)
    lp.row_upper_ = upper_row
    a = sp.csc_matrix(a)
    a.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
        for i in integer.tolist()
    ]
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("mip_abs_gap", float(abs_gap))
    h.setOptionValue("threads", 1)
    h.setOptionValue("presolve", "on" if presolve else "off")
    stop_at(h, deadline)
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    return h


@dataclass
class Relaxed:
    """The least bound found, the best plan, and the largest camera cover priced (rows, cols)."""

    bound: float
    choice: Choice
    shape: tuple[int, int]


@dataclass
class Priced:
    """One priced problem's answer: its bound, its choice and what that choice spends."""

    bound: float
    choice: Choice
    spent: FloatArray  # per owner


class Lagrangian:
    def __init__(self, pr: BudgetProblem, lever: str | None) -> None:
        self.pr = pr
        allowed, works = pr.lever_mask(lever) if lever else (np.ones(len(pr.col_cost), bool), True)
        n_opt = len(pr.opt_home) if works else 0
        order = np.argsort(pr.opt_home[:n_opt], kind="stable")
        self.opt: IntArray = order  # options by home
        self.homes, self.starts = np.unique(pr.opt_home[order], return_index=True)
        self.of_opt = np.repeat(np.arange(len(self.homes)), np.diff(np.append(self.starts, n_opt)))
        self.seen_value = (pr.v0 + pr.gcam[pr.opt_home] - pr.pen)[order]
        n_blk = len(pr.blk_block) if works else 0
        self.blk: IntArray = np.argsort(pr.blk_block[:n_blk], kind="stable")
        self.blocks, self.blk_starts = np.unique(pr.blk_block[self.blk], return_index=True)
        self.of_blk = np.repeat(
            np.arange(len(self.blocks)), np.diff(np.append(self.blk_starts, n_blk))
        )
        # Homes a camera on offer can see, merged by the cameras that see them.
        self.cols = np.flatnonzero(allowed)
        rows = sp.csr_matrix(pr.rows[:, self.cols])
        coverable = np.flatnonzero((np.diff(rows.indptr) > 0) & (pr.gcam > 1e-12))
        keys: dict[bytes, int] = {}
        pattern = np.array(
            [
                keys.setdefault(
                    rows.indices[rows.indptr[h] : rows.indptr[h + 1]].tobytes(), len(keys)
                )
                for h in coverable.tolist()
            ],
            dtype=np.int64,
        )
        first = np.zeros(len(keys), dtype=np.int64)
        first[pattern[::-1]] = coverable[::-1]
        self.coverable, self.pattern = coverable, pattern
        self.pattern_cover = sp.csr_matrix(rows[first])  # patterns x offered cameras
        self.shape = (0, 0)  # the largest cover HiGHS was given
        self.abs_gap = 0.0  # how near the cameras' optimum is near enough

    def _best(
        self, score: FloatArray, starts: IntArray, of: IntArray
    ) -> tuple[FloatArray, IntArray]:
        """Per group (sorted by group): the best score and the first position that has it."""
        best = np.maximum.reduceat(score, starts) if len(score) else np.zeros(0)
        at = np.full(len(starts), -1, dtype=np.int64)
        hit = np.flatnonzero(score >= best[of])
        at[of[hit[::-1]]] = hit[::-1]
        return best, at

    def price(self, lam: float, mu: FloatArray, deadline: float) -> Priced:
        pr = self.pr
        capped = np.flatnonzero(np.isfinite(pr.caps))
        pi = np.full(len(pr.owners), lam)
        pi[capped] += mu
        # Homes: the best package unseen and seen, each less its price.
        price = pi[pr.opt_owner[self.opt]] * pr.opt_cost[self.opt]
        best0, at0 = self._best(pr.v0[self.opt] - price, self.starts, self.of_opt)
        best1, at1 = self._best(self.seen_value - price, self.starts, self.of_opt)
        base = np.zeros(pr.n_homes)
        seen = pr.gcam.copy()
        base[self.homes] = np.maximum(best0, 0.0)
        seen[self.homes] = np.maximum(best1, seen[self.homes])
        credit = np.zeros(self.pattern_cover.shape[0])
        np.add.at(credit, self.pattern, (seen - base)[self.coverable])
        # Blocks.
        blk_score = pr.blk_value[self.blk] - pi[pr.blk_owner[self.blk]] * pr.blk_cost[self.blk]
        blk_best, blk_at = self._best(blk_score, self.blk_starts, self.of_blk)
        # Cameras.
        chosen, cam_bound = self._cameras(
            credit, pi[pr.col_owner[self.cols]] * pr.col_cost[self.cols], deadline
        )
        bound = (
            lam * pr.total
            + float(mu @ pr.caps[capped])
            + float(base.sum())
            + float(np.maximum(blk_best, 0.0).sum())
            + cam_bound
        )
        choice = pr.empty()
        choice.cols[self.cols[chosen]] = True
        is_seen = pr.covered(choice.cols)[self.homes]
        pick = np.where(is_seen, at1, at0)
        take = np.where(is_seen, best1 > pr.gcam[self.homes] + 1e-15, best0 > 1e-15)
        choice.pkg[self.homes[take]] = self.opt[pick[take]]
        buy = blk_best > 1e-15
        choice.blk[self.blocks[buy]] = self.blk[blk_at[buy]]
        return Priced(bound, choice, pr.spent(choice))

    def _cameras(
        self, credit: FloatArray, price: FloatArray, deadline: float
    ) -> tuple[np.ndarray, float]:
        """max credit.c - price.x, c <= cover x, c <= 1, x binary: the chosen offered cameras
        and an upper bound on the maximum."""
        a = self.pattern_cover[credit > 1e-12]
        w = credit[credit > 1e-12]
        worth = np.asarray(a.T @ w).ravel() > price + 1e-12
        a = sp.csr_matrix(a[:, worth])
        live = np.diff(a.indptr) > 0
        a, w = a[live], w[live]
        chosen = np.zeros(len(price), dtype=bool)
        n_r, n_c = a.shape
        self.shape = max(self.shape, (n_r, n_r + n_c))
        if n_c == 0:
            return chosen, 0.0
        h = run_highs(
            sp.hstack([sp.identity(n_r, format="csc"), -a], format="csc"),
            np.concatenate([w, -price[worth]]),
            np.ones(n_r + n_c),
            np.zeros(n_r),
            np.repeat([False, True], [n_r, n_c]),
            deadline,
            1e-6,
            abs_gap=self.abs_gap,
        )
        sol = np.asarray(h.getSolution().col_value)
        if len(sol) == n_r + n_c:
            chosen[np.flatnonzero(worth)[sol[n_r:] > 0.5]] = True
        bound = float(h.getInfo().mip_dual_bound)
        return chosen, bound if math.isfinite(bound) else float(w.sum())


def _start(lag: Lagrangian) -> float:
    """A first price per pound: where the homes' best packages and every camera worth its price
    alone would spend the total budget (bisection on a log scale; overlapping cameras make it
    a price on the high side, where the cameras' cover is small)."""
    pr = lag.pr
    alone = np.zeros(pr.n_homes)
    alone[lag.coverable] = pr.gcam[lag.coverable]
    col_value = np.asarray(pr.rows[:, lag.cols].T @ alone).ravel()
    col_cost = pr.col_cost[lag.cols]
    lo, hi = 1e-12, 1.0
    for _ in range(40):
        lam = math.sqrt(lo * hi)
        best, at = lag._best(pr.v0[lag.opt] - lam * pr.opt_cost[lag.opt], lag.starts, lag.of_opt)
        spent = float(pr.opt_cost[lag.opt[at[best > 1e-15]]].sum())
        spent += float(col_cost[col_value > lam * col_cost].sum())
        lo, hi = (lam, hi) if spent > pr.total else (lo, lam)
    return hi


def bound_and_plan(
    pr: BudgetProblem, lever: str | None, warm: Choice, deadline: float, rel_gap: float
) -> Relaxed:
    """The least bound found and the best plan (never worse than `warm`), stopping when they
    are within rel_gap, the multipliers settle, or at the deadline."""
    lag = Lagrangian(pr, lever)
    capped = np.flatnonzero(np.isfinite(pr.caps))
    dim = 1 + len(capped)
    best, best_value = warm.copy(), pr.value(warm)
    centre = np.zeros(dim)
    centre[0] = _start(lag)
    radius = np.full(dim, centre[0] / 2)
    cuts: list[tuple[float, FloatArray, FloatArray]] = []  # (L, subgradient, point)
    bound = math.inf
    for _ in range(60):
        point = _master(cuts, centre, radius) if cuts else centre
        if point is None or time.perf_counter() > deadline:
            break
        low = _model_value(cuts, point)  # what the cuts promise there
        if cuts and bound - low <= 1e-7 * abs(bound):
            break  # settled: no multipliers in reach promise a lower bound
        lag.abs_gap = 0.1 * rel_gap * abs(best_value)  # the cameras need no more precision
        got = lag.price(float(point[0]), point[1:], deadline)
        grad = np.concatenate([[pr.total - got.spent.sum()], pr.caps[capped] - got.spent[capped]])
        cuts.append((got.bound, grad, point))
        if not cuts[:-1] or got.bound < bound - 0.1 * (bound - low):  # serious: move, widen
            centre, radius = point, radius * 2
        else:
            radius = radius / 2
        bound = min(bound, got.bound)
        plan = _plan(pr, lever, got.choice, best_value, float(point[0]))
        if plan is not None:
            best, best_value = plan, pr.value(plan)
        if bound - best_value <= rel_gap * abs(bound):
            break
    return Relaxed(max(bound, best_value), best, lag.shape)


def _plan(
    pr: BudgetProblem, lever: str | None, choice: Choice, best: float, lam: float
) -> Choice | None:
    """A priced choice cut to the budgets and topped up, when it might beat `best` (its value
    plus what its unspent money would buy at the price does)."""
    cut = trim(pr, choice)
    if pr.value(cut) + lam * (pr.total - pr.spent(cut).sum()) <= best:
        return None
    plan = top_up(pr, cut, lever, lam)
    return plan if pr.value(plan) > best and pr.feasible(plan) else None


def _model_value(cuts: list[tuple[float, FloatArray, FloatArray]], point: FloatArray) -> float:
    """The cutting-plane model's value at a point (its greatest cut)."""
    return max((b + float(g @ (point - p)) for b, g, p in cuts), default=-math.inf)


def _master(
    cuts: list[tuple[float, FloatArray, FloatArray]], centre: FloatArray, radius: FloatArray
) -> FloatArray | None:
    """min t such that t >= L_i + g_i (v - v_i) for each cut, v >= 0 within radius of the
    centre: the next multipliers to price."""
    dim = len(centre)
    lo = np.maximum(centre - radius, centre / 4)  # low prices make the camera cover large
    hi = centre + radius
    h = quiet_highs()
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    h.addVars(dim + 1, np.append(lo, -inf), np.append(hi, inf))
    h.changeColsCost(dim + 1, np.arange(dim + 1), np.append(np.zeros(dim), 1.0))
    for b, g, p in cuts:  # g.v - t <= g.p - b
        h.addRow(-inf, float(g @ p - b), dim + 1, np.arange(dim + 1), np.append(g, -1.0))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value[:dim])
