"""Property tests of aggregate disclosure control on generated grids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hardening.security.disclosure import THRESHOLD, Cell, publish_grid, round_to_base

grids = st.dictionaries(
    keys=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    values=st.integers(0, 60),
    max_size=49,
)


@settings(max_examples=400, deadline=None)
@given(grids)
def test_no_small_published_cells_and_all_multiples_of_five(counts: dict[Cell, int]) -> None:
    published = publish_grid(counts)
    for cell, value in published.cells.items():
        if value is not None:
            assert value >= THRESHOLD and value % 5 == 0
            assert abs(value - counts[cell]) <= 2
        else:
            assert counts[cell] > 0
    for totals in (published.column_totals, published.row_totals):
        assert all(v is None or (v >= THRESHOLD and v % 5 == 0) for v in totals.values())


@settings(max_examples=400, deadline=None)
@given(grids)
def test_no_suppressed_cell_is_alone_in_a_line_with_a_published_total(
    counts: dict[Cell, int],
) -> None:
    published = publish_grid(counts)
    hidden = {cell for cell, value in published.cells.items() if value is None}
    for column, total in published.column_totals.items():
        if total is not None:
            assert sum(1 for cell in hidden if cell[0] == column) != 1
    for row, total in published.row_totals.items():
        if total is not None:
            assert sum(1 for cell in hidden if cell[1] == row) != 1
    if published.total is not None:
        assert len(hidden) != 1


def test_small_cell_gets_a_complementary_suppression() -> None:
    published = publish_grid({(0, 0): 3, (1, 0): 40, (2, 0): 12, (0, 1): 50})
    assert published.cells[(0, 0)] is None
    assert published.cells[(2, 0)] is None  # smallest other cell in row 0
    assert published.cells[(1, 0)] == 40
    assert round_to_base(12) == 10 and round_to_base(13) == 15
