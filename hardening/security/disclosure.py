"""Disclosure control for aggregates shown to planners (fixed grid cells or LSOAs).

Counts under 10 are suppressed, the rest rounded to the nearest 5; then secondary suppression
makes sure no row or column of the grid whose total is published has exactly one suppressed
cell, so no suppressed cell can be recovered by subtraction from a published total.

A figure derived from a count (the risk weight of those households, their share of an area's
risk) is withheld with it: a weight beside a withheld count says how much risk a handful of
households carry. A figure about part of an area's households is shown only when both the part
and the rest are publishable, since the area's figure minus the part's speaks of the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

THRESHOLD = 10
ROUNDING = 5

Cell = tuple[int, int]  # (column index, row index) of a fixed grid
T = TypeVar("T")


def round_to_base(value: int, base: int = ROUNDING) -> int:
    return base * ((value + base // 2) // base)


def publishable(value: int) -> int | None:
    """The published form of one count: None when suppressed."""
    return None if value < THRESHOLD else round_to_base(value)


def with_count(published_count: int | None, value: T) -> T | None:
    """A figure derived from a count, as published: withheld (None) when the count is."""
    return None if published_count is None else value


def split_publishable(part: int, whole: int) -> bool:
    """May a figure about `part` of `whole` households (their weight, their share) be shown?
    Only when the part is a publishable count and the rest is too, or empty."""
    rest = whole - part
    return publishable(part) is not None and (rest == 0 or publishable(rest) is not None)


@dataclass
class PublishedGrid:
    cells: dict[Cell, int | None]  # None = suppressed
    column_totals: dict[int, int | None] = field(default_factory=dict)
    row_totals: dict[int, int | None] = field(default_factory=dict)
    total: int | None = None


def publish_grid(counts: Mapping[Cell, int]) -> PublishedGrid:
    """Apply primary and secondary suppression to non-empty cells and their margins."""
    cells = {cell: n for cell, n in counts.items() if n > 0}
    suppressed = {cell for cell, n in cells.items() if n < THRESHOLD}
    columns: dict[int, list[Cell]] = defaultdict(list)
    rows: dict[int, list[Cell]] = defaultdict(list)
    for cell in cells:
        columns[cell[0]].append(cell)
        rows[cell[1]].append(cell)
    column_totals = {c: publishable(sum(cells[m] for m in ms)) for c, ms in columns.items()}
    row_totals = {r: publishable(sum(cells[m] for m in ms)) for r, ms in rows.items()}
    lines = [(ms, column_totals, c) for c, ms in columns.items()]
    lines += [(ms, row_totals, r) for r, ms in rows.items()]
    changed = True
    while changed:  # each pass suppresses at least one more cell or total, so it ends
        changed = False
        for members, totals, key in lines:
            if totals[key] is None:
                continue
            hidden = [m for m in members if m in suppressed]
            if len(hidden) != 1:
                continue
            shown = sorted((m for m in members if m not in suppressed), key=lambda m: cells[m])
            if shown:
                suppressed.add(shown[0])  # complementary suppression: the smallest other cell
            else:
                totals[key] = None
            changed = True
    grand = sum(cells.values())
    return PublishedGrid(
        cells={cell: None if cell in suppressed else round_to_base(n) for cell, n in cells.items()},
        column_totals=column_totals,
        row_totals=row_totals,
        total=publishable(grand) if len(suppressed) != 1 else None,
    )
