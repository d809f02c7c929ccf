"""How much a backtest's PAI@5% would move with another month of the same process: bootstrap
95% intervals, month by month and for the mean over months.

A replicate redraws a month's units with replacement (each unit keeping its score and its
outcome count), so the flagged 5% and the incidents in it are both redrawn; the model and the
best baseline are scored on the same draw, which gives the interval of their difference
(paired). The mean over months draws each month independently (stratified by month).
Percentile intervals; ties at the cut-off are shared out as in metrics.hit_rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
SHARE = 0.05
CHUNK_VALUES = 2_000_000  # replicate x unit weights held at once


Ranked = tuple[npt.NDArray[np.intp], Floats, npt.NDArray[np.intp]]


def ranked(score: Floats, outcome: Floats) -> Ranked:
    """Units best first, their outcomes in that order, and where each group of equal scores
    starts: sorted once per method, not once per replicate."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    return order, outcome[order], np.flatnonzero(np.r_[True, s[1:] != s[:-1]])


def weighted_pai(
    score: Floats,
    outcome: Floats,
    weights: npt.NDArray[np.int64],
    share: float,
    rank: Ranked | None = None,
) -> Floats:
    """PAI at `share` for each row of weights (how often each unit was drawn)."""
    order, o, starts = rank if rank is not None else ranked(score, outcome)
    w = weights[:, order].astype(np.float64)
    size = np.add.reduceat(w, starts, axis=1)  # drawn units per group of equal score
    events = np.add.reduceat(w * o, starts, axis=1)
    total_units = w.sum(axis=1, keepdims=True)
    before = np.cumsum(size, axis=1) - size
    taken = np.clip(share * total_units - before, 0, size)
    part = np.divide(taken, size, out=np.zeros_like(taken), where=size > 0)
    total = events.sum(axis=1)
    hit = np.divide((events * part).sum(axis=1), total, out=np.zeros_like(total), where=total > 0)
    out: Floats = hit / share
    return out


def draws(
    scores: Mapping[str, Floats],
    outcome: Floats,
    replicates: int,
    rng: np.random.Generator,
    share: float = SHARE,
) -> dict[str, Floats]:
    """Bootstrap PAIs of each method over the same unit redraws."""
    n = len(outcome)
    out: dict[str, list[Floats]] = {m: [] for m in scores}
    chunk = max(1, CHUNK_VALUES // max(n, 1))
    ranks = {m: ranked(s, outcome) for m, s in scores.items()}
    done = 0
    while done < replicates:
        size = min(chunk, replicates - done)
        weights = rng.multinomial(n, np.full(n, 1 / n), size=size)
        for method, score in scores.items():
            out[method].append(weighted_pai(score, outcome, weights, share, ranks[method]))
        done += size
    return {m: np.concatenate(v) if v else np.zeros(0) for m, v in out.items()}


def interval(point: float, values: Floats) -> dict[str, float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return {"estimate": round(point, 3), "low": round(float(low), 3), "high": round(float(high), 3)}


def stability(
    months: Sequence[Mapping[str, Any]],
    best: str,
    replicates: int = 1000,
    seed: int = 0,
    share: float = SHARE,
) -> dict[str, Any]:
    """Intervals of the model's PAI, the best baseline's and their difference, per month and
    for the mean over months. Each month: {"month", "scores": {method: array}, "outcome"}."""
    from hardening.risk.metrics import pai

    rng = np.random.default_rng(seed)
    per_month, pooled = [], []
    for m in months:
        chosen = {"model": m["scores"]["model"], best: m["scores"][best]}
        got = draws(chosen, m["outcome"], replicates, rng, share)
        point = {k: pai(v, m["outcome"], share) for k, v in chosen.items()}
        pooled.append((point, got))
        per_month.append(
            {"month": m["month"], "test_events": int(m["outcome"].sum()),
             **_figures(point, got, best)}
        )  # fmt: skip
    mean_point = {k: float(np.mean([p[k] for p, _ in pooled])) for k in ("model", best)}
    mean_draws = {k: np.mean([g[k] for _, g in pooled], axis=0) for k in ("model", best)}
    label = f"{share * 100:g}%"
    return {
        "figure": f"pai@{label}",
        "replicates": replicates,
        "seed": seed,
        "best_baseline": best,
        "method": "unit bootstrap within each month (paired across methods), percentile 95%",
        "months": per_month,
        "mean_over_months": _figures(mean_point, mean_draws, best),
    }


def _figures(point: Mapping[str, float], got: Mapping[str, Floats], best: str) -> dict[str, Any]:
    difference = got["model"] - got[best]
    return {
        "model": interval(point["model"], got["model"]),
        "best_baseline": interval(point[best], got[best]),
        "difference": interval(point["model"] - point[best], difference),
        "share_of_replicates_model_ahead": round(float(np.mean(difference > 0)), 4),
    }
