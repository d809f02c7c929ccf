"""Forecast scores: hit rate and PAI at a share of units flagged, AUC and Brier.

PAI = (share of future incidents in the flagged units) / (share of units flagged). Ties in
the score at the cut-off are shared out in proportion (the expectation over random
tie-breaking), so a ranking with many equal scores (prior counts, mostly 0) is neither
flattered nor punished by the order rows happen to come in, and a constant score has PAI 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

Floats = npt.NDArray[np.float64]
SHARES = (0.01, 0.05, 0.10)
CURVE = tuple(float(s) for s in np.round(np.linspace(0.005, 0.30, 60), 3))


def hit_rate(score: Floats, outcome: Floats, share: float) -> float:
    """Expected share of the outcome counts inside the top `share` of units."""
    total = float(outcome.sum())
    if total <= 0 or len(score) == 0:
        return 0.0
    flagged = share * len(score)
    order = np.argsort(-score, kind="stable")
    s, o = score[order], outcome[order]
    # distinct score groups, best first
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, len(s)])
    sums = np.add.reduceat(o, starts)
    before = np.cumsum(sizes) - sizes
    taken = np.clip(flagged - before, 0, sizes)
    return float(np.sum(sums * taken / sizes) / total)


def pai(score: Floats, outcome: Floats, share: float) -> float:
    return hit_rate(score, outcome, share) / share


def auc(score: Floats, positive: npt.NDArray[np.bool_]) -> float | None:
    """Probability a unit with an outcome outranks one without (ties count half)."""
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def brier(probability: Floats, positive: npt.NDArray[np.bool_]) -> float:
    return float(np.mean((probability - positive.astype(float)) ** 2))


def evaluate(
    score: Floats, probability: Floats, outcome: Floats, shares: Sequence[float] = SHARES
) -> dict[str, float | None]:
    """Every figure of one method on one test window."""
    positive = outcome > 0
    out: dict[str, float | None] = {}
    for share in shares:
        label = f"{share * 100:g}%"
        out[f"hit_rate@{label}"] = round(hit_rate(score, outcome, share), 4)
        out[f"pai@{label}"] = round(pai(score, outcome, share), 3)
    value = auc(score, positive)
    out["auc"] = None if value is None else round(value, 4)
    out["brier"] = round(brier(probability, positive), 5)
    return out


def curve(score: Floats, outcome: Floats) -> list[float]:
    return [round(pai(score, outcome, s), 3) for s in CURVE]
