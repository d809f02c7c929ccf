"""hardening.layers against PostGIS, and the small map fixture the API, Streamlit and browser
tests share (a corner of Barrow-in-Furness: two stations, cameras, roads, a few addresses) with
the people who look at it: an organisation whose active sharing agreement covers the fixture's
area (sites, aggregates_only, markers) and its planner `test-app.viewer`, and an organisation
with no agreement at all and its planner `test-app.outsider`.

The API, AppTest and the browser read through their own connections, so they need the fixture
committed (`committed_map_fixture`, which also issues each user an API token); the tests here
insert it inside the rolled-back `app_conn` and then act as the viewer.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from hardening import layers
from hardening.bbox import BBox
from hardening.db.engine import Actor, set_actor, transaction
from hardening.errors import UserInputError
from hardening.geo import point_ewkt, to_bng, to_lon_lat
from hardening.layers import (
    address_density,
    anpr_sites,
    areas,
    cctv_sites,
    feature_collection,
    roads,
    stations,
)
from hardening.security.disclosure import publish_grid
from hardening.security.users import add_user, issue_token

AREA_ID = "test-app-barrow"
AREA_BOX = (-3.27, 54.08, -3.17, 54.16)  # minlon, minlat, maxlon, maxlat
# Other tests (and the sample) may commit rows elsewhere on the grid: look only here.
HERE = BBox(*AREA_BOX)
# Clear of the synthetic sample town's UPRNs (990000000001 upward).
UPRN_BASE = 980_000_000_000
SOURCE = "test-app"
# A second area next to the first (outside AREA_BOX): its camera is not the viewer's to see.
ELSEWHERE_ID = "test-app-elsewhere"
ELSEWHERE_BOX = (-3.16, 54.08, -3.12, 54.16)
ELSEWHERE_CCTV = ("c9", "Elsewhere camera", "working", -3.1400, 54.1200)
ORG_ID, OUTSIDER_ORG_ID = "test-app-org", "test-app-outsider"
VIEWER, OUTSIDER = "test-app.viewer", "test-app.outsider"
CLASSES = ["sites", "aggregates_only", "markers"]
PASSWORD = "test-app map password"  # test fixture only; the browser test types it
STATIONS = [  # hub_key, name, code, lon, lat (a code means a railway station)
    ("test-app:rail:BIF", "Barrow-in-Furness", "BIF", -3.2262, 54.1190),
    ("test-app:rail:ROO", "Roose", "ROO", -3.1945, 54.1152),
    ("test-app:bus:BARROW", "Barrow bus station", None, -3.2330, 54.1150),
]
CCTV = [  # source_ref, name, status, lon, lat
    ("c1", "Station forecourt", "working", -3.2255, 54.1186),
    ("c2", "Duke Street", "working", -3.2290, 54.1120),
    ("c3", "Hindpool Road", "faulty", -3.2340, 54.1170),
    ("c4", "Old camera", "removed", -3.2200, 54.1100),
]
ANPR = [  # source_ref, name, road_name, direction, lon, lat
    ("a1", "A590 Park Road", "Park Road", "NE", -3.2150, 54.1250),
    ("a2", "Abbey Road south", "Abbey Road", "S", -3.2180, 54.1140),
]
ROADS = [  # source_ref, name, ref, class, path
    ("r1", "Abbey Road", "A590", "primary",
     [(-3.2300, 54.1100), (-3.2200, 54.1195), (-3.2100, 54.1260)]),
    ("r2", "Test Street", None, "residential", [(-3.2280, 54.1150), (-3.2250, 54.1160)]),
]  # fmt: skip


ROOSE = (-3.1950, 54.1160)  # the 6 houses near Roose: always a small, suppressed square
BLOCK = (-3.2210, 54.1200)  # a block of 14 flats: published as 15 up to 250 m squares
TOWER = (-3.2150, 54.1230)  # a tower of 100 flats: the map's darkest square


@dataclass(frozen=True)
class MapFixture:
    """The committed fixture's users, as the app sees them once signed in, and their tokens."""

    viewer: Actor
    outsider: Actor
    viewer_token: str
    outsider_token: str


