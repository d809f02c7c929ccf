"""The Knox test for near repeats, over distance x time bands (Ratcliffe's Near Repeat
Calculator; the Knox statistic of PySAL's pointpats).

Every pair of distinct events falls in one distance band and one time band, each half-open
`[from, to)`. A cell's observed count is the number of pairs in both; its expected count is
the Knox expectation `S_i * T_j / P` (pairs in the distance band, times pairs in the time band,
over all n(n-1)/2 pairs), which is exactly the mean of the Monte Carlo null: shuffling the
events' times over their places keeps every S_i and T_j and makes a place pair's time gap a
uniform draw from all pairs' gaps. The p-value is (1 + simulations >= observed) / (1 + N),
one-sided (raised risk), as in the calculator.

Pure NumPy/SciPy: a KD-tree finds the place pairs within the widest band once; each simulation
re-bins their time gaps under a permutation of the times, vectorised over the pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from hardening.errors import UserInputError

Floats = npt.NDArray[np.float64]
MAX_ITERATIONS = 99_999
MAX_BANDS = 20
MAX_PAIRS = 40_000_000  # place pairs within the widest band (~1 GB of work arrays)
SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Cell:
    distance_from: float
    distance_to: float
    time_from: float
    time_to: float
    observed: int
    expected: float
    ratio: float | None
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "distance_from": self.distance_from,
            "distance_to": self.distance_to,
            "time_from": self.time_from,
            "time_to": self.time_to,
            "observed": self.observed,
            "expected": round(self.expected, 4),
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "p_value": round(self.p_value, 6),
        }


def parse_bands(value: str | Sequence[float], what: str) -> tuple[float, ...]:
    """'0,100,200' -> (0.0, 100.0, 200.0): at least two finite, increasing, non-negative edges."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        edges = tuple(float(p) for p in parts if str(p).strip() != "")
    except ValueError as exc:
        raise UserInputError(f"{what} must be numbers separated by commas, e.g. 0,100,200") from exc
    if len(edges) < 2:
        raise UserInputError(f"{what} needs at least two edges (one band), e.g. 0,100")
    if len(edges) > MAX_BANDS + 1:
        raise UserInputError(f"{what}: at most {MAX_BANDS} bands")
    if not all(np.isfinite(edges)) or edges[0] < 0:
        raise UserInputError(f"{what} must be finite and start at 0 or more")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise UserInputError(f"{what} must increase strictly: {value}")
    return edges


def _band(values: Floats, edges: Floats) -> npt.NDArray[np.int64]:
    """Band index of each value in half-open [edges[k], edges[k+1]); -1 outside all bands."""
    index = np.searchsorted(edges, values, side="right") - 1
    index[(values < edges[0]) | (values >= edges[-1])] = -1
    return index.astype(np.int64)


def pairs_closer_than(t_sorted: Floats, gap: float) -> int:
    """Pairs of distinct events whose time gap is < gap (times sorted ascending)."""
    if gap <= 0:
        return 0
    first = np.searchsorted(t_sorted, t_sorted - gap, side="right")
    return int(np.sum(np.maximum(np.arange(len(t_sorted)) - first, 0)))


def space_pairs(xy: Floats, max_distance: float) -> tuple[npt.NDArray[np.int64], Floats]:
    """Index pairs (i < j) strictly closer than max_distance, and their distances."""
    tree = cKDTree(xy)
    # counted before they are built: too many would not fit in memory
    within = (int(tree.count_neighbors(tree, max_distance)) - len(xy)) // 2
    if within > MAX_PAIRS:
        raise UserInputError(
            f"{within:,} pairs of events lie within {max_distance:g} m (at most {MAX_PAIRS:,}): "
            "narrow the distance bands, the window (--start/--end) or the area"
        )
    pairs = tree.query_pairs(max_distance, output_type="ndarray").astype(np.int64)
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    keep = d < max_distance
    return pairs[keep], d[keep]


