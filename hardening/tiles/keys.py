"""Z-order (Morton) keys of BNG points, and the key ranges that cover a box.

Why not the GiST index: under row-level security PostgreSQL may evaluate a query's own
conditions only after the policy's, unless they are leakproof; PostGIS's `&&` is not, so a
box query on an RLS table reads every row the policy lets through. Integer comparisons are
leakproof. `addresses.tile_key` (sql/012_tiles.sql) interleaves the bits of a point's whole
metres of easting and northing, so a box is a few ranges of one btree index, which the planner
may use under RLS; the exact `geom && box` test then runs on the few rows those ranges return.
"""

from __future__ import annotations

from typing import Final

from hardening.tiles.grid import BngBox

LEVELS: Final = 21  # 2**21 m > 1,300,000 m: one quadtree node covers the whole grid
MAX_RANGES: Final = 128


def spread(v: int) -> int:
    """The bits of v (< 2**21) moved to the even positions: the SQL `bng_spread` in Python."""
    v &= (1 << LEVELS) - 1
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


def morton(x: int, y: int) -> int:
    """The key of the whole-metre square (x, y): easting in the even bits, northing in the odd."""
    return spread(x) | (spread(y) << 1)


def key_ranges(box: BngBox, max_ranges: int = MAX_RANGES) -> list[tuple[int, int]]:
    """Inclusive (lo, hi) key ranges whose squares cover the box, at most about max_ranges.

    Quadtree descent, breadth first: nodes inside the box become one range each; nodes on its
    edge are split while the budget allows, then taken whole (a few rows more to test exactly).
    """
    x0, y0 = int(box.x0), int(box.y0)
    x1, y1 = int(box.x1), int(box.y1)
    found: list[tuple[int, int]] = []
    edge = [(0, 0, LEVELS)]
    while edge:
        inside = [n for n in edge if _inside(n, x0, y0, x1, y1)]
        edge = [n for n in edge if not _inside(n, x0, y0, x1, y1)]
        found += [_range(n) for n in inside]
        level = edge[0][2] if edge else 0
        if level == 0 or len(found) + 4 * len(edge) > max_ranges:
            found += [_range(n) for n in edge]
            break
        half = 1 << (level - 1)
        edge = [
            child
            for nx, ny, _ in edge
            for child in (
                (nx, ny, level - 1),
                (nx + half, ny, level - 1),
                (nx, ny + half, level - 1),
                (nx + half, ny + half, level - 1),
            )
            if _overlaps(child, x0, y0, x1, y1)
        ]
    return _merged(found)


def _inside(node: tuple[int, int, int], x0: int, y0: int, x1: int, y1: int) -> bool:
    nx, ny, level = node
    size = 1 << level
    return x0 <= nx and nx + size - 1 <= x1 and y0 <= ny and ny + size - 1 <= y1


def _overlaps(node: tuple[int, int, int], x0: int, y0: int, x1: int, y1: int) -> bool:
    nx, ny, level = node
    size = 1 << level
    return nx <= x1 and x0 <= nx + size - 1 and ny <= y1 and y0 <= ny + size - 1


def _range(node: tuple[int, int, int]) -> tuple[int, int]:
    nx, ny, level = node
    lo = morton(nx, ny)
    return lo, lo + (1 << (2 * level)) - 1


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