def address_points() -> list[tuple[int, float, float, str, int | None]]:
    """(uprn, lon, lat, property_type, parent_uprn): 12 houses near the town centre, 6 near
    Roose, a block of 14 flats and a tower of 100 sharing their block's point (a block's own
    record is not counted: its flats are the addresses)."""
    rows: list[tuple[int, float, float, str, int | None]] = []
    for i in range(12):
        rows.append(
            (UPRN_BASE + i, -3.2300 + 0.0004 * (i % 4), 54.1130 + 0.0003 * (i // 4), "house", None)
        )
    for i in range(6):
        rows.append((UPRN_BASE + 20 + i, ROOSE[0] + 0.0003 * i, ROOSE[1], "house", None))
    for block, point, flats in ((UPRN_BASE + 100, BLOCK, 14), (UPRN_BASE + 200, TOWER, 100)):
        rows.append((block, *point, "block", None))
        rows += [(block + k, *point, "flat", block) for k in range(1, flats + 1)]
    return rows  # fmt: skip


def _box_wkt(box: tuple[float, float, float, float]) -> str:
    w, s, e, n = box
    return f"MULTIPOLYGON((({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s})))"


def add_partner(
    conn: Connection,
    org_id: str,
    kind: str,
    classes: list[str],
    area_ids: list[str],
    users: dict[str, tuple[str, ...]],
    password: str = PASSWORD,
) -> dict[str, Actor]:
    """An organisation, an agreement active today (when it names classes) and its users, as
    the Actor each one signs in as."""
    conn.execute(
        text("INSERT INTO organisations (org_id, name, kind) VALUES (:o, :name, :kind)"),
        {"o": org_id, "name": f"Test {org_id}", "kind": kind},
    )
    if classes:
        today = date.today()
        agreement_id = conn.execute(
            text(
                "INSERT INTO sharing_agreements (org_id, title, data_classes, starts_on, ends_on,"
                " review_on) VALUES (:o, 'test agreement', :c, :s, :e, :e) RETURNING agreement_id"
            ),
            {"o": org_id, "c": classes, "s": today - timedelta(days=30),
             "e": today + timedelta(days=335)},
        ).scalar_one()  # fmt: skip
        conn.execute(
            text("INSERT INTO agreement_areas (agreement_id, area_id) VALUES (:a, :area)"),
            [{"a": agreement_id, "area": area_id} for area_id in area_ids],
        )
    return {
        username: Actor(add_user(conn, username, org_id, list(roles), password), org_id, roles,
                        username)
        for username, roles in users.items()
    }  # fmt: skip


def delete_partners(conn: Connection, org_ids: Iterable[str]) -> None:
    """Everything add_partner made for these organisations, tokens included."""
    orgs = {"orgs": list(org_ids)}
    users = "SELECT user_id FROM users WHERE org_id = ANY(:orgs)"
    conn.execute(text(f"DELETE FROM api_tokens WHERE user_id IN ({users})"), orgs)
    conn.execute(text("DELETE FROM users WHERE org_id = ANY(:orgs)"), orgs)
    conn.execute(text("DELETE FROM sharing_agreements WHERE org_id = ANY(:orgs)"), orgs)
    conn.execute(text("DELETE FROM organisations WHERE org_id = ANY(:orgs)"), orgs)


def insert_map_fixture(conn: Connection) -> tuple[Actor, Actor]:
    """The map rows and their two users; returns (viewer, outsider)."""
    conn.execute(
        text(
            "INSERT INTO areas (area_id, name, geom) VALUES (:id, :name, "
            "ST_Transform(ST_GeomFromText(:wkt, 4326), 27700))"
        ),
        [
            {"id": AREA_ID, "name": "Test Barrow", "wkt": _box_wkt(AREA_BOX)},
            {"id": ELSEWHERE_ID, "name": "Test Elsewhere", "wkt": _box_wkt(ELSEWHERE_BOX)},
        ],
    )
    conn.execute(
        text(
            "INSERT INTO addresses (uprn, parent_uprn, area_id, full_address, property_type, geom)"
            " VALUES (:uprn, :parent, :area, :text, :kind, ST_GeomFromEWKT(:geom))"
        ),
        [
            {
                "uprn": uprn,
                "parent": parent,
                "area": AREA_ID,
                "text": f"{uprn} Test Street, Barrow-in-Furness",
                "kind": kind,
                "geom": point_ewkt(*to_bng(lon, lat)),
            }
            for uprn, lon, lat, kind, parent in address_points()
        ],
    )
    conn.execute(
        text(
            "INSERT INTO transport_hubs (hub_key, kind, name, code, area_id, geom) VALUES "
            "(:key, :kind, :name, :code, :area, ST_GeomFromEWKT(:geom))"
        ),
        [
            {"key": k, "kind": "rail_station" if c else "bus_station", "name": n, "code": c,
             "area": AREA_ID, "geom": point_ewkt(*to_bng(x, y))}
            for k, n, c, x, y in STATIONS
        ],
    )  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO cctv_sites (source, source_ref, name, bearing_deg, fov_deg, range_m, "
            "status, area_id, geom) VALUES (:src, :ref, :name, 90, 60, 80, :status, :area, "
            "ST_GeomFromEWKT(:geom))"
        ),
        [
            {"src": SOURCE, "ref": r, "name": n, "status": s, "area": area,
             "geom": point_ewkt(*to_bng(x, y))}
            for area, (r, n, s, x, y) in [(AREA_ID, row) for row in CCTV]
            + [(ELSEWHERE_ID, ELSEWHERE_CCTV)]
        ],
    )  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO anpr_sites (source, source_ref, name, road_name, direction, area_id, "
            "geom) VALUES (:src, :ref, :name, :road, :dir, :area, ST_GeomFromEWKT(:geom))"
        ),
        [
            {"src": SOURCE, "ref": r, "name": n, "road": rn, "dir": d, "area": AREA_ID,
             "geom": point_ewkt(*to_bng(x, y))}
            for r, n, rn, d, x, y in ANPR
        ],
    )  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO roads (source_ref, name, ref, road_class, area_id, geom) VALUES "
            "(:ref, :name, :road_ref, :cls, :area, ST_GeomFromEWKT(:geom))"
        ),
        [
            {"ref": f"{SOURCE}:{r}", "name": n, "road_ref": rr, "cls": c, "area": AREA_ID,
             "geom": "SRID=27700;LINESTRING("
             + ", ".join("{:.2f} {:.2f}".format(*to_bng(x, y)) for x, y in path) + ")"}
            for r, n, rr, c, path in ROADS
        ],
    )  # fmt: skip
    viewer = add_partner(conn, ORG_ID, "council", CLASSES, [AREA_ID], {VIEWER: ("planner",)})
    outsider = add_partner(conn, OUTSIDER_ORG_ID, "council", [], [], {OUTSIDER: ("planner",)})
    return viewer[VIEWER], outsider[OUTSIDER]


