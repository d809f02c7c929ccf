"""Primary and secondary (complementary) suppression for the report's tables: cells with
totals over named groups of them (a table's rows, its columns, the grand total).

Primary: a count from 1 to 9 is suppressed (security.disclosure.THRESHOLD); a zero is shown,
being no one's count, and never serves as a complement. Secondary, as
`disclosure.publish_grid` does for map grids: no published total may have exactly one
suppressed cell under it (the smallest other cell goes too, or the total when there is none).
Then a linear-algebra audit closes what that rule misses: no count under 10 (cell or total) may
be a linear combination of the published totals less the published cells (exact
figures assumed, so rounding to 5 only adds protection); while one is, the smallest published
cell (else total) whose suppression protects it is suppressed too. Published values are then
rounded to 5.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from hardening.security.disclosure import THRESHOLD, round_to_base

K = TypeVar("K", bound=Hashable)


@dataclass
class Protected(Generic[K]):
    cells: dict[K, int | None]  # None = suppressed
    totals: list[int | None]  # one per group, in the order given


def _determined(target: set[int], lines: list[set[int]], hidden: list[int]) -> bool:
    """Whether the sum of the hidden cells in target follows from the published lines."""
    part = [i for i in hidden if i in target]
    if not part:
        return False
    col = {c: k for k, c in enumerate(hidden)}
    rows = [[1.0 if c in line else 0.0 for c in hidden] for line in lines]
    a = np.array(rows, dtype=float).reshape(len(rows), len(hidden))
    t = np.zeros(len(hidden))
    t[[col[c] for c in part]] = 1.0
    if not len(a):
        return False
    return bool(np.linalg.matrix_rank(np.vstack([a, t])) == np.linalg.matrix_rank(a))


def protect(counts: Mapping[K, int], groups: Sequence[Sequence[K]]) -> Protected[K]:
    """Suppress so that nothing under 10 can be read or worked out from what is published.

    Cells are counts (0 or more); each group's total is published unless it is under 10 or
    has to be suppressed to protect a cell."""
    keys = list(counts)
    index = {k: i for i, k in enumerate(keys)}
    value = [int(counts[k]) for k in keys]
    members = [{index[k] for k in g} for g in groups]
    total = [sum(value[i] for i in m) for m in members]
    hidden = {i for i, v in enumerate(value) if 0 < v < THRESHOLD}
    nonzero = {i for i, v in enumerate(value) if v > 0}
    primary = set(hidden)
    shown_total = [t >= THRESHOLD or t == 0 for t in total]

    def cheapest(options: set[int]) -> int | None:
        return min(options, key=lambda i: (value[i], i)) if options else None

    changed = True
    while changed:  # each pass suppresses one more cell or total, so it ends
        changed = False
        for g, m in enumerate(members):
            if shown_total[g] and len(m & hidden) == 1:
                extra = cheapest((m & nonzero) - hidden)
                if extra is None:
                    shown_total[g] = False
                else:
                    hidden.add(extra)
                changed = True
        if changed:
            continue
        # only small counts need protecting: the primary cells and totals under 10
        for target in [{i} for i in sorted(primary)] + [
            m for g, m in enumerate(members) if 0 < total[g] < THRESHOLD
        ]:
            lines = [m for g, m in enumerate(members) if shown_total[g]]
            if not _determined(target, lines, sorted(hidden)):
                continue
            for i in sorted(nonzero - hidden, key=lambda i: (value[i], i)):
                if not _determined(target, lines, sorted(hidden | {i})):
                    hidden.add(i)
                    break
            else:  # no cell will do: withdraw the smallest total that protects it, or all
                withdraw = [g for g in range(len(members)) if shown_total[g]]
                for g in sorted(withdraw, key=lambda g: (total[g], g)):
                    rest = [m for h, m in enumerate(members) if shown_total[h] and h != g]
                    if not _determined(target, rest, sorted(hidden)):
                        withdraw = [g]
                        break
                for g in withdraw:
                    shown_total[g] = False
            changed = True
            break
    return Protected(
        {k: None if index[k] in hidden else round_to_base(counts[k]) for k in keys},
        [round_to_base(t) if shown_total[g] else None for g, t in enumerate(total)],
    )


def protect_breakdown(counts: Mapping[K, int]) -> Protected[K]:
    """A breakdown of a published total (visits by subject, by month): one group of all."""
    return protect(counts, [list(counts)])
