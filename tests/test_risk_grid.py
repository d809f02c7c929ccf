"""The one risk grid (sql/034_risk_squares.sql, behind the `risk-cells` registry entry, the
tiles and the Risk page): who gets which form, what it counts, and that nothing under 10 (or
unrounded) ever comes out of the published form.

Each test adds its own dwellings in a corner of world.NORTH (rolled back).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Connection, text
from world import NORTH, World

from hardening.bbox import BBox
from hardening.db.engine import Actor, set_actor
from hardening.features.collections import CELL_M, RISK_CELLS, readable
from hardening.geo import to_lon_lat

UPRN0 = 5_200_000_000
A, C, E, B, F = (1696, 2096), (1697, 2096), (1698, 2098), (1699, 2099), (1696, 2098)
# cell: (dwellings, high, area): F lies in no area the planner's agreement covers.
CELLS: dict[tuple[int, int], tuple[int, int, str | None]] = {
    A: (23, 12, NORTH),
    C: (15, 11, NORTH),
    E: (12, 3, NORTH),
    B: (7, 7, NORTH),
    F: (12, 0, None),
}


def cell_id(cell: tuple[int, int]) -> str:
    return f"{cell[0]}-{cell[1]}"


@pytest.fixture
def grid(app_conn: Connection, world: World) -> Connection:
    """The cells above as dwellings with scores under the model the grid uses."""
    model = app_conn.execute(
        text(
            "SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC "
            "LIMIT 1"  # other tests in the session may have committed fitted models
        )
    ).scalar_one()
    uprn = UPRN0
    for (ix, iy), (dwellings, high, area) in CELLS.items():
        for i in range(dwellings):
            uprn += 1
            app_conn.execute(
                text(
                    "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
                    "VALUES (:u, :a, :t, 'flat', ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
                ),
                {
                    "u": uprn,
                    "a": area,
                    "t": f"Flat {i + 1}, Grid House",
                    "x": ix * CELL_M + 5 + (i % 10) * 20,
                    "y": iy * CELL_M + 5 + (i // 10) * 20,
                },
            )
            app_conn.execute(
                text(
                    "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
                    "VALUES (:u, :m, :s, :b, :a)"
                ),
                {
                    "u": uprn,
                    "m": model,
                    "s": 80 if i < high else 20,
                    "b": ("high", "very_high")[i % 2] if i < high else "low",
                    "a": area,
                },
            )
    # A block is not a dwelling (its flats are): it must not count.
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) VALUES "
            "(:u, :a, 'Grid House', 'block', ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        {"u": UPRN0, "a": NORTH, "x": A[0] * CELL_M + 1, "y": A[1] * CELL_M + 1},
    )
    return app_conn


def published(conn: Connection, bbox: BBox | None = None) -> list[SimpleNamespace]:
    """The squares the collection serves (one page holding them all), as their properties."""
    page = RISK_CELLS.page(conn, bbox, 10_000, 0, 100_000)
    return [SimpleNamespace(**json.loads(f)["properties"]) for f in page.features]


def mine(cells: list[Any]) -> dict[tuple[int, int], tuple[Any, ...]]:
    """This module's squares (1696..1699, 2096..2099) as (dwellings, high, high share)."""
    return {
        (c.ix, c.iy): (c.dwellings, c.high, c.high_share)
        for c in cells
        if 1696 <= c.ix <= 1699 and 2096 <= c.iy <= 2099
    }


PUBLISHED = "SELECT count(*) FROM risk_squares(250, published => true)"


def box_around(cell: tuple[int, int]) -> BBox:
    x, y = cell[0] * CELL_M, cell[1] * CELL_M
    lon0, lat0 = to_lon_lat(x + 100, y + 100)
    lon1, lat1 = to_lon_lat(x + 150, y + 150)
    return BBox(lon0, lat0, lon1, lat1)