def delete_map_fixture(conn: Connection) -> None:
    delete_partners(conn, [ORG_ID, OUTSIDER_ORG_ID])
    for table in ("cctv_sites", "anpr_sites"):
        conn.execute(text(f"DELETE FROM {table} WHERE source = :src"), {"src": SOURCE})
    conn.execute(text("DELETE FROM roads WHERE source_ref LIKE 'test-app:%'"))
    conn.execute(text("DELETE FROM transport_hubs WHERE hub_key LIKE 'test-app:%'"))
    conn.execute(text("DELETE FROM addresses WHERE area_id = :area"), {"area": AREA_ID})
    conn.execute(
        text("DELETE FROM areas WHERE area_id = ANY(:areas)"), {"areas": [AREA_ID, ELSEWHERE_ID]}
    )


@pytest.fixture(scope="module")
def committed_map_fixture(app_engine: Engine) -> Iterator[MapFixture]:
    """The fixture committed for readers on other connections, with a one-day API token for
    each user; all of it removed after the module."""
    with transaction(app_engine, Actor.system()) as conn:
        viewer, outsider = insert_map_fixture(conn)
        tokens = [issue_token(conn, u, days=1, label="test-app").token for u in (VIEWER, OUTSIDER)]
    try:
        yield MapFixture(viewer, outsider, *tokens)
    finally:
        with transaction(app_engine, Actor.system()) as conn:
            delete_map_fixture(conn)


