"""Secondary suppression of the report's tables (hardening/reports/suppress.py), checked by a
method of its own: for every count under 10 that is suppressed, a linear programme (HiGHS
through scipy) finds its smallest and largest value consistent with everything published,
taken as exact; they must differ. No database."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog  # type: ignore[import-untyped,unused-ignore]

from hardening.reports.suppress import Protected, protect, protect_breakdown
from hardening.security.disclosure import round_to_base

Key = tuple[int, int]


def _table_groups(keys: Sequence[tuple[Any, Any]]) -> list[list[tuple[Any, Any]]]:
    rows = sorted({k[0] for k in keys})
    cols = sorted({k[1] for k in keys})
    return (
        [[k for k in keys if k[0] == r] for r in rows]
        + [[k for k in keys if k[1] == c] for c in cols]
        + [list(keys)]
    )


def _range(
    counts: dict[Hashable, int],
    groups: Sequence[Sequence[Hashable]],
    out: Protected[Hashable],
    target: Sequence[Hashable],
) -> float:
    """max - min of the sum of target's suppressed cells over all non-negative fillings of
    the suppressed cells that agree with the published totals (exact) and shown cells."""
    unknown = [k for k in counts if out.cells[k] is None]
    col = {k: i for i, k in enumerate(unknown)}
    a_eq, b_eq = [], []
    for g, members in enumerate(groups):
        if out.totals[g] is None:
            continue
        row = np.zeros(len(unknown))
        for k in members:
            if k in col:
                row[col[k]] = 1.0
        a_eq.append(row)
        b_eq.append(sum(counts[k] for k in members if k in col))  # total less shown cells
    c = np.zeros(len(unknown))
    for k in target:
        if k in col:
            c[col[k]] = 1.0
    kw = {"A_eq": np.array(a_eq), "b_eq": np.array(b_eq)} if a_eq else {}
    low = linprog(c, bounds=(0, None), method="highs", **kw)
    high = linprog(-c, bounds=(0, None), method="highs", **kw)
    assert low.status == 0
    if high.status == 3:  # unbounded above: certainly not determined
        return float("inf")
    return float(-high.fun - low.fun)


def _check(counts: dict[Hashable, int], groups: Sequence[Sequence[Hashable]]) -> None:
    out = protect(counts, groups)
    for k, n in counts.items():
        if 0 < n < 10:
            assert out.cells[k] is None  # primary
        if out.cells[k] is not None:
            assert out.cells[k] == round_to_base(n)  # shown cells are the rounded counts
            if n == 0:
                assert out.cells[k] == 0
    for g, members in enumerate(groups):
        total = sum(counts[k] for k in members)
        if out.totals[g] is not None:
            assert total == 0 or (total >= 10 and out.totals[g] == round_to_base(total))
            shown = [k for k in members if out.cells[k] is not None]
            assert len(members) - len(shown) != 1  # never exactly one suppressed cell
    # no small count can be worked out from what is published
    for k, n in counts.items():
        if 0 < n < 10:
            assert _range(counts, groups, out, [k]) > 0.5, (counts, out)
    for g, members in enumerate(groups):
        total = sum(counts[k] for k in members)
        if 0 < total < 10:
            assert _range(counts, groups, out, members) > 0.5, (counts, out, g)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.integers(0, 3), st.integers(0, 3)),
        st.one_of(st.integers(0, 12), st.integers(10, 80)),
        min_size=1,
        max_size=12,
    )
)
def test_no_small_count_in_a_table_can_be_worked_out(grid: dict[Key, int]) -> None:
    counts: dict[Hashable, int] = dict(grid)
    _check(counts, _table_groups(list(grid)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_no_small_count_in_a_breakdown_can_be_worked_out(values: list[int]) -> None:
    counts: dict[Hashable, int] = {f"m{i}": v for i, v in enumerate(values)}
    _check(counts, [list(counts)])


def test_the_rule_picks_the_smallest_complement_and_the_audit_goes_further() -> None:
    one = protect_breakdown({"a": 3, "b": 40, "c": 25})
    assert one.cells == {"a": None, "b": 40, "c": None} and one.totals == [70]
    # Partner p1 has 5 and 3 (its total 8 is under 10); p2 has 20 and 30. The rule hides
    # p2's cells (one hidden per column otherwise); the audit then withdraws p2's total, or
    # p1's 8 would be the grand total less p2's.
    cells = {("p1", "s1"): 5, ("p1", "s2"): 3, ("p2", "s1"): 20, ("p2", "s2"): 30}
    out = protect(cells, _table_groups(list(cells)))
    assert all(v is None for v in out.cells.values())
    assert out.totals == [None, None, 25, 35, 60]  # p1, p2, s1, s2, all
    zeros = protect_breakdown({"a": 0, "b": 12, "c": 0})
    assert zeros.cells == {"a": 0, "b": 10, "c": 0} and zeros.totals == [10]