def test_planner_gets_published_counts_only(grid: Connection, world: World) -> None:
    set_actor(grid, world.actors["planner"])
    cells = mine(published(grid))
    assert cells == {
        A: (25, 10, 0.4),  # 23 -> 25, 12 -> 10
        C: (15, 10, 0.667),
        E: (10, None, None),  # 3 high: withheld
    }  # B (7 dwellings) withheld; F is outside the planner's areas
    # The planner reads no score row at all; the grid is all it gets.
    assert grid.execute(text("SELECT count(*) FROM risk_scores")).scalar_one() == 0
    assert grid.execute(text("SELECT count(*) FROM addresses")).scalar_one() == 0


def test_the_system_counts_every_area(grid: Connection) -> None:
    cells = mine(published(grid))
    assert cells[F] == (10, None, None)
    assert set(cells) == {A, C, E, F}


def test_whatever_is_shown_is_suppressed_and_rounded(grid: Connection, world: World) -> None:
    set_actor(grid, world.actors["analyst"])
    cells = published(grid)
    assert cells, "the analyst sees the grid"
    for cell in cells:
        assert cell.dwellings >= 10 and cell.dwellings % 5 == 0
        assert cell.high is None or (cell.high >= 10 and cell.high % 5 == 0)


def test_a_cell_reads_the_same_whatever_the_request(grid: Connection, world: World) -> None:
    """Disclosure control runs per tile: a bbox or a single feature cannot change a value."""
    set_actor(grid, world.actors["planner"])
    everything = mine(published(grid))
    for cell in (A, C, E):
        alone = published(grid, box_around(cell))
        assert [(c.ix, c.iy) for c in alone] == [cell]
        assert (alone[0].dwellings, alone[0].high, alone[0].high_share) == everything[cell]
        props = json.loads(RISK_CELLS.item(grid, cell_id(cell)))["properties"]
        assert (props["dwellings"], props["high"], props["high_share"]) == everything[cell]
    assert published(grid, box_around(B)) == []


def test_only_planners_analysts_and_admins_get_the_grid(grid: Connection, world: World) -> None:
    for role in ("housing_a", "control_room", "visit_team", "health", "lapsed"):
        set_actor(grid, world.actors[role])
        assert grid.execute(text(PUBLISHED)).scalar_one() == 0, role
        assert "risk-cells" not in {s.id for s in readable(grid)}, role
    for role in ("planner", "analyst", "admin"):
        set_actor(grid, world.actors[role])
        assert "risk-cells" in {s.id for s in readable(grid)}, role
    set_actor(grid, Actor(None, None))  # no actor at all
    assert grid.execute(text(PUBLISHED)).scalar_one() == 0


def test_the_exact_form_counts_the_rows_the_actor_reads(grid: Connection, world: World) -> None:
    """Exact counts (no disclosure control) of the score rows RLS lets the actor read; scores
    only for those who read risk factors; a box takes squares whole."""
    box = {"x0": A[0] * CELL_M + 100, "y0": A[1] * CELL_M + 100, "x1": B[0] * CELL_M + 1,
           "y1": B[1] * CELL_M + 1}  # fmt: skip
    exact = "SELECT * FROM risk_squares(:c, :x0, :y0, :x1, :y1)"
    raw = {(r.ix, r.iy): r for r in grid.execute(text(exact), {"c": CELL_M, **box})}
    assert {k: (r.dwellings, r.high, r.band) for k, r in raw.items() if k in CELLS} == {
        A: (23, 12, "very_high"), C: (15, 11, "very_high"), E: (12, 3, "very_high"),
        B: (7, 7, "very_high"), F: (12, 0, "low"),
    }  # fmt: skip
    assert raw[A].max_score == 80 and raw[F].mean_score == 20
    set_actor(grid, world.actors["housing_a"])  # no home of its own here
    assert not [r for r in grid.execute(text(exact), {"c": CELL_M, **box}) if (r.ix, r.iy) in CELLS]
    set_actor(grid, world.actors["planner"])  # reads no score row: the exact form is empty
    assert grid.execute(text(exact), {"c": CELL_M, **box}).all() == []
    set_actor(grid, Actor.system())
    assert grid.execute(text("SELECT count(*) FROM risk_squares(5)")).scalar_one() == 0