Cell = tuple[int, int]


def grid_counts(points: Iterable[tuple[float, float]], cell_m: int) -> Counter[Cell]:
    """Points (BNG metres) counted per square of the grid, in plain Python."""
    counts: Counter[Cell] = Counter()
    for x, y in points:
        counts[(math.floor(x / cell_m), math.floor(y / cell_m))] += 1
    return counts


def fixture_bng_points() -> list[tuple[float, float]]:
    """Where the fixture's counted addresses are (not the block: its flats are the addresses),
    rounded as stored."""
    return [
        (round(x, 2), round(y, 2))
        for _, lon, lat, kind, _ in address_points()
        if kind != "block"
        for x, y in [to_bng(lon, lat)]
    ]


def raw_density(cell_m: int) -> Counter[Cell]:
    """The fixture's grid counts before disclosure control, computed independently."""
    return grid_counts(fixture_bng_points(), cell_m)


def expected_density(cell_m: int) -> dict[Cell, int]:
    """What may be published of the fixture's grid: the independent count through
    publish_grid (under 10 dropped, rounded to 5, secondary suppression)."""
    return published(raw_density(cell_m))


def published(counts: Counter[Cell]) -> dict[Cell, int]:
    return {cell: n for cell, n in publish_grid(counts).cells.items() if n is not None}


def square_of(lon: float, lat: float, cell_m: int) -> Cell:
    x, y = to_bng(lon, lat)
    return (math.floor(x / cell_m), math.floor(y / cell_m))


@pytest.fixture
def fixture_conn(app_conn: Connection) -> Connection:
    """The fixture inserted as the system actor, then the transaction acts as the viewer."""
    viewer, _ = insert_map_fixture(app_conn)
    set_actor(app_conn, viewer)
    return app_conn


def test_stations_come_back_in_wgs84_at_their_input_position(fixture_conn: Connection) -> None:
    found = {s.key: s for s in stations(fixture_conn, HERE)}
    assert found["test-app:bus:BARROW"].kind == "bus_station"
    assert found["test-app:rail:ROO"].kind == "rail_station"
    for key, name, code, lon, lat in STATIONS:
        assert found[key].name == name and found[key].code == code
        assert found[key].lon == pytest.approx(lon, abs=1e-5)
        assert found[key].lat == pytest.approx(lat, abs=1e-5)


def test_removed_cameras_are_hidden_unless_asked_for(fixture_conn: Connection) -> None:
    shown = {c.name: c.status for c in cctv_sites(fixture_conn, HERE)}
    assert shown == {"Station forecourt": "working", "Duke Street": "working",
                     "Hindpool Road": "faulty"}  # fmt: skip
    everything = cctv_sites(fixture_conn, HERE, include_removed=True)
    assert {c.name for c in everything} == {row[1] for row in CCTV}
    assert [a.road_name for a in anpr_sites(fixture_conn, HERE)] == ["Park Road", "Abbey Road"]


def test_cameras_follow_the_sharing_agreement(app_conn: Connection) -> None:
    viewer, outsider = insert_map_fixture(app_conn)
    fixture_names = {row[1] for row in CCTV} | {ELSEWHERE_CCTV[1]}

    def seen(actor: Actor) -> set[str | None]:
        set_actor(app_conn, actor)
        return {c.name for c in cctv_sites(app_conn, include_removed=True)} & fixture_names

    assert seen(Actor.system()) == fixture_names
    # The viewer's agreement covers the fixture's area, not the one next to it.
    assert seen(viewer) == fixture_names - {ELSEWHERE_CCTV[1]}
    # No agreement, no cameras; the context layers and the aggregate are for everyone.
    assert seen(outsider) == set()
    assert anpr_sites(app_conn) == []
    assert {s.code for s in stations(app_conn, HERE)} == {"BIF", "ROO", None}
    assert {(c.ix, c.iy): c.count for c in address_density(app_conn, 250, HERE)} == (
        expected_density(250)
    )


