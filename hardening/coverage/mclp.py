"""Maximal covering (Church & ReVelle) with locked sites, a site count and/or a budget, and an
optional backup-coverage term: a sparse MIP built directly for HiGHS, warm-started from greedy.

Before the solver sees it the instance shrinks: demand already covered by locked sites (twice,
with backup) is a constant, demand no free candidate reaches is a constant, and demand rows with
the same free coverage pattern merge into one row carrying the summed weight. Typical street
grids leave a few thousand rows out of tens of thousands, which is where the speed comes from.

Model (x_j binary per free candidate, y_i and u_i in [0, 1] per merged row):
    max  sum_i w_i y_i + beta sum_i w_i u_i
    s.t. y_i + u_i - sum_j a_ij x_j <= c0_i   (c0_i: locked sites already covering i)
         u_i - y_i <= 0                        (backup counts only once covered)
         sum_j x_j <= p,  sum_j cost_j x_j <= budget
y and u need no integrality: at an optimum they equal min(1, level) terms of integer levels.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import math
import os
import sys
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray

from hardening.errors import UserInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class CoverProblem:
    """cover[i, j] = 1 when candidate j covers demand i."""

    cover: sp.csc_matrix
    weight: FloatArray
    cost: FloatArray | None = None
    locked: list[int] = field(default_factory=list)
    max_new: int | None = None
    budget: float | None = None
    backup_weight: float = 0.0

    def __post_init__(self) -> None:
        self.cover = sp.csc_matrix(self.cover, dtype=np.float64)
        self.cover.data[:] = 1.0
        self.cover.eliminate_zeros()
        n_d, n_c = self.cover.shape
        self.weight = np.asarray(self.weight, dtype=np.float64)
        self.cost = np.ones(n_c) if self.cost is None else np.asarray(self.cost, dtype=np.float64)
        if self.weight.shape != (n_d,) or self.cost.shape != (n_c,):
            raise UserInputError("weights and costs must match the coverage matrix")
        if not (np.isfinite(self.weight).all() and np.isfinite(self.cost).all()):
            raise UserInputError("weights and costs must be finite")
        if (self.weight < 0).any() or (self.cost < 0).any():
            raise UserInputError("weights and costs must not be negative")
        if self.max_new is None and self.budget is None:
            raise UserInputError("give a number of new sites or a budget")
        if self.max_new is not None and self.max_new < 0:
            raise UserInputError("the number of new sites must not be negative")
        if self.budget is not None and (not math.isfinite(self.budget) or self.budget < 0):
            raise UserInputError("the budget must be a finite amount, zero or more")
        if any(not 0 <= j < n_c for j in self.locked):
            raise UserInputError("a locked site is not among the candidates")
        if not 0 <= self.backup_weight <= 1:
            raise UserInputError("the backup weight must be between 0 and 1")

    @property
    def free(self) -> IntArray:
        mask = np.ones(self.cover.shape[1], dtype=bool)
        mask[self.locked] = False
        if self.budget is not None:
            assert self.cost is not None
            mask &= self.cost <= self.budget + 1e-9
        return np.flatnonzero(mask)

    def value(self, chosen: list[int] | IntArray) -> float:
        """The objective of opening exactly these sites (locked ones are added)."""
        cols = np.unique(np.concatenate([np.asarray(chosen, dtype=np.int64), self.locked]))
        level = np.asarray(self.cover[:, cols].sum(axis=1)).ravel()
        return float(self.weight @ _credit(level, self.backup_weight))

    def feasible(self, new: list[int]) -> bool:
        assert self.cost is not None
        ok = self.max_new is None or len(new) <= self.max_new
        return ok and (self.budget is None or float(self.cost[new].sum()) <= self.budget + 1e-9)


def _credit(level: FloatArray, beta: float) -> FloatArray:
    once = np.minimum(level, 1.0)
    return np.asarray(once + beta * np.clip(level - 1.0, 0.0, 1.0), dtype=np.float64)


@dataclass
class CoverSolution:
    method: str
    new: list[int]  # candidate indices opened beyond the locked ones
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float
    rows: int = 0  # demand rows the solver saw after reduction
    cols: int = 0

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def greedy(problem: CoverProblem) -> CoverSolution:
    """Lazy greedy (marginal gain, per unit cost under a budget), then the best single site if
    that beats it: the classic (1 - 1/e)/2 guarantee for budgets, (1 - 1/e) for counts."""
    t0 = time.perf_counter()
    cover, w, beta = problem.cover, problem.weight, problem.backup_weight
    assert problem.cost is not None
    cost = problem.cost
    level = (
        np.asarray(cover[:, problem.locked].sum(axis=1)).ravel()
        if problem.locked
        else (np.zeros(cover.shape[0]))
    )
    indptr, indices = cover.indptr, cover.indices

    def gain(j: int) -> float:
        rows = indices[indptr[j] : indptr[j + 1]]
        lv = level[rows]
        return float(w[rows] @ (_credit(lv + 1.0, beta) - _credit(lv, beta)))

    def key(j: int, g: float) -> float:
        if problem.budget is None:
            return g
        return g / cost[j] if cost[j] > 0 else (math.inf if g > 0 else 0.0)

    heap = [(-key(j, gain(j)), j) for j in problem.free.tolist()]
    heapq.heapify(heap)
    new: list[int] = []
    spent = 0.0
    while heap and (problem.max_new is None or len(new) < problem.max_new):
        _, j = heapq.heappop(heap)
        if problem.budget is not None and spent + cost[j] > problem.budget + 1e-9:
            continue
        g = gain(j)
        if heap and key(j, g) < -heap[0][0] - 1e-12:  # stale bound: re-queue with the true gain
            heapq.heappush(heap, (-key(j, g), j))
            continue
        if g <= 0:
            break
        new.append(j)
        spent += float(cost[j])
        level[indices[indptr[j] : indptr[j + 1]]] += 1.0
    value = problem.value(new)
    if problem.budget is not None:
        best = max(problem.free.tolist(), key=lambda j: problem.value([j]), default=None)
        if best is not None and problem.value([best]) > value:
            new, value = [best], problem.value([best])
    return CoverSolution(
        "greedy", sorted(new), value, math.nan, math.nan, "heuristic", time.perf_counter() - t0
    )


def brute_force(problem: CoverProblem, limit: int = 200_000) -> CoverSolution:
    """Every feasible set of new sites (small instances only: tests and checks)."""
    t0 = time.perf_counter()
    free = problem.free.tolist()
    top = len(free) if problem.max_new is None else min(problem.max_new, len(free))
    best: tuple[float, list[int]] = (problem.value([]), [])
    tried = 0
    for k in range(1, top + 1):
        for combo in itertools.combinations(free, k):
            tried += 1
            if tried > limit:
                raise UserInputError("instance too large for brute force")
            if problem.feasible(list(combo)):
                v = problem.value(list(combo))
                if v > best[0] + 1e-9:
                    best = (v, list(combo))
    return CoverSolution(
        "brute_force", best[1], best[0], best[0], 0.0, "optimal", time.perf_counter() - t0
    )


@dataclass
class _Reduced:
    matrix: sp.csc_matrix  # merged rows x free candidates
    weight: FloatArray
    offset: FloatArray  # c0 per merged row
    constant: float
    free: IntArray


def reduce(problem: CoverProblem) -> _Reduced:
    free = problem.free
    beta = problem.backup_weight
    cap = 2.0 if beta > 0 else 1.0
    c0 = np.zeros(problem.cover.shape[0])
    if problem.locked:
        c0 = np.asarray(problem.cover[:, problem.locked].sum(axis=1)).ravel()
    sub = sp.csr_matrix(problem.cover[:, free])
    sub.sort_indices()
    reach = np.diff(sub.indptr)
    settled = (c0 >= cap) | (reach == 0) | (problem.weight == 0)
    constant = float(problem.weight[settled] @ _credit(c0[settled], beta))
    keep = np.flatnonzero(~settled)
    groups: dict[bytes, int] = {}
    row_of = np.empty(len(keep), dtype=np.int64)
    for n, i in enumerate(keep.tolist()):
        k = sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tobytes() + bytes([int(c0[i])])
        row_of[n] = groups.setdefault(k, len(groups))
    m = len(groups)
    merged_w = np.bincount(row_of, weights=problem.weight[keep], minlength=m)
    first = np.zeros(m, dtype=np.int64)
    first[row_of[::-1]] = keep[::-1]  # a representative original row per merged row
    return _Reduced(
        sp.csc_matrix(sub[first]), merged_w.astype(np.float64), c0[first], constant, free
    )


def solve(
    problem: CoverProblem, time_limit: float = 60.0, warm: CoverSolution | None = None
) -> CoverSolution:
    """Proven-optimal answer (or the best found within time_limit, with its bound and gap)."""
    t0 = time.perf_counter()
    red = reduce(problem)
    warm = warm or greedy(problem)
    m, n = red.matrix.shape
    beta = problem.backup_weight
    if m == 0 or n == 0:
        value = problem.value([])
        return CoverSolution("highs", [], value, value, 0.0, "optimal", time.perf_counter() - t0)
    nb = m if beta > 0 else 0
    # Columns: x (n), y (m), u (nb). Rows: cover (m), backup link (nb), count, budget.
    eye_m = sp.identity(m, format="csc")
    blocks = [[-red.matrix, eye_m] + ([eye_m] if nb else [])]
    if nb:
        blocks.append([sp.csc_matrix((m, n)), -eye_m, eye_m])
    row_up = [red.offset] + ([np.zeros(m)] if nb else [])
    assert problem.cost is not None
    if problem.max_new is not None:
        blocks.append(
            [sp.csc_matrix(np.ones((1, n))), sp.csc_matrix((1, m))]
            + ([sp.csc_matrix((1, nb))] if nb else [])
        )
        row_up.append(np.array([float(problem.max_new)]))
    if problem.budget is not None:
        blocks.append(
            [sp.csc_matrix(problem.cost[red.free][None, :]), sp.csc_matrix((1, m))]
            + ([sp.csc_matrix((1, nb))] if nb else [])
        )
        row_up.append(np.array([problem.budget]))
    a = sp.csc_matrix(sp.bmat(blocks, format="csc"))
    a.sort_indices()
    upper = np.concatenate(row_up)

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n + m + nb, a.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.concatenate([np.zeros(n), red.weight, beta * red.weight[:nb]])
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.ones(lp.num_col_)
    lp.row_lower_ = np.full(lp.num_row_, -highspy.kHighsInf)
    lp.row_upper_ = upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n + [highspy.HighsVarType.kContinuous] * (
        m + nb
    )
    h = quiet_highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.passModel(lp)
    h.setSolution(_warm_values(red, warm, n, m, nb))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    sol = np.asarray(h.getSolution().col_value)
    new = sorted(int(red.free[j]) for j in np.flatnonzero(sol[:n] > 0.5))
    value = problem.value(new)
    if value < warm.objective:  # never hand back worse than the warm start
        new, value = warm.new, warm.objective
    bound = float(info.mip_dual_bound) + red.constant
    optimal = status == highspy.HighsModelStatus.kOptimal
    bound = value if optimal else max(bound, value)
    gap = 0.0 if optimal else (bound - value) / max(abs(bound), 1e-12)
    return CoverSolution(
        "highs",
        new,
        value,
        bound,
        gap,
        "optimal" if optimal else h.modelStatusToString(status),
        time.perf_counter() - t0,
        m,
        n,
    )


def quiet_highs() -> highspy.Highs:
    """A Highs instance whose start-up banner (printed by the C++ library on stdout) is
    dropped, so `--json` output stays one document."""
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved, sink = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(sink, 1)
        h = highspy.Highs()  # type: ignore[no-untyped-call,unused-ignore]
        libc.fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(sink)
    h.setOptionValue("output_flag", False)
    return h


def _warm_values(
    red: _Reduced, warm: CoverSolution, n: int, m: int, nb: int
) -> highspy.HighsSolution:
    pos = {int(c): k for k, c in enumerate(red.free.tolist())}
    x = np.zeros(n)
    for j in warm.new:
        if j in pos:
            x[pos[j]] = 1.0
    level = red.offset + red.matrix @ x
    y = np.minimum(level, 1.0)
    u = np.clip(level - 1.0, 0.0, 1.0)[:nb]
    s = highspy.HighsSolution()
    s.col_value = np.concatenate([x, y, u]).tolist()
    s.value_valid = True
    return s
