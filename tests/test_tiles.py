"""Vector tiles (hardening.tiles) against PostGIS: tile arithmetic, the Morton key, the
pre-counted squares the triggers keep, and the Streamlit map's squares read from them; plus the
helpers test_tiles_access.py (what each actor's tile holds) shares."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from hardening import layers
from hardening.db.engine import Actor, set_actor
from hardening.errors import NotFoundError
from hardening.geo import point_ewkt, to_lon_lat
from hardening.security.disclosure import publish_grid
from hardening.tiles import mapdata
from hardening.tiles.grid import BngBox, TileId, tile_for
from hardening.tiles.keys import key_ranges, morton
from hardening.tiles.service import render

AREA = "test-tiles"
UPRN = 5_200_000_000  # clear of the world (5_000_000_000) and the sample (990_000_000_000)
CLUSTER = (431_000.0, 531_000.0)  # an empty 50 m square of the grid, away from the world
NORTH_HOMES = (421_000, 520_100, 421_120, 521_050)  # the world's north homes, BNG box
WORLD = range(5_000_000_000, 5_000_000_100)
FIXTURE_CHECK = HealthCheck.function_scoped_fixture  # the fixture is only read


def features(data: bytes, layer: str) -> list[dict[str, Any]]:
    if not data:
        return []
    decoded = mapbox_vector_tile.decode(data)
    assert set(decoded) == {layer}
    found: list[dict[str, Any]] = decoded[layer]["features"]
    return found


def tiles_over(box: tuple[float, float, float, float], z: int) -> Iterator[TileId]:
    """Every tile of zoom z the BNG box touches."""
    west, south = to_lon_lat(box[0], box[1])
    east, north = to_lon_lat(box[2], box[3])
    a, b = tile_for(west, north, z), tile_for(east, south, z)
    for x in range(a.x, b.x + 1):
        for y in range(a.y, b.y + 1):
            yield TileId(z, x, y)


def layer_props(conn: Connection, layer: str, box: tuple[float, float, float, float], z: int,
                reason: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    return [
        f["properties"]
        for tile in tiles_over(box, z)
        for f in features(render(conn, layer, tile, reason).data, layer)
    ]


def in_box(cells: list[dict[str, Any]], box: tuple[float, float, float, float]) -> list[Any]:
    """The squares among cells that overlap the BNG box (other tests' rows may be nearby)."""
    return [
        c
        for c in cells
        if c["kind"] == "cell"
        and c["ix"] * c["cell_m"] < box[2] and box[0] < (c["ix"] + 1) * c["cell_m"]
        and c["iy"] * c["cell_m"] < box[3] and box[1] < (c["iy"] + 1) * c["cell_m"]
    ]  # fmt: skip


def as_actor(conn: Connection, actor: Actor) -> Connection:
    set_actor(conn, actor)
    return conn


def add_area(conn: Connection) -> None:
    x, y = CLUSTER
    conn.execute(
        text(
            "INSERT INTO areas VALUES (:a, 'Test Tiles', ST_Multi(ST_MakeEnvelope(:x0, :y0, "
            ":x1, :y1, 27700)))"
        ),
        {"a": AREA, "x0": x - 5000, "y0": y - 5000, "x1": x + 5000, "y1": y + 5000},
    )


def add_homes(
    conn: Connection, points: list[tuple[float, float]], kind: str = "house"
) -> list[int]:
    start = int(conn.execute(text("SELECT count(*) FROM addresses WHERE area_id = :a"),
                             {"a": AREA}).scalar_one())  # fmt: skip
    uprns = [UPRN + start + i for i in range(len(points))]
    rows = [
        {"u": u, "a": AREA, "t": f"{u - UPRN} Tile Lane", "k": kind, "g": point_ewkt(x, y)}
        for u, (x, y) in zip(uprns, points, strict=True)
    ]
    conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
            "VALUES (:u, :a, :t, :k, ST_GeomFromEWKT(:g))"
        ),
        rows,
    )
    return uprns


# --- tile arithmetic and keys -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("z", "x", "y"), [(-1, 0, 0), (23, 0, 0), (2, 4, 0), (2, 0, 4), (0, 0, -1)]
)
def test_tiles_outside_the_pyramid_are_not_found(z: int, x: int, y: int) -> None:
    with pytest.raises(NotFoundError):
        TileId(z, x, y)


