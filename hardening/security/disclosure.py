"""Disclosure control for aggregates shown to planners (fixed grid cells or LSOAs).

Counts under 10 are suppressed, the rest rounded to the nearest 5; then secondary suppression
makes sure no row or column of the grid whose total is published has exactly one suppressed
cell, so no suppressed cell can be recovered by subtraction from a published total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

THRESHOLD = 10
ROUNDING = 5

Cell = tuple[int, int]  # (column index, row index) of a fixed grid


def round_to_base(value: int, base: int = ROUNDING) -> int:
    return base * ((value + base // 2) // base)


def publishable(value: int) -> int | None:
    """The published form of one count: None when suppressed."""
    return None if value < THRESHOLD else round_to_base(value)


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