def knox(
    xy: Floats,
    t: Floats,
    distance_bands: Sequence[float],
    time_bands: Sequence[float],
    iterations: int = 999,
    seed: int = 0,
) -> dict[str, Any]:
    """Observed and expected pairs, ratio and Monte Carlo p-value per (distance, time) cell."""
    xy, t = np.asarray(xy, dtype=np.float64), np.asarray(t, dtype=np.float64).ravel()
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(t):
        raise UserInputError("events need one (x, y) place and one time each")
    if not (np.isfinite(xy).all() and np.isfinite(t).all()):
        raise UserInputError("event places and times must be finite")
    if not 0 <= iterations <= MAX_ITERATIONS:
        raise UserInputError(f"iterations must be 0 to {MAX_ITERATIONS:,}")
    d_edges = np.array(parse_bands(distance_bands, "distance bands"))
    t_edges = np.array(parse_bands(time_bands, "time bands"))
    n = len(t)
    if n < 2:
        raise UserInputError(f"the Knox test needs at least 2 events ({n} selected)")
    n_d, n_t = len(d_edges) - 1, len(t_edges) - 1
    # events in grid-cell order, so a pair's two events sit close in memory (cache-friendly
    # gathers of their times in every simulation)
    cell = np.floor(xy / max(float(d_edges[-1]), 1.0))
    order = np.lexsort((cell[:, 1], cell[:, 0]))
    xy, t = xy[order], t[order]
    pairs, dist = space_pairs(xy, float(d_edges[-1]))
    d_band = _band(dist, d_edges)
    pairs, d_band = pairs[d_band >= 0], d_band[d_band >= 0]
    first, second = np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
    base = d_band * (n_t + 1)  # cell key = base + time band; time band n_t = beyond the last
    s_total = np.bincount(d_band, minlength=n_d).astype(np.float64)
    t_sorted = np.sort(t)
    closer = np.array([pairs_closer_than(t_sorted, float(g)) for g in t_edges], dtype=np.float64)
    t_total = np.diff(closer)
    all_pairs = n * (n - 1) / 2
    expected = np.outer(s_total, t_total) / all_pairs

    def counts(times: Floats) -> npt.NDArray[np.int64]:
        """Pairs per cell for one assignment of times to events (row-major d x t)."""
        gaps = np.abs(times[first] - times[second])
        band = np.zeros(len(gaps), dtype=np.uint8)  # below the first edge: no band (masked)
        for edge in t_edges[1:]:
            band += gaps >= edge
        key = base + band
        if t_edges[0] > 0:  # gaps under the first edge belong to no band
            key[gaps < t_edges[0]] = n_d * (n_t + 1)
        flat = np.bincount(key, minlength=n_d * (n_t + 1) + 1)[: n_d * (n_t + 1)]
        return flat.reshape(n_d, n_t + 1)[:, :n_t].ravel().astype(np.int64)

    observed = counts(t)
    exceed = np.zeros(n_d * n_t, dtype=np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(iterations):
        exceed += counts(rng.permutation(t)) >= observed
    cells = []
    for i in range(n_d):
        for j in range(n_t):
            k = i * n_t + j
            e = float(expected[i, j])
            cells.append(
                Cell(
                    float(d_edges[i]),
                    float(d_edges[i + 1]),
                    float(t_edges[j]),
                    float(t_edges[j + 1]),
                    int(observed[k]),
                    e,
                    None if e == 0 else float(observed[k]) / e,
                    (1 + int(exceed[k])) / (1 + iterations),
                )
            )
    return {
        "events": n,
        "pairs": int(all_pairs),
        "iterations": iterations,
        "cells": [c.to_dict() for c in cells],
    }


def significant_window(
    cells: Sequence[dict[str, Any]], alpha: float = SIGNIFICANT
) -> dict[str, float] | None:
    """The near-repeat window: from the closest cell (same place, same time band), how far the
    significantly raised cells (ratio > 1, p < alpha) reach without a gap along the first time
    band (distance) and along the first distance band (time). None when the closest cell is
    not raised: no near-repeat pattern to feed the model."""

    def raised(c: dict[str, Any]) -> bool:
        return c["ratio"] is not None and c["ratio"] > 1 and c["p_value"] < alpha

    d0 = min(c["distance_from"] for c in cells)
    t0 = min(c["time_from"] for c in cells)
    grid = {(c["distance_from"], c["time_from"]): c for c in cells}
    first = grid.get((d0, t0))
    if first is None or not raised(first):
        return None
    distance, time = first["distance_to"], first["time_to"]
    while (d := grid.get((distance, t0))) is not None and raised(d):
        distance = d["distance_to"]
    while (c := grid.get((d0, time))) is not None and raised(c):
        time = c["time_to"]
    return {"distance_m": distance, "time": time}
