"""Benchmark: the Knox test of `hardening risk nearrepeat` (hardening/risk/knox.py) against
PySAL pointpats' `Knox` on the same events.

Events: n points in a town-sized square (about 40 m x sqrt(n) a side), a third of them near
repeats of earlier ones (within ~100 m and 14 days), times over a year. The timed comparison is
the same work: one window (400 m, 30 days: pointpats' 2x2 table, our one band [0, 400) x
[0, 30)) with the same number of permutations (`--permutations`, default 99: pointpats loops
over events in Python per permutation, so 999 would take hours); `ratio` is pointpats' time over
ours. Ours is also timed on the full 4 x 4 table of the issue's bands to 800 m / 60 days with 99
and 999 permutations. The statistics must agree (continuous coordinates and times: no pair on an
edge): the one window, and the whole table's total against pointpats at (800 m, 60 days); every
cumulative window is checked on a smaller fixture in tests/test_risk_knox.py. Prints one JSON
document.

    .venv/bin/python benchmarks/bench_knox.py --events 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from typing import Any

import numpy as np

from hardening.risk.knox import knox

DISTANCES = (0.0, 100.0, 200.0, 400.0, 800.0)
TIMES = (0.0, 7.0, 14.0, 30.0, 60.0)
WINDOW = (400.0, 30.0)  # the one window pointpats is timed on


def events(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    side = 40.0 * np.sqrt(n)
    xy = rng.uniform(0, side, (n, 2))
    t = rng.uniform(0, 365, n)
    repeats = rng.random(n) < 1 / 3
    source = rng.integers(0, n, n)
    xy[repeats] = xy[source[repeats]] + rng.normal(0, 50, (int(repeats.sum()), 2))
    t[repeats] = t[source[repeats]] + rng.uniform(0, 14, int(repeats.sum()))
    return xy, t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pointpats.spacetime import Knox

    xy, t = events(args.events, args.seed)
    t0 = time.perf_counter()
    one = knox(xy, t, (0.0, WINDOW[0]), (0.0, WINDOW[1]), args.permutations, seed=args.seed)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = knox(xy, t, DISTANCES, TIMES, iterations=args.permutations, seed=args.seed)
    table_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    knox(xy, t, DISTANCES, TIMES, iterations=999, seed=args.seed)
    ours_999_s = time.perf_counter() - t0
    np.random.seed(args.seed)
    t0 = time.perf_counter()
    reference = Knox(xy, t[:, None], delta=WINDOW[0], tau=WINDOW[1], permutations=args.permutations)
    pointpats_s = time.perf_counter() - t0
    widest = sum(c["observed"] for c in ours["cells"])
    reference_widest = Knox(xy, t[:, None], delta=DISTANCES[-1], tau=TIMES[-1], permutations=0)
    doc: dict[str, Any] = {
        "events": args.events,
        "permutations": args.permutations,
        "cells": len(ours["cells"]),
        "window_400m_30d": {
            "ours_s": round(ours_s, 3),
            "pointpats_s": round(pointpats_s, 3),
            "ratio": round(pointpats_s / ours_s, 1),
            "ours_statistic": one["cells"][0]["observed"],
            "pointpats_statistic": int(reference.nst),
            "ours_p_value": one["cells"][0]["p_value"],
            "pointpats_p_sim": round(float(reference.p_sim), 4),
        },
        "table_4x4_to_800m_60d": {
            "ours_s": round(table_s, 3),
            "ours_999_permutations_s": round(ours_999_s, 3),
            "ours_statistic_800m_60d": widest,
            "pointpats_statistic_800m_60d": int(reference_widest.nst),
        },
        "closest_cell": ours["cells"][0],
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