@pytest.mark.parametrize("cell_m", [50, 100, 250, 1000])
def test_density_is_the_published_python_count_of_the_grid(
    fixture_conn: Connection, cell_m: int
) -> None:
    cells = address_density(fixture_conn, cell_m, HERE)
    expected = expected_density(cell_m)
    assert {(c.ix, c.iy): c.count for c in cells} == expected
    # Something is published (the tower at least), and only counts of 10 or more, rounded.
    assert expected[square_of(*TOWER, cell_m)] >= 100
    assert all(c.count >= 10 and c.count % 5 == 0 for c in cells)
    for c in cells:
        # The polygon is the BNG square, closed, around the centre point.
        assert c.ring[0] == c.ring[-1] and len(c.ring) == 5
        sw = to_lon_lat(c.ix * cell_m, c.iy * cell_m)
        assert sw[0] == pytest.approx(c.ring[0][0], abs=1e-6)
        assert sw[1] == pytest.approx(c.ring[0][1], abs=1e-6)
        centre = to_lon_lat((c.ix + 0.5) * cell_m, (c.iy + 0.5) * cell_m)
        assert (c.lon, c.lat) == pytest.approx(centre, abs=1e-6)


def test_small_squares_are_suppressed_for_a_user_who_sees_no_address(
    fixture_conn: Connection,
) -> None:
    # The viewer (a planner) may read no address row; the layer is the aggregate only.
    assert fixture_conn.execute(text("SELECT count(*) FROM addresses")).scalar_one() == 0
    raw = raw_density(250)
    roose = {square_of(ROOSE[0] + 0.0003 * i, ROOSE[1], 250) for i in range(6)}
    assert sorted(raw[square] for square in roose) == [1, 5]
    cells = {(c.ix, c.iy): c.count for c in address_density(fixture_conn, 250, HERE)}
    assert cells == {square_of(*BLOCK, 250): 15, square_of(*TOWER, 250): 100}
    assert roose.isdisjoint(cells)
    # The largest square left out holds 9 of the town centre's houses: one short of ten.
    assert max(n for square, n in raw.items() if square not in cells) == 9


def test_secondary_suppression_hides_squares_of_ten_or_more(fixture_conn: Connection) -> None:
    # At 5 km the town centre (12) and the flats (114) each share a row or column with the
    # Roose square (6): publishing either would let it be recovered from a published total.
    raw = raw_density(5000)
    assert sorted(raw.values()) == [6, 12, 114]
    assert expected_density(5000) == {}
    assert address_density(fixture_conn, 5000, HERE) == []


def test_bbox_keeps_only_what_is_inside(fixture_conn: Connection) -> None:
    around_roose = BBox(-3.2000, 54.1100, -3.1900, 54.1200)
    assert [s.code for s in stations(fixture_conn, around_roose)] == ["ROO"]
    assert address_density(fixture_conn, 250, around_roose) == []  # 6 houses: suppressed
    assert cctv_sites(fixture_conn, around_roose) == []
    around_block = BBox(BLOCK[0] - 0.001, BLOCK[1] - 0.001, BLOCK[0] + 0.001, BLOCK[1] + 0.001)
    (cell,) = address_density(fixture_conn, 250, around_block)
    assert ((cell.ix, cell.iy), cell.count) == (square_of(*BLOCK, 250), 15)


def test_bbox_partly_outside_great_britain_is_clipped(fixture_conn: Connection) -> None:
    # The one bbox (hardening.bbox, as /ogc): reaching into the Atlantic clips, it is not refused.
    reaching_south = BBox(-3.2000, 10.0, -3.1900, 54.1200)
    assert [s.code for s in stations(fixture_conn, reaching_south)] == ["ROO"]
    (cell,) = address_density(fixture_conn, 250, BBox(BLOCK[0] - 0.001, 10.0, BLOCK[0] + 0.001,
                                                      BLOCK[1] + 0.001))  # fmt: skip
    assert cell.count == 15
    in_france = BBox(2.0, 48.0, 3.0, 49.0)
    assert stations(fixture_conn, in_france) == []
    assert address_density(fixture_conn, 250, in_france) == []
    assert roads(fixture_conn, in_france) == [] and areas(fixture_conn, in_france) == []


