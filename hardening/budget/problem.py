"""The budget problem with no database: homes, what each lever does to them, and the value of a
choice, the one definition the MILP, the greedy baseline and the report all use.

A home h has the logit z_h of its risk score p_h = sigmoid(z_h) (risk.model). What it loses is
p_h - sigmoid(z_h + change), the change summed in the logit as the risk model sums factors:
- its own package o (works.packages.combined_logit of dwelling measures: door measures combine
  as 1 - 0.5^n, alternatives for one factor count once);
- a camera (a column of `cover`: a new site, a repaired public camera, or the repair of the
  block's own CCTV) seeing it: the protection_cctv change, once however many see it.
Package and camera combine in the logit, so what a camera adds to a home depends on the home's
package: value = v0[o] + covered x (cam_gain - pen[o]), pen[o] = what the package takes from the
camera's gain (clipped at 0: a home scored over 50 whose package would make a camera worth more
is credited with the camera's gain alone).
A block package (entry system, lighting) is one job for the block: its value is what it removes
from each flat at the flat's present score, added to the flat's own value (an approximation,
documented in docs/budget.md: it overstates by what a flat's package and a camera have already
taken off).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CAMERA, WORKS = "camera", "works"


def sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))), dtype=np.float64)


@dataclass
class Choice:
    """Columns opened, each home's package (-1: none), each block's package (-1: none)."""

    cols: NDArray[np.bool_]
    pkg: IntArray
    blk: IntArray

    def copy(self) -> Choice:
        return Choice(self.cols.copy(), self.pkg.copy(), self.blk.copy())


@dataclass
class BudgetProblem:
    z: FloatArray  # per home: logit of the score
    cam: FloatArray  # per home: logit change when a camera sees it (0: already seen)
    cover: sp.csc_matrix  # homes x columns (cameras and block CCTV repairs)
    col_cost: FloatArray
    col_owner: IntArray
    col_lever: list[str]  # CAMERA (public cameras) or WORKS (a provider's own CCTV)
    opt_home: IntArray  # per package option
    opt_cost: FloatArray
    opt_owner: IntArray
    opt_delta: FloatArray
    blk_block: IntArray  # per block package
    blk_cost: FloatArray
    blk_owner: IntArray
    blk_delta: FloatArray
    block_homes: list[IntArray]  # per block: its flats
    owners: list[str]
    caps: FloatArray  # per owner, inf when uncapped
    total: float
    scale: float = 1.0  # effect sizes x scale (low / central / high priors)
    _cache: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.cover = sp.csc_matrix(self.cover, dtype=np.float64)
        self.cover.data[:] = 1.0
        self.cover.eliminate_zeros()
        self.rows = sp.csr_matrix(self.cover)

    @property
    def n_homes(self) -> int:
        return len(self.z)

    @property
    def n_blocks(self) -> int:
        return len(self.block_homes)

    def scaled(self, scale: float) -> BudgetProblem:
        """The same problem with every effect size multiplied by `scale`."""
        return BudgetProblem(
            **{k: v for k, v in vars(self).items() if k not in ("_cache", "rows", "scale")},
            scale=scale,
        )

    def empty(self) -> Choice:
        return Choice(
            np.zeros(len(self.col_cost), dtype=bool),
            np.full(self.n_homes, -1, dtype=np.int64),
            np.full(self.n_blocks, -1, dtype=np.int64),
        )

    # Values, computed once per problem (and scale).
    def _get(self, key: str) -> FloatArray:
        if not self._cache:
            s, z = self.scale, self.z
            p0 = sigmoid(z)
            zo = z[self.opt_home]
            v0 = p0[self.opt_home] - sigmoid(zo + s * self.opt_delta)
            v1 = p0[self.opt_home] - sigmoid(zo + s * (self.opt_delta + self.cam[self.opt_home]))
            gcam = p0 - sigmoid(z + s * self.cam)
            pen = np.clip(gcam[self.opt_home] - (v1 - v0), 0.0, None)
            blk_value = np.array(
                [
                    float((p0[f] - sigmoid(z[f] + s * d)).sum())
                    for f, d in zip(
                        (self.block_homes[b] for b in self.blk_block), self.blk_delta, strict=True
                    )
                ]
            )
            self._cache.update(p0=p0, v0=v0, gcam=gcam, pen=pen, blk_value=blk_value)
        return self._cache[key]

    @property
    def v0(self) -> FloatArray:
        return self._get("v0")

    @property
    def gcam(self) -> FloatArray:
        return self._get("gcam")

    @property
    def pen(self) -> FloatArray:
        return self._get("pen")

    @property
    def blk_value(self) -> FloatArray:
        return self._get("blk_value")

    @property
    def p0(self) -> FloatArray:
        return self._get("p0")

    def covered(self, cols: NDArray[np.bool_]) -> NDArray[np.bool_]:
        return np.asarray(self.cover[:, np.flatnonzero(cols)].sum(axis=1)).ravel() > 0

    def home_values(self, choice: Choice) -> FloatArray:
        """What each home loses (its own package and cameras; block packages not included)."""
        has = choice.pkg >= 0
        k = choice.pkg[has]
        out = np.zeros(self.n_homes)
        out[has] = self.v0[k]
        pen = np.zeros(self.n_homes)
        pen[has] = self.pen[k]
        seen = self.covered(choice.cols)
        out[seen] += self.gcam[seen] - pen[seen]
        return out

    def value(self, choice: Choice) -> float:
        blocks = choice.blk[choice.blk >= 0]
        return float(self.home_values(choice).sum() + self.blk_value[blocks].sum())

    def spent(self, choice: Choice) -> FloatArray:
        """Spent per owner."""
        out = np.zeros(len(self.owners))
        np.add.at(out, self.col_owner[choice.cols], self.col_cost[choice.cols])
        k = choice.pkg[choice.pkg >= 0]
        np.add.at(out, self.opt_owner[k], self.opt_cost[k])
        b = choice.blk[choice.blk >= 0]
        np.add.at(out, self.blk_owner[b], self.blk_cost[b])
        return out

    def feasible(self, choice: Choice, tol: float = 1e-6) -> bool:
        spent = self.spent(choice)
        return bool(spent.sum() <= self.total + tol and (spent <= self.caps + tol).all())

    def lever_mask(self, lever: str) -> tuple[NDArray[np.bool_], bool]:
        """Columns allowed for one lever, and whether packages are allowed."""
        return np.array([c == lever for c in self.col_lever], dtype=bool), lever == WORKS


def greedy(problem: BudgetProblem, lever: str | None = None) -> Choice:
    """Greedy by value per pound (lazy: a popped action's gain is recomputed and re-queued when
    it has fallen below the next one's), over cameras, home packages (upgrades from the
    home's current package) and block packages, within the total and every owner's cap."""
    pr = problem
    choice = pr.empty()
    allowed, works = pr.lever_mask(lever) if lever else (np.ones(len(pr.col_cost), bool), True)
    level = np.zeros(pr.n_homes, dtype=np.int64)
    left_total = pr.total
    left = pr.caps.copy()
    indptr, indices = pr.cover.indptr, pr.cover.indices
    v0, gcam, pen, blk_value = pr.v0, pr.gcam, pr.pen, pr.blk_value

    def home_value(h: int, k: int, seen: bool) -> float:
        own = float(v0[k]) if k >= 0 else 0.0
        return own + (float(gcam[h]) - (float(pen[k]) if k >= 0 else 0.0) if seen else 0.0)

    def action(kind: int, i: int) -> tuple[float, float, int]:
        """(gain, cost, owner) of an action now."""
        if kind == 0:
            rows = indices[indptr[i] : indptr[i + 1]]
            rows = rows[level[rows] == 0]
            g = sum(
                home_value(h, int(choice.pkg[h]), True) - home_value(h, int(choice.pkg[h]), False)
                for h in rows.tolist()
            )
            return g, float(pr.col_cost[i]), int(pr.col_owner[i])
        if kind == 1:
            h = int(pr.opt_home[i])
            cur = int(choice.pkg[h])
            seen = bool(level[h] > 0)
            g = home_value(h, i, seen) - home_value(h, cur, seen)
            c = float(pr.opt_cost[i]) - (float(pr.opt_cost[cur]) if cur >= 0 else 0.0)
            return g, c, int(pr.opt_owner[i])
        b = int(pr.blk_block[i])
        cur = int(choice.blk[b])
        g = float(blk_value[i]) - (float(blk_value[cur]) if cur >= 0 else 0.0)
        c = float(pr.blk_cost[i]) - (float(pr.blk_cost[cur]) if cur >= 0 else 0.0)
        return g, c, int(pr.blk_owner[i])

    def ratio(g: float, c: float) -> float:
        if g <= 1e-12:
            return -math.inf
        return math.inf if c <= 1e-9 else g / c

    heap: list[tuple[float, int, int]] = []
    starts = [(0, j) for j in np.flatnonzero(allowed).tolist()]
    if works:
        starts += [(1, k) for k in range(len(pr.opt_home))]
        starts += [(2, k) for k in range(len(pr.blk_block))]
    for kind, i in starts:
        r = ratio(*action(kind, i)[:2])
        if r > -math.inf:
            heap.append((-r, kind, i))
    heapq.heapify(heap)
    while heap:
        _, kind, i = heapq.heappop(heap)
        g, c, owner = action(kind, i)
        r = ratio(g, c)
        if r == -math.inf:
            continue
        if heap and r < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-r, kind, i))
            continue
        if c > left_total + 1e-9 or c > left[owner] + 1e-9:
            continue
        left_total -= c
        left[owner] -= c
        if kind == 0:
            choice.cols[i] = True
            level[indices[indptr[i] : indptr[i + 1]]] += 1
        elif kind == 1:
            choice.pkg[int(pr.opt_home[i])] = i
        else:
            choice.blk[int(pr.blk_block[i])] = i
    return choice


def trim(problem: BudgetProblem, choice: Choice) -> Choice:
    """The choice cut back within the total and every owner's cap: for each budget overspent,
    what adds least per pound goes first (a home's package, a block's, or a camera at what it
    alone sees) until the overspend is paid back."""
    pr, out = problem, choice.copy()
    for _ in range(len(pr.owners) + 2):
        spent = pr.spent(out)
        over: list[tuple[float, int | None]] = [(float(spent.sum()) - pr.total, None)]
        over += [(float(spent[o] - pr.caps[o]), o) for o in range(len(pr.owners))]
        excess, owner = max(over, key=lambda e: e[0])
        if excess <= 1e-6:
            break
        seen_by = np.asarray(pr.cover[:, np.flatnonzero(out.cols)].sum(axis=1)).ravel()
        has = out.pkg >= 0
        pen = np.where(has, pr.pen[np.maximum(out.pkg, 0)], 0.0)
        alone = np.where(seen_by == 1, pr.gcam - pen, 0.0)  # what a camera alone adds
        cols = np.flatnonzero(out.cols)
        homes, blocks = np.flatnonzero(has), np.flatnonzero(out.blk >= 0)
        k, b = out.pkg[homes], out.blk[blocks]
        loss = np.concatenate(
            [pr.cover[:, cols].T @ alone, pr.v0[k] - (seen_by[homes] > 0) * pr.pen[k],
             pr.blk_value[b]]
        )  # fmt: skip
        cost = np.concatenate([pr.col_cost[cols], pr.opt_cost[k], pr.blk_cost[b]])
        payer = np.concatenate([pr.col_owner[cols], pr.opt_owner[k], pr.blk_owner[b]])
        kind = np.repeat([0, 1, 2], [len(cols), len(homes), len(blocks)])
        which = np.concatenate([cols, homes, blocks])
        mine = np.flatnonzero((cost > 0) & ((payer == owner) if owner is not None else True))
        mine = mine[np.argsort(loss[mine] / cost[mine], kind="stable")]
        n_drop = int(np.searchsorted(np.cumsum(cost[mine]), excess - 1e-6)) + 1
        for i in mine[:n_drop].tolist():
            if kind[i] == 0:
                out.cols[which[i]] = False
            elif kind[i] == 1:
                out.pkg[which[i]] = -1
            else:
                out.blk[which[i]] = -1
    return out


def top_up(
    problem: BudgetProblem, choice: Choice, lever: str | None = None, worth: float = 0.0
) -> Choice:
    """A feasible choice with what its budgets leave spent: the camera adding most per pound
    while one is affordable and adds more than `worth` per pound, then each home's and
    block's best upgrade per pound in turn."""
    pr, out = problem, choice.copy()
    allowed, works = pr.lever_mask(lever) if lever else (np.ones(len(pr.col_cost), bool), True)
    spent = pr.spent(out)
    left_total, left = pr.total - float(spent.sum()), pr.caps - spent

    while True:
        seen = pr.covered(out.cols)
        pen = np.where(out.pkg >= 0, pr.pen[np.maximum(out.pkg, 0)], 0.0)
        gain = np.asarray(pr.cover.T @ np.where(seen, 0.0, pr.gcam - pen)).ravel()
        ok = allowed & ~out.cols & (gain > 1e-12) & (gain >= worth * pr.col_cost)
        ok &= pr.col_cost <= np.minimum(left_total, left[pr.col_owner]) + 1e-9
        if not ok.any():
            break
        j = int(np.flatnonzero(ok)[np.argmax(gain[ok] / np.maximum(pr.col_cost[ok], 1e-9))])
        out.cols[j] = True
        left_total -= pr.col_cost[j]
        left[pr.col_owner[j]] -= pr.col_cost[j]
    if not works:
        return out
    seen = pr.covered(out.cols)
    for _ in range(3):  # a home upgraded once may still gain from its next package
        before = (out.pkg.copy(), out.blk.copy())
        left_total = _upgrade(pr, out, seen, left_total, left)
        if (out.pkg == before[0]).all() and (out.blk == before[1]).all():
            break
    return out


def _upgrade(
    pr: BudgetProblem, out: Choice, seen: NDArray[np.bool_], left_total: float, left: FloatArray
) -> float:
    """One pass of upgrades by value per pound, one per home and block, within what is left
    (`left` spent in place); the total left after."""
    cur = out.pkg[pr.opt_home]
    pen = pr.pen * seen[pr.opt_home]
    now = np.where(cur >= 0, pr.v0[np.maximum(cur, 0)] - pen[np.maximum(cur, 0)], 0.0)
    add = pr.v0 - pen - now
    extra = pr.opt_cost - np.where(cur >= 0, pr.opt_cost[np.maximum(cur, 0)], 0.0)
    cur_b = out.blk[pr.blk_block]
    add_b = pr.blk_value - np.where(cur_b >= 0, pr.blk_value[np.maximum(cur_b, 0)], 0.0)
    extra_b = pr.blk_cost - np.where(cur_b >= 0, pr.blk_cost[np.maximum(cur_b, 0)], 0.0)
    gains, costs = np.concatenate([add, add_b]), np.concatenate([extra, extra_b])
    up = np.flatnonzero((gains > 1e-12) & (costs > 0))
    if not len(up):
        return left_total
    cheapest = float(costs[up].min())
    n_opt = len(pr.opt_home)
    done: set[tuple[int, int]] = set()
    for i in up[np.argsort(-gains[up] / costs[up], kind="stable")].tolist():
        if left_total < cheapest - 1e-9:
            break
        home = i < n_opt
        k = i if home else i - n_opt
        where = (0, int(pr.opt_home[k])) if home else (1, int(pr.blk_block[k]))
        owner = int(pr.opt_owner[k] if home else pr.blk_owner[k])
        cost = float(costs[i])
        if where in done or cost > min(left_total, left[owner]) + 1e-9:
            continue
        done.add(where)
        left_total -= cost
        left[owner] -= cost
        if home:
            out.pkg[where[1]] = k
        else:
            out.blk[where[1]] = k
    return left_total
