"""What each actor's vector tile holds (decoded with mapbox_vector_tile): disclosure control of
the squares at low zoom, points from zoom 16 only where row-level security allows, providers'
works, audited marker tiles, risk squares and scores; and the key indexes the point tiles use
under row-level security."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import Connection, text
from test_tiles import (
    AREA,
    CLUSTER,
    NORTH_HOMES,
    WORLD,
    add_area,
    add_homes,
    as_actor,
    features,
    in_box,
    layer_props,
    tiles_over,
)
from world import HOUSING_A, HOUSING_B, World

from hardening.bbox import BBox
from hardening.db.engine import Actor
from hardening.errors import UserInputError
from hardening.features.collections import ANPR, CCTV, WORK_ORDERS
from hardening.features.source import TableCollection
from hardening.geo import to_lon_lat
from hardening.security.disclosure import publishable
from hardening.tiles.grid import POINT_ZOOM, tile_for
from hardening.tiles.layers import Access, statement
from hardening.tiles.service import render


# --- what each actor's tile holds ---------------------------------------------------------------
def test_low_zoom_squares_are_disclosure_controlled(app_conn: Connection, world: World) -> None:
    add_area(app_conn)
    x, y = CLUSTER  # three 50 m squares: 23, 12 and 3 homes (all in one 1 km square)
    add_homes(app_conn, [(x + 1 + i, y + 1) for i in range(23)])
    add_homes(app_conn, [(x + 51 + i, y + 1) for i in range(12)])
    add_homes(app_conn, [(x + 101 + i, y + 1) for i in range(3)])
    box = (x, y, x + 150, y + 50)
    for who in ("planner", "control_room", "housing_a"):
        conn = as_actor(app_conn, world.actors[who])
        for z, expected in ((15, [23, 12]), (12, [38]), (10, [38])):
            got = layer_props(conn, "addresses", box, z)
            assert all(p["kind"] == "cell" for p in got)
            assert all(p["count"] >= 10 and p["count"] % 5 == 0 for p in got)
            mine = sorted(p["count"] for p in in_box(got, box))
            assert mine == sorted(publishable(n) or 0 for n in expected), (who, z)
    # From zoom 16 a planner (no address rows) keeps the squares; nobody sees a lone home.
    conn = as_actor(app_conn, world.actors["planner"])
    got = in_box(layer_props(conn, "addresses", box, POINT_ZOOM), box)
    assert sorted(p["count"] for p in got) == [10, 25]


def test_points_from_zoom_16_follow_row_level_security(app_conn: Connection, world: World) -> None:
    north = set(world.homes_a + world.homes_b)
    for who, expected in (("control_room", north), ("housing_a", set(world.homes_a)),
                          ("housing_b", set(world.homes_b)), ("lapsed", set()),
                          ("planner", set())):  # fmt: skip
        conn = as_actor(app_conn, world.actors[who])
        got = layer_props(conn, "addresses", NORTH_HOMES, POINT_ZOOM)
        points = [p for p in got if p["kind"] == "address"]
        assert {p["uprn"] for p in points if p["uprn"] in WORLD} == expected, who
        assert all(p["address"].endswith("Test Street") for p in points if p["uprn"] in WORLD)
        # A lone home never shows as a square: the world's homes are 1 or 2 to a 50 m square.
        assert in_box([p for p in got if p["kind"] == "cell"], NORTH_HOMES) == []


def test_a_point_lands_where_its_address_is(app_conn: Connection, world: World) -> None:
    conn = as_actor(app_conn, world.actors["control_room"])
    lon, lat = to_lon_lat(421_000, 520_100)  # homes_a[0]
    tile = tile_for(lon, lat, 18)
    found = {f["properties"]["uprn"]: f for f in features(render(conn, "addresses", tile).data,
                                                          "addresses")}  # fmt: skip
    xmin, ymin, xmax, _ = tile.bounds()
    mx = math.radians(lon) * 6378137.0
    my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
    px, py = found[world.homes_a[0]]["geometry"]["coordinates"]
    scale = 4096 / (xmax - xmin)
    assert abs(px - (mx - xmin) * scale) <= 1 and abs(py - (my - ymin) * scale) <= 1


def test_works_tiles_hold_only_the_providers_own(app_conn: Connection, world: World) -> None:
    # Other tests may commit orders of their own at these homes: what matters is whose.
    a, b = set(world.homes_a), set(world.homes_b)
    for who, mine, never in (("housing_a", a, b), ("housing_b", b, a)):
        conn = as_actor(app_conn, world.actors[who])
        for z in (12, 14, 17):
            got = {p["uprn"] for p in layer_props(conn, "works", NORTH_HOMES, z)}
            assert min(mine) in got and got <= mine and not got & never, (who, z)
    conn = as_actor(app_conn, world.actors["analyst"])  # police analysts read their areas'
    assert {world.homes_a[0], world.homes_b[0]} <= {
        p["uprn"] for p in layer_props(conn, "works", NORTH_HOMES, 12)
    }
    for who in ("control_room", "planner", "health"):
        conn = as_actor(app_conn, world.actors[who])
        assert layer_props(conn, "works", NORTH_HOMES, 12) == [], who


def test_low_zoom_points_are_clusters_of_what_the_actor_may_see(
    app_conn: Connection, world: World
) -> None:
    """Below zoom 12, every order the provider may see is counted once, in one cluster of one
    tile, and no other provider's order is; a marker tile's audit counts markers, not
    clusters."""
    system = as_actor(app_conn, Actor.system())
    extents = {
        row.provider_org_id: row
        for row in system.execute(
            text(
                "SELECT provider_org_id, count(*) AS n, min(ST_X(geom)) AS x0, "
                "min(ST_Y(geom)) AS y0, max(ST_X(geom)) AS x1, max(ST_Y(geom)) AS y1 "
                "FROM work_orders WHERE status <> 'cancelled' GROUP BY provider_org_id"
            )
        )
    }
    for who, provider in (("housing_a", HOUSING_A), ("housing_b", HOUSING_B)):
        e = extents[provider]
        conn = as_actor(app_conn, world.actors[who])
        for z in (9, 11):
            got = layer_props(
                conn, "works", (e.x0 - 1000, e.y0 - 1000, e.x1 + 1000, e.y1 + 1000), z
            )
            assert {p["kind"] for p in got} == {"cluster"}, (who, z)
            assert sum(p["count"] for p in got) == e.n, (who, z)
    conn = as_actor(app_conn, world.actors["control_room"])
    tile = tile_for(*to_lon_lat(421_030, 520_150), 10)  # homes_a[1], which has a marker
    shown = render(conn, "markers", tile, "county overview")
    clusters = features(shown.data, "markers")
    assert clusters and all(f["properties"]["kind"] == "cluster" for f in clusters)
    assert shown.features == sum(f["properties"]["count"] for f in clusters) >= 1


def test_marker_tiles_need_a_reason_and_are_audited(app_conn: Connection, world: World) -> None:
    tile = next(tiles_over(NORTH_HOMES, 8))
    with pytest.raises(UserInputError):
        render(as_actor(app_conn, world.actors["control_room"]), "markers", tile)
    for who in ("housing_a", "planner", "health"):
        assert render(as_actor(app_conn, world.actors[who]), "markers", tile, "routine").empty
    conn = as_actor(app_conn, world.actors["admin"])  # admins may read the audit log
    tile = tile_for(*to_lon_lat(421_030, 520_150), 14)  # homes_a[1], which has a marker
    shown = render(conn, "markers", tile, "call for service 123")
    got = {f["properties"]["uprn"]: f["properties"] for f in features(shown.data, "markers")}
    assert got[world.homes_a[1]]["reason_category"] == "cuckooing"
    assert {p["state"] for p in got.values()} <= {"active", "review_due"}
    assert world.south_homes[0] not in got
    logged = conn.execute(
        text(
            "SELECT action, justification, details FROM audit_log "
            "WHERE object_type = 'safe_marker' ORDER BY audit_id DESC LIMIT 1"
        )
    ).one()
    assert logged.action == "consultation" and logged.justification == "call for service 123"
    assert logged.details == {"tile": f"markers/14/{tile.x}/{tile.y}", "markers": len(got)}


def _default_model(conn: Connection) -> None:
    conn.execute(text("UPDATE risk_models SET is_default = false WHERE is_default"))
    conn.execute(
        text("INSERT INTO risk_models (model_version, params, is_default) "
             "VALUES ('t-tiles', '{}', true)")
    )  # fmt: skip


def test_risk_tiles(app_conn: Connection, world: World) -> None:
    _default_model(app_conn)
    add_area(app_conn)
    x, y = CLUSTER
    cluster = add_homes(app_conn, [(x + 1 + i, y + 1) for i in range(12)])
    add_homes(app_conn, [(x + 20, y + 20)], kind="commercial")  # never scored, never counted
    scored = [*cluster, *world.homes_a, *world.homes_b]
    app_conn.execute(
        text(
            "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
            "SELECT a.uprn, 't-tiles', CASE WHEN a.uprn % 6 = 0 THEN 10 ELSE 40 END, "
            "CASE WHEN a.uprn % 6 = 0 THEN 'medium' ELSE 'high' END, a.area_id "
            "FROM addresses a WHERE a.uprn = ANY(:u)"
        ),
        {"u": scored},
    )
    # The planner's agreement does not cover this test area: add it, as the system actor.
    app_conn.execute(
        text("INSERT INTO agreement_areas SELECT agreement_id, :a FROM sharing_agreements "
             "WHERE org_id = :o"), {"a": AREA, "o": world.actors["planner"].org_id},
    )  # fmt: skip
    box = (x, y, x + 50, y + 50)
    conn = as_actor(app_conn, world.actors["planner"])
    for z in (12, 16):  # planners only ever get squares
        (cell,) = in_box(layer_props(conn, "risk", box, z), box)
        assert cell["kind"] == "cell" and cell["dwellings"] == publishable(12)
        highs = sum(1 for u in cluster if u % 6)
        assert cell["mean_score"] == pytest.approx(round((40 * highs + 10 * (12 - highs)) / 12, 1))
        assert cell.get("high") == publishable(highs)
    for who, expected in (("housing_a", set(world.homes_a)),
                          ("control_room", set(world.homes_a + world.homes_b))):  # fmt: skip
        conn = as_actor(app_conn, world.actors[who])
        got = layer_props(conn, "risk", NORTH_HOMES, POINT_ZOOM)
        assert {p["uprn"] for p in got} == expected
        assert {p["band"] for p in got} <= {"medium", "high"}
        assert layer_props(conn, "risk", NORTH_HOMES, 12) == []  # no squares for them


# --- plans under row-level security -------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "who", "table", "index"),
    [
        ("addresses", "control_room", "addresses", "addresses_tile_key"),
        ("risk", "housing_a", "addresses", "addresses_tile_key"),
        ("markers", "control_room", "safe_markers", "safe_markers_tile_key"),
        ("works", "housing_a", "work_orders", "work_orders_tile_key"),
    ],
)
def test_point_tiles_use_their_key_index_under_rls(
    app_conn: Connection, world: World, layer: str, who: str, table: str, index: str
) -> None:
    conn = as_actor(app_conn, world.actors[who])
    # Pricing out a sequential scan shows whether the index is usable under RLS at all (a qual
    # the planner may not push below the policy would leave nothing else).
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    tile = next(tiles_over(NORTH_HOMES, POINT_ZOOM))
    box = tile.bng_box()
    assert box is not None
    found = statement(layer, tile, box, Access.of(conn))
    assert found is not None and found.shape == "points"
    plan = "\n".join(conn.execute(text("EXPLAIN " + found.sql), found.params).scalars())
    assert index in plan, plan
    assert f"Seq Scan on {table}" not in plan, plan


@pytest.mark.parametrize(
    ("collection", "who", "table", "index"),
    [
        (CCTV, "planner", "cctv_sites", "cctv_sites_tile_key"),
        (ANPR, "planner", "anpr_sites", "anpr_sites_tile_key"),
        (WORK_ORDERS, "housing_a", "work_orders", "work_orders_tile_key"),
    ],
)  # Not safe-markers: on this tiny table the planner rightly prefers walking the partial index
# of active markers (005) whole; over 11,564 markers it takes the key ranges (docs/ogc.md).
def test_ogc_bbox_reads_use_the_same_key_index_under_rls(
    app_conn: Connection, world: World, collection: TableCollection, who: str, table: str,
    index: str,
) -> None:  # fmt: skip
    conn = as_actor(app_conn, world.actors[who])
    conn.execute(text("SET LOCAL enable_seqscan = off"))  # as above
    lon0, lat0 = to_lon_lat(NORTH_HOMES[0], NORTH_HOMES[1])
    lon1, lat1 = to_lon_lat(NORTH_HOMES[2], NORTH_HOMES[3])
    bbox = BBox(lon0, lat0, lon1, lat1)
    where, params = collection.bbox_filter(bbox)
    sql = f"SELECT {collection.key} FROM {collection.bbox_from(bbox)} WHERE {where}"
    plan = "\n".join(conn.execute(text("EXPLAIN " + sql), params).scalars())
    assert index in plan, plan
    assert f"Seq Scan on {table}" not in plan, plan