def test_roads_main_only_and_simplify(fixture_conn: Connection) -> None:
    every = {r.name: r for r in roads(fixture_conn, HERE)}
    assert set(every) == {"Abbey Road", "Test Street"}
    assert len(every["Abbey Road"].path) == 3
    assert every["Abbey Road"].path[0] == pytest.approx([-3.23, 54.11], abs=1e-5)
    main = roads(fixture_conn, HERE, main_only=True)
    assert [r.ref for r in main] == ["A590"]
    # The middle vertex is ~100 m off the straight line: 50 m keeps it, 200 m drops it.
    assert len(roads(fixture_conn, HERE, main_only=True, simplify_m=50)[0].path) == 3
    assert len(roads(fixture_conn, HERE, main_only=True, simplify_m=200)[0].path) == 2


def test_area_outline_round_trips(fixture_conn: Connection) -> None:
    (area,) = [a for a in areas(fixture_conn, HERE) if a.area_id == AREA_ID]
    ring = area.polygons[0][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert (min(lons), min(lats), max(lons), max(lats)) == pytest.approx(AREA_BOX, abs=1e-5)


def test_feature_collection_is_geojson(fixture_conn: Connection) -> None:
    fc = feature_collection(cctv_sites(fixture_conn, HERE))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 3
    feature = fc["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert set(feature["properties"]) >= {"site_id", "name", "status", "bearing_deg"}
    assert "lon" not in feature["properties"]
    cell = feature_collection(address_density(fixture_conn, 250, HERE))["features"][0]
    assert cell["geometry"]["type"] == "Polygon" and "ring" not in cell["properties"]


@pytest.mark.parametrize(
    ("text_value", "message"),
    [
        ("-3.3,54.1,-3.1", "four numbers"),
        ("-3.3,54.1,-3.1,north", "not a number"),
        ("nan,54.1,-3.1,54.2", "finite"),
        ("-3.3,54.1,inf,54.2", "finite"),
        ("54.1,-3.3,54.2,-3.1", "swapped"),
        ("-3.1,54.2,-3.3,54.1", "inverted"),
        ("-3.1,54.1,-3.1,54.2", "inverted"),
        ("-3.3,54.1,-3.1,95", "not longitude/latitude"),
    ],
)
def test_bad_bbox_is_refused(text_value: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        BBox.parse(text_value)


@pytest.mark.parametrize("cell_m", [0, 49, 5001, -250])
def test_cell_size_out_of_range_is_refused(app_conn: Connection, cell_m: int) -> None:
    with pytest.raises(UserInputError, match="cell"):
        address_density(app_conn, cell_m)


def test_too_many_features_is_a_user_error(
    app_conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit is on the squares sent, after disclosure control (the map's 50 m squares of a
    # large town count many more squares than they publish): 3 published squares of 50 m, 10
    # addresses each, against a limit of 2; 30 single addresses elsewhere are withheld.
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, full_address, property_type, geom) "
            "SELECT :base + i, 'x ' || i, 'house', ST_SetSRID(ST_MakePoint("
            "CASE WHEN i < 30 THEN 200000 + 500 * (i / 10) + i % 10 ELSE 210000 + 500 * i END, "
            "CASE WHEN i < 30 THEN 400000 + 500 * (i / 10) ELSE 410000 END), 27700) "
            "FROM generate_series(0, 59) AS i"
        ),
        {"base": UPRN_BASE + 100_000},
    )
    there = BBox(*to_lon_lat(195_000, 395_000), *to_lon_lat(245_000, 415_000))
    monkeypatch.setattr(layers, "MAX_FEATURES", 3)
    assert [c.count for c in address_density(app_conn, 50, there)] == [10, 10, 10]
    monkeypatch.setattr(layers, "MAX_FEATURES", 2)
    with pytest.raises(UserInputError, match="more than 2 squares"):
        address_density(app_conn, 50, there)