def test_a_tile_holds_its_point_and_its_bng_box_holds_the_tile() -> None:
    lon, lat = -3.2262, 54.1190  # Barrow-in-Furness station
    for z in (0, 6, 10, 16, 22):
        tile = tile_for(lon, lat, z)
        xmin, ymin, xmax, ymax = tile.bounds()
        mx = math.radians(lon) * 6378137.0
        my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
        assert xmin <= mx < xmax and ymin <= my < ymax
        box = tile.bng_box()
        assert box is not None and box.x0 < box.x1 and box.y0 < box.y1
    assert tile_for(lon, lat, 16).cell_m() == 50 and tile_for(lon, lat, 10).cell_m() == 1000
    assert TileId(4, 0, 0).bng_box() is None  # the north Pacific: no query at all


@given(st.floats(0, 699_999.99), st.floats(0, 1_299_999.99))
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_morton_key_is_the_databases(app_conn: Connection, x: float, y: float) -> None:
    in_sql = app_conn.execute(
        text("SELECT bng_morton(ST_SetSRID(ST_MakePoint(:x, :y), 27700))"), {"x": x, "y": y}
    ).scalar_one()
    assert in_sql == morton(int(x), int(y))


@given(
    st.floats(0, 690_000),
    st.floats(0, 1_290_000),
    st.floats(1, 30_000),
    st.floats(1, 30_000),
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30),
)
def test_key_ranges_cover_every_point_of_the_box(
    x: float, y: float, w: float, h: float, spots: list[tuple[float, float]]
) -> None:
    box = BngBox(x, y, min(x + w, 700_000), min(y + h, 1_300_000))
    ranges = key_ranges(box)
    assert len(ranges) <= 128
    assert all(lo <= hi for lo, hi in ranges)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))  # sorted, apart
    for fx, fy in spots:
        px, py = box.x0 + fx * (box.x1 - box.x0), box.y0 + fy * (box.y1 - box.y0)
        key = morton(int(px), int(py))
        assert any(lo <= key <= hi for lo, hi in ranges), (px, py)


# --- pre-counted squares ------------------------------------------------------------------------
def _cells(conn: Connection) -> dict[tuple[int, int, int], int]:
    rows = conn.execute(
        text("SELECT cell_m, ix, iy, n FROM address_cells WHERE area_id = :a AND n > 0"),
        {"a": AREA},
    )
    return {(c, ix, iy): n for c, ix, iy, n in rows}


def _recount(conn: Connection) -> dict[tuple[int, int, int], int]:
    rows = conn.execute(
        text(
            "SELECT k.cell_m, k.ix, k.iy, count(*) FROM addresses a, tile_cells_of(a.geom) k "
            "WHERE a.area_id = :a AND a.property_type <> 'block' GROUP BY 1, 2, 3"
        ),
        {"a": AREA},
    )
    return {(c, ix, iy): n for c, ix, iy, n in rows}


def _risk(conn: Connection, recount: bool) -> dict[tuple[Any, ...], tuple[int, float, int]]:
    sql = (
        "SELECT s.model_version, k.cell_m, k.ix, k.iy, count(*), sum(s.score), "
        "count(*) FILTER (WHERE s.band IN ('high', 'very_high')) FROM risk_scores s "
        "JOIN addresses a USING (uprn), tile_cells_of(a.geom) k WHERE s.area_id = :a "
        "AND a.property_type NOT IN ('block', 'commercial') GROUP BY 1, 2, 3, 4"
        if recount
        else "SELECT model_version, cell_m, ix, iy, n, score_sum, high FROM risk_cells "
        "WHERE area_id = :a AND n > 0"
    )
    rows = conn.execute(text(sql), {"a": AREA})
    return {tuple(r[:4]): (int(r[4]), round(float(r[5]), 6), int(r[6])) for r in rows}


