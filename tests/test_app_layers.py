"""hardening.layers against PostGIS, and the small map fixture the API, Streamlit and browser
tests share (a corner of Barrow-in-Furness: two stations, cameras, roads, a few addresses).

The API, AppTest and the browser read through their own connections, so they need the fixture
committed (`committed_map_fixture`); the tests here insert it inside the rolled-back `app_conn`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from hardening.db.engine import Actor, transaction
from hardening.errors import UserInputError
from hardening.geo import point_ewkt, to_bng, to_lon_lat
from hardening.layers import (
    MAX_FEATURES,
    BBox,
    address_density,
    anpr_sites,
    areas,
    cctv_sites,
    feature_collection,
    roads,
    stations,
)

AREA_ID = "test-app-barrow"
AREA_BOX = (-3.27, 54.08, -3.17, 54.16)  # minlon, minlat, maxlon, maxlat
# Other tests (and the sample) may commit rows elsewhere on the grid: look only here.
HERE = BBox(*AREA_BOX)
UPRN_BASE = 990_000_000_000
SOURCE = "test-app"
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


def address_points() -> list[tuple[int, float, float, str, int | None]]:
    """(uprn, lon, lat, property_type, parent_uprn): 12 houses near the town centre, 6 near
    Roose, and a block whose 3 flats share its point (the block itself is not counted)."""
    rows: list[tuple[int, float, float, str, int | None]] = []
    for i in range(12):
        rows.append(
            (UPRN_BASE + i, -3.2300 + 0.0004 * (i % 4), 54.1130 + 0.0003 * (i // 4), "house", None)
        )
    for i in range(6):
        rows.append((UPRN_BASE + 20 + i, -3.1950 + 0.0003 * i, 54.1160, "house", None))
    block = UPRN_BASE + 30
    rows.append((block, -3.2210, 54.1200, "block", None))
    rows += [(block + k, -3.2210, 54.1200, "flat", block) for k in (1, 2, 3)]
    return rows  # fmt: skip


def insert_map_fixture(conn: Connection) -> None:
    ring = [
        (AREA_BOX[0], AREA_BOX[1]),
        (AREA_BOX[2], AREA_BOX[1]),
        (AREA_BOX[2], AREA_BOX[3]),
        (AREA_BOX[0], AREA_BOX[3]),
        (AREA_BOX[0], AREA_BOX[1]),
    ]
    wkt = "MULTIPOLYGON(((" + ", ".join(f"{x} {y}" for x, y in ring) + ")))"
    conn.execute(
        text(
            "INSERT INTO areas (area_id, name, geom) VALUES (:id, :name, "
            "ST_Transform(ST_GeomFromText(:wkt, 4326), 27700))"
        ),
        {"id": AREA_ID, "name": "Test Barrow", "wkt": wkt},
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
            {"src": SOURCE, "ref": r, "name": n, "status": s, "area": AREA_ID,
             "geom": point_ewkt(*to_bng(x, y))}
            for r, n, s, x, y in CCTV
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


def delete_map_fixture(conn: Connection) -> None:
    for table in ("cctv_sites", "anpr_sites"):
        conn.execute(text(f"DELETE FROM {table} WHERE source = :src"), {"src": SOURCE})
    conn.execute(text("DELETE FROM roads WHERE source_ref LIKE 'test-app:%'"))
    conn.execute(text("DELETE FROM transport_hubs WHERE hub_key LIKE 'test-app:%'"))
    conn.execute(text("DELETE FROM addresses WHERE area_id = :area"), {"area": AREA_ID})
    conn.execute(text("DELETE FROM areas WHERE area_id = :area"), {"area": AREA_ID})


@pytest.fixture(scope="module")
def committed_map_fixture(app_engine: Engine) -> Iterator[None]:
    """The fixture committed for readers on other connections; removed after the module."""
    with transaction(app_engine, Actor.system()) as conn:
        insert_map_fixture(conn)
    try:
        yield
    finally:
        with transaction(app_engine, Actor.system()) as conn:
            delete_map_fixture(conn)


def expected_density(cell_m: int) -> Counter[tuple[int, int]]:
    """The grid counts computed independently in Python from the fixture's BNG points."""
    counts: Counter[tuple[int, int]] = Counter()
    for _, lon, lat, kind, _ in address_points():
        if kind == "block":
            continue
        x, y = (round(v, 2) for v in to_bng(lon, lat))
        counts[(math.floor(x / cell_m), math.floor(y / cell_m))] += 1
    return counts


@pytest.fixture
def fixture_conn(app_conn: Connection) -> Connection:
    insert_map_fixture(app_conn)
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


@pytest.mark.parametrize("cell_m", [50, 250, 1000])
def test_density_matches_a_python_count_of_the_grid(fixture_conn: Connection, cell_m: int) -> None:
    cells = address_density(fixture_conn, cell_m, HERE)
    assert Counter({(c.ix, c.iy): c.count for c in cells}) == expected_density(cell_m)
    assert sum(c.count for c in cells) == 21  # 12 + 6 houses + 3 flats, not the block
    for c in cells:
        # The polygon is the BNG square, closed, around the centre point.
        assert c.ring[0] == c.ring[-1] and len(c.ring) == 5
        sw = to_lon_lat(c.ix * cell_m, c.iy * cell_m)
        assert sw[0] == pytest.approx(c.ring[0][0], abs=1e-6)
        assert sw[1] == pytest.approx(c.ring[0][1], abs=1e-6)
        centre = to_lon_lat((c.ix + 0.5) * cell_m, (c.iy + 0.5) * cell_m)
        assert (c.lon, c.lat) == pytest.approx(centre, abs=1e-6)


def test_bbox_keeps_only_what_is_inside(fixture_conn: Connection) -> None:
    around_roose = BBox(-3.2000, 54.1100, -3.1900, 54.1200)
    assert [s.code for s in stations(fixture_conn, around_roose)] == ["ROO"]
    assert sum(c.count for c in address_density(fixture_conn, 250, around_roose)) == 6
    assert cctv_sites(fixture_conn, around_roose) == []


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
        ("-3.3,10,-3.1,54.2", "outside Great Britain"),
    ],
)
def test_bad_bbox_is_refused(text_value: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        BBox.parse(text_value)


@pytest.mark.parametrize("cell_m", [0, 49, 5001, -250])
def test_cell_size_out_of_range_is_refused(app_conn: Connection, cell_m: int) -> None:
    with pytest.raises(UserInputError, match="cell"):
        address_density(app_conn, cell_m)


def test_too_many_features_is_a_user_error(app_conn: Connection) -> None:
    # One address in each of MAX_FEATURES + 1 cells of 50 m (rows of 500 cells).
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, full_address, property_type, geom) "
            "SELECT :base + i, 'x ' || i, 'house', ST_SetSRID(ST_MakePoint("
            "200000 + 50 * (i % 500), 400000 + 50 * (i / 500)), 27700) "
            "FROM generate_series(0, :n) AS i"
        ),
        {"base": UPRN_BASE + 100, "n": MAX_FEATURES},
    )
    with pytest.raises(UserInputError, match="more than"):
        address_density(app_conn, 50)
    assert len(address_density(app_conn, 5000)) > 0