def test_squares_follow_inserts_moves_and_deletes(owner_conn: Connection) -> None:
    set_actor(owner_conn, Actor.system())
    add_area(owner_conn)
    x, y = CLUSTER
    homes = add_homes(owner_conn, [(x + 3 * i, y + 7 * (i % 4)) for i in range(40)])
    block = add_homes(owner_conn, [(x + 400, y + 400)], kind="block")
    add_homes(owner_conn, [(x + 400, y + 400)] * 12, kind="flat")
    assert _cells(owner_conn) == _recount(owner_conn)
    assert _cells(owner_conn)[(50, int(x // 50) + 8, int(y // 50) + 8)] == 12  # flats, no block
    owner_conn.execute(
        text("INSERT INTO risk_models (model_version, params) VALUES ('t-tiles', '{}')")
    )
    owner_conn.execute(
        text(
            "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
            "SELECT uprn, 't-tiles', 10 + (uprn % 60), CASE WHEN uprn % 60 >= 30 THEN 'high' "
            "ELSE 'medium' END, area_id FROM addresses WHERE area_id = :a"
        ),
        {"a": AREA},
    )
    assert _risk(owner_conn, False) == _risk(owner_conn, True)
    moved = homes[:15]
    owner_conn.execute(  # 15 homes move 3 km: squares at every size change
        text("UPDATE addresses SET geom = ST_Translate(geom, 3000, 1000) WHERE uprn = ANY(:u)"),
        {"u": moved},
    )
    owner_conn.execute(text("UPDATE addresses SET full_address = full_address || ' (a)' "
                            "WHERE area_id = :a"), {"a": AREA})  # fmt: skip  # moves nothing
    owner_conn.execute(
        text("UPDATE risk_scores SET score = 90, band = 'very_high' WHERE uprn = ANY(:u)"),
        {"u": homes[10:20]},
    )
    owner_conn.execute(text("UPDATE addresses SET property_type = 'house' WHERE uprn = :u"),
                       {"u": block[0]})  # fmt: skip  # a block record becomes a dwelling
    owner_conn.execute(text("DELETE FROM risk_scores WHERE uprn = ANY(:u)"), {"u": homes[30:]})
    owner_conn.execute(text("DELETE FROM addresses WHERE uprn = ANY(:u)"), {"u": homes[30:]})
    assert _cells(owner_conn) == _recount(owner_conn)
    assert _risk(owner_conn, False) == _risk(owner_conn, True)
    assert sum(n for (c, _, _), n in _cells(owner_conn).items() if c == 50) == 30 + 1 + 12


def test_map_squares_are_the_counted_density(app_conn: Connection) -> None:
    """Square sizes of the ladder are read from the pre-counted grid, others are counted: either
    way the squares are exactly what counting every address gives (publish_grid included)."""
    add_area(app_conn)
    x, y = CLUSTER
    add_homes(app_conn, [(x + 1 + i, y + 1) for i in range(23)])
    add_homes(app_conn, [(x + 260 + i, y + 1) for i in range(12)])
    add_homes(app_conn, [(x + 1 + i, y + 260) for i in range(3)])
    for cell in (100, 250, 1000):
        raw = app_conn.execute(text("SELECT ix, iy, n FROM address_grid_counts(:c)"), {"c": cell})
        counted = publish_grid({(ix, iy): n for ix, iy, n in raw}).cells
        shown = {(c.ix, c.iy): c.count for c in layers.address_density(app_conn, cell)}
        assert shown == {k: n for k, n in counted.items() if n is not None}
    assert shown[(math.floor(x / 1000), math.floor(y / 1000))] == 40  # the 38 homes, published


def test_a_large_town_starts_with_larger_squares(
    app_conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_area(app_conn)
    x, y = CLUSTER  # 40 homes, 30 m apart: 40 squares of 50 m, fewer of 250 m and 1 km
    add_homes(app_conn, [(x + 30 * i, y + 1) for i in range(40)])
    counts = {
        c: app_conn.execute(
            text("SELECT count(*) FROM address_cell_counts(:c, 0, 0, 700000, 1300000)"), {"c": c}
        ).scalar_one()
        for c in mapdata.MAP_CELLS
    }
    assert counts[250] > counts[1000] > 0
    monkeypatch.setattr(mapdata, "FIRST_VIEW_SQUARES", counts[250])
    assert mapdata.first_square(app_conn) == 250
    monkeypatch.setattr(mapdata, "FIRST_VIEW_SQUARES", counts[250] - 1)
    assert mapdata.first_square(app_conn) == 1000
    monkeypatch.setattr(mapdata, "FIRST_VIEW_SQUARES", 0)
    assert mapdata.first_square(app_conn) == 5000  # the largest, however many


def test_application_role_cannot_read_raw_counts(app_conn: Connection) -> None:
    for table in ("address_cells", "risk_cells", "tile_squares"):
        allowed = app_conn.execute(
            text("SELECT has_table_privilege('hardening_app', :t, 'SELECT')"), {"t": table}
        ).scalar_one()
        assert allowed is False
    callable_ = app_conn.execute(
        text(
            "SELECT has_function_privilege('hardening_app', "
            "'address_cells_apply(integer[], integer[], text[], integer[])', 'EXECUTE')"
        )
    ).scalar_one()
    assert callable_ is False
