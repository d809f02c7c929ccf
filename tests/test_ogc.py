"""OGC API - Features under /ogc against a real uvicorn server on the test database, read with
real clients: OWSLib's OGC API Features client and GDAL's OAPIF driver (what QGIS uses).

Every role sees its own collections and rows (row-level security), bad requests get 4xx JSON
errors, and SAFE marker reads are audited with their reason.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from owslib.ogcapi.features import Features
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from world import NORTH, POLICE, World
from world import build as build_world

from hardening import geo
from hardening.api.app import create_app
from hardening.bbox import BBox
from hardening.db.engine import Actor, ensure_database, make_engine, set_actor, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo
from hardening.features.collections import CCTV, CELL_M
from hardening.features.source import Page
from hardening.settings import Settings

UPRN0 = 5_100_000_000  # this module's dwellings, beside world.py's
SITES = 24  # this module's CCTV sites, all in SITE_BOX
X0, Y0 = 423_100, 523_100  # one 250 m cell of dense dwellings, inside world.NORTH
SX, SY = 423_500, 523_500  # the sites, 10 m apart eastwards


def _box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    lon0, lat0 = geo.to_lon_lat(x0, y0)
    lon1, lat1 = geo.to_lon_lat(x1, y1)
    return [round(lon0, 6), round(lat0, 6), round(lon1, 6), round(lat1, 6)]


SITE_BOX = _box(SX - 50, SY - 50, SX + SITES * 10 + 50, SY + 50)
WORLD_BOX = _box(419_000, 514_000, 426_000, 526_000)


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def ogc_db(test_db_url: URL) -> Iterator[tuple[URL, Engine, World]]:
    """A database of this module's own (the server reads committed rows, which must not leak
    into other tests' counts): migrated, with world.py's partnership, dropped afterwards."""
    url = test_db_url.set(database=f"{test_db_url.database}_ogc")
    _drop(url)
    ensure_database(Settings(), url)
    migrate(url)
    owner = make_engine(url, pool_size=2)
    with owner.begin() as conn:
        set_actor(conn, Actor.system())
        world = build_world(conn)
    yield url, owner, world
    owner.dispose()
    _drop(url)


@pytest.fixture(scope="module")
def world(ogc_db: tuple[URL, Engine, World]) -> World:
    return ogc_db[2]


@pytest.fixture(scope="module")
def owner_engine(ogc_db: tuple[URL, Engine, World]) -> Engine:
    return ogc_db[1]


@pytest.fixture(scope="module")
def ogc_data(owner_engine: Engine, world: World) -> dict[str, Any]:
    """30 dwellings in one cell (12 high risk) and 24 CCTV sites."""
    with transaction(owner_engine, Actor.system()) as conn:
        conn.execute(
            text(
                "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
                "SELECT :u + i, :a, (i + 1) || ' Ogc Row', 'house', ST_SetSRID(ST_MakePoint("
                ":x + (i % 6) * 20, :y + (i / 6) * 20), 27700) FROM generate_series(0, 29) i"
            ),
            {"u": UPRN0, "a": NORTH, "x": X0, "y": Y0},
        )
        conn.execute(
            text(
                "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
                "SELECT :u + i, (SELECT model_version FROM risk_models ORDER BY is_default DESC,"
                " created_at DESC LIMIT 1), CASE WHEN i < 12 THEN 70 ELSE 10 END, "
                "CASE WHEN i < 12 THEN 'high' ELSE 'low' END, :a FROM generate_series(0, 29) i"
            ),
            {"u": UPRN0, "a": NORTH},
        )
        conn.execute(
            text(
                "INSERT INTO cctv_sites (source, source_ref, owner_org_id, bearing_deg, fov_deg, "
                "range_m, area_id, geom) SELECT 'test-ogc', 'ogc-' || lpad(i::text, 2, '0'), "
                ":p, 0, 90, 40, :a, ST_SetSRID(ST_MakePoint(:x + i * 10, :y), 27700) "
                "FROM generate_series(0, :n - 1) i"
            ),
            {"p": POLICE, "a": NORTH, "x": SX, "y": SY, "n": SITES},
        )
    return {"cell": f"{X0 // CELL_M}-{Y0 // CELL_M}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ogc_url(ogc_db: tuple[URL, Engine, World], ogc_data: dict[str, Any]) -> Iterator[str]:
    """A real uvicorn server in a thread, on the module's database; its /ogc landing page."""
    port = _free_port()
    settings = Settings(database_url=ogc_db[0].render_as_string(hide_password=False))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/ogc"
    server.should_exit = True
    thread.join(timeout=15)


def client(url: str, token: str) -> Features:
    found = Features(url, headers={"Authorization": f"Bearer {token}"})
    # OWSLib keeps every client's headers in one module-level dict: give this one its own.
    found.headers = dict(found.headers)
    return found


def get(url: str, token: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # httpx drops a URL's own query string when given params, even empty ones.
    return httpx.get(url, params=params or None, headers=headers, timeout=30)


# --- the service description ----------------------------------------------------------------
def test_landing_conformance_and_api_definition(ogc_url: str, tokens: dict[str, str]) -> None:
    api = client(ogc_url, tokens["analyst"])
    rels = {link["rel"]: link for link in api.links}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    conforms = api.conformance()["conformsTo"]
    for part in ("core", "geojson", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{part}" in conforms
    definition = api.api()  # follows the service-desc link (OpenAPI 3.0 JSON)
    assert definition["openapi"].startswith("3.0")
    assert all(path.startswith("/ogc") for path in definition["paths"])
    items = definition["paths"]["/ogc/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}
    text_of = json.dumps(definition)  # no OpenAPI 3.1-only constructs are left
    assert '{"type": "null"}' not in text_of and '"const"' not in text_of
    assert '"type": [' not in text_of
    refs = {r.split("/")[-1] for r in re.findall(r'"#/components/schemas/[^"]+"', text_of)}
    assert {r.strip('"') for r in refs} <= set(definition["components"]["schemas"])
    # No data here, so no token needed; the data itself needs one.
    assert get(ogc_url + "/conformance").status_code == 200
    refused = get(ogc_url + "/collections")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"


EXPECTED = {
    "control_room": {"cctv-sites", "anpr-sites", "safe-markers", "visits"},
    "visit_team": {"cctv-sites", "anpr-sites", "safe-markers", "visits"},
    "analyst": {"cctv-sites", "anpr-sites", "work-orders", "safe-markers", "visits", "risk-cells"},
    "admin": {"cctv-sites", "anpr-sites", "work-orders", "safe-markers", "visits", "risk-cells"},
    "housing_a": {"work-orders"},
    "housing_b": {"work-orders"},
    "planner": {"cctv-sites", "anpr-sites", "risk-cells"},
    "health": set(),
    "lapsed": set(),
}


def test_collections_are_listed_per_role(ogc_url: str, tokens: dict[str, str]) -> None:
    for role, expected in EXPECTED.items():
        api = client(ogc_url, tokens[role])
        assert set(api.feature_collections()) == expected, role
        for collection in api.collections()["collections"]:
            links = {link["rel"]: link for link in collection["links"]}
            assert links["items"]["type"] == "application/geo+json"
            assert collection["extent"]["spatial"]["bbox"][0][0] < -1  # the world's areas
        hidden = {"safe-markers", "work-orders", "risk-cells"} - expected
        for collection_id in hidden:
            with pytest.raises(RuntimeError, match="not_found"):
                api.collection(collection_id)


# --- items: bbox and paging -------------------------------------------------------------------
def test_items_with_bbox_and_paging(ogc_url: str, tokens: dict[str, str]) -> None:
    api = client(ogc_url, tokens["planner"])
    seen: list[str] = []
    offset = 0
    while True:
        page = api.collection_items("cctv-sites", bbox=SITE_BOX, limit=10, offset=offset)
        assert page["type"] == "FeatureCollection"
        assert page["numberMatched"] == SITES
        assert page["numberReturned"] == len(page["features"]) <= 10
        seen += [f["properties"]["source_ref"] for f in page["features"]]
        rels = {link["rel"] for link in page["links"]}
        assert ("prev" in rels) == (offset > 0)
        if "next" not in rels:
            break
        offset += 10
    assert seen == [f"ogc-{i:02d}" for i in range(SITES)]
    assert offset == 20
    first = api.collection_items("cctv-sites", bbox=SITE_BOX, limit=1)["features"][0]
    lon, lat = first["geometry"]["coordinates"]
    assert geo.to_bng(lon, lat) == pytest.approx((SX, SY), abs=0.02)
    assert first["properties"]["fov_deg"] == 90
    one = api.collection_item("cctv-sites", first["id"])
    assert one["properties"] == first["properties"]
    # Outside Great Britain altogether: a valid request that selects nothing.
    empty = api.collection_items("cctv-sites", bbox=[10, 40, 11, 41])
    assert (empty["numberMatched"], empty["numberReturned"]) == (0, 0)


def test_next_link_is_followed_by_plain_http(ogc_url: str, tokens: dict[str, str]) -> None:
    page = get(
        ogc_url + "/collections/cctv-sites/items",
        tokens["admin"],
        bbox=",".join(map(str, SITE_BOX)),
        limit=20,
    )
    assert page.headers["content-type"] == "application/geo+json"
    follow = next(link["href"] for link in page.json()["links"] if link["rel"] == "next")
    rest = get(follow, tokens["admin"]).json()
    assert rest["numberReturned"] == SITES - 20
    assert not [link for link in rest["links"] if link["rel"] == "next"]


def test_housing_sees_only_its_own_work_orders(
    ogc_url: str, tokens: dict[str, str], owner_engine: Engine
) -> None:
    with owner_engine.connect() as conn:
        orders: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT provider_org_id, work_order_id FROM work_orders "
                    "WHERE provider_org_id IN ('t-housing-a', 't-housing-b')"
                )
            ).all()
        )
    api = client(ogc_url, tokens["housing_a"])
    with pytest.raises(RuntimeError, match="reason"):  # addresses beside escalations: audited
        api.collection_items("work-orders", limit=100)
    why = "works review"
    page = api.collection_items("work-orders", limit=100, reason=why)
    assert page["numberMatched"] == 1
    (order,) = page["features"]
    assert order["id"] == orders["t-housing-a"]
    assert order["properties"]["provider_org_id"] == "t-housing-a"
    assert "escalation_reason" not in order["properties"]
    assert order["geometry"]["type"] == "Point"
    api.headers["X-Reason"] = why  # as a header: OWSLib's item call takes no parameters
    with pytest.raises(RuntimeError, match="not_found"):
        api.collection_item("work-orders", str(orders["t-housing-b"]))
    analyst = client(ogc_url, tokens["analyst"])
    both = analyst.collection_items("work-orders", bbox=WORLD_BOX, limit=100, reason=why)
    providers = {f["properties"]["provider_org_id"] for f in both["features"]}
    assert providers == {"t-housing-a", "t-housing-b"}


def test_planner_sees_risk_cells_but_not_markers(
    ogc_url: str, tokens: dict[str, str], ogc_data: dict[str, Any]
) -> None:
    api = client(ogc_url, tokens["planner"])
    with pytest.raises(RuntimeError, match="not_found"):
        api.collection_items("safe-markers", reason="planning")
    cells = api.collection_items("risk-cells", bbox=WORLD_BOX, limit=1000)
    assert cells["numberMatched"] == len(cells["features"]) >= 1
    for cell in cells["features"]:
        props = cell["properties"]
        assert props["dwellings"] >= 10 and props["dwellings"] % 5 == 0
        assert props["high"] is None or (props["high"] >= 10 and props["high"] % 5 == 0)
        assert cell["geometry"]["type"] == "Polygon"
    dense = api.collection_item("risk-cells", ogc_data["cell"])
    assert (dense["properties"]["dwellings"], dense["properties"]["high"]) == (30, 10)
    assert "uprn" not in dense["properties"]
    # The world's homes are 2 to 5 a cell: all withheld, so none is listed or fetchable.
    assert ogc_data["cell"] in {c["id"] for c in cells["features"]}
    assert len(cells["features"]) == 1
    with pytest.raises(RuntimeError, match="not_found"):
        api.collection_item("risk-cells", f"{421_000 // CELL_M}-{520_200 // CELL_M}")


def test_control_room_reads_markers_with_a_reason_and_is_audited(
    ogc_url: str, tokens: dict[str, str], world: World, owner_engine: Engine
) -> None:
    def audit_rows() -> list[Any]:
        with owner_engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT justification, details FROM audit_log WHERE actor_user_id = :u "
                        "AND object_type = 'safe_marker' ORDER BY audit_id"
                    ),
                    {"u": world.actors["control_room"].user_id},
                ).all()
            )

    before = len(audit_rows())
    api = client(ogc_url, tokens["control_room"])
    page = api.collection_items("safe-markers", bbox=WORLD_BOX, reason="call for service 42")
    uprns = {f["properties"]["uprn"] for f in page["features"]}
    assert uprns == {world.homes_a[1], world.south_homes[0]}
    marker = page["features"][0]["properties"]
    assert marker["grading_advice"] == "Attend in pairs" and marker["state"] == "active"
    rows = audit_rows()
    assert len(rows) == before + 1
    assert rows[-1].justification == "call for service 42"
    assert sorted(rows[-1].details["ids"]) == sorted(f["id"] for f in page["features"])
    # The reason may come as a header (QGIS: an HTTP header auth configuration).
    header = {"Authorization": f"Bearer {tokens['control_room']}", "X-Reason": "map review"}
    by_header = httpx.get(f"{ogc_url}/collections/safe-markers/items", headers=header, timeout=30)
    assert by_header.status_code == 200
    assert audit_rows()[-1].justification == "map review"
    # No reason: refused, and nothing read or logged.
    refused = get(f"{ogc_url}/collections/safe-markers/items", tokens["control_room"])
    assert refused.status_code == 400 and "reason" in refused.json()["description"]
    assert len(audit_rows()) == before + 2


# --- bad requests --------------------------------------------------------------------------
BBOX = ",".join(map(str, SITE_BOX))


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"bbox": "a,b,c,d"}, 400, "not a number"),
        ({"bbox": "-3.2,54.1,-3.1"}, 400, "four numbers"),
        ({"bbox": "54.09,-3.26,54.15,-3.18"}, 400, "swapped"),
        ({"bbox": "-3.1,54.2,-3.2,54.1"}, 400, "inverted"),
        ({"bbox": "nan,54.1,-3.1,54.2"}, 400, "finite"),
        ({"bbox": "-3.2,54.1,-3.1,95"}, 400, "latitude"),
        ({"bbox": BBOX, "bbox-crs": "EPSG:27700"}, 400, "bbox-crs"),
        ({"limit": "0"}, 400, "limit"),
        ({"limit": "-1"}, 400, "limit"),
        ({"limit": str(2**40)}, 400, "limit"),
        ({"limit": "ten"}, 422, "limit"),
        ({"offset": "-1"}, 400, "offset"),
        ({"datetime": "2024-01-01"}, 400, "unknown query parameter"),
        ({"f": "html"}, 400, "format"),
    ],
)
def test_bad_item_requests_are_4xx(
    ogc_url: str, tokens: dict[str, str], params: dict[str, str], status: int, words: str
) -> None:
    response = get(f"{ogc_url}/collections/cctv-sites/items", tokens["admin"], **params)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "description"}
    assert words in body["description"]


def test_a_limit_above_the_maximum_is_clamped_not_refused(
    ogc_url: str, tokens: dict[str, str]
) -> None:
    page = get(
        f"{ogc_url}/collections/cctv-sites/items", tokens["admin"], limit=50_000, bbox=BBOX
    ).json()
    assert page["numberReturned"] == SITES  # as the standard requires: no error


def test_unknown_collections_and_features_are_404(
    ogc_url: str, tokens: dict[str, str], world: World
) -> None:
    for path in (
        "/collections/nope",
        "/collections/nope/items",
        "/collections/cctv-sites/items/999999999",
        "/collections/cctv-sites/items/not-a-number",
        "/collections/risk-cells/items/1-2-3",
        "/collections/work-orders/items/1",  # the control room may not read work orders
    ):
        response = get(ogc_url + path, tokens["control_room"])
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "not_found"


# --- GDAL's client, as QGIS would read the layer ---------------------------------------------
GDAL_READ = """
import json, sys
import pyogrio
from pyogrio.raw import read
url, token, box = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
layers = sorted(str(name) for name, _ in pyogrio.list_layers("OAPIF:" + url))
meta, _, wkb, fields = read("OAPIF:" + url, layer="cctv-sites", bbox=tuple(box))
refs = [str(v) for v in fields[list(meta["fields"]).index("source_ref")]]
print(json.dumps({"layers": layers, "refs": refs, "geoms": sum(g is not None for g in wkb)}))
"""


def test_gdal_oapif_driver_reads_a_layer(ogc_url: str, tokens: dict[str, str]) -> None:
    # GDAL holds the GIL while it fetches, so it runs in its own process, apart from the
    # server thread it talks to.
    done = subprocess.run(
        [sys.executable, "-c", GDAL_READ, ogc_url, tokens["planner"], json.dumps(SITE_BOX)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert set(found["layers"]) == EXPECTED["planner"]
    assert sorted(found["refs"]) == [f"ogc-{i:02d}" for i in range(SITES)]
    assert found["geoms"] == SITES


# --- numberMatched past the cap (the service, rolled back) ----------------------------------
def test_number_matched_is_exact_up_to_the_cap_then_left_out(app_conn: Connection) -> None:
    x0, y0 = 424_500, 520_500
    for i in range(12):
        app_conn.execute(
            text(
                "INSERT INTO cctv_sites (source, source_ref, bearing_deg, fov_deg, range_m, geom)"
                " VALUES ('test-cap', :r, 0, 90, 40, ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
            ),
            {"r": f"cap-{i:02d}", "x": x0 + i * 5, "y": y0},
        )
    keys = (
        app_conn.execute(
            text("SELECT site_id FROM cctv_sites WHERE source = 'test-cap' ORDER BY site_id")
        )
        .scalars()
        .all()
    )
    lon0, lat0 = geo.to_lon_lat(x0 - 10, y0 - 10)
    lon1, lat1 = geo.to_lon_lat(x0 + 100, y0 + 10)
    box = BBox(lon0, lat0, lon1, lat1)

    def ids(page: Page) -> list[int]:
        return [json.loads(f)["id"] for f in page.features]

    exact = CCTV.page(app_conn, box, limit=5, offset=5, count_cap=12)
    assert (ids(exact), exact.number_matched) == (keys[5:10], 12)
    capped = CCTV.page(app_conn, box, limit=5, offset=5, count_cap=11)
    assert (ids(capped), capped.number_matched) == (keys[5:10], None)
    past_the_end = CCTV.page(app_conn, box, limit=5, offset=20, count_cap=100)
    assert (ids(past_the_end), past_the_end.number_matched) == ([], 12)
    everything = CCTV.page(app_conn, None, limit=5, offset=0, count_cap=3)
    assert len(everything.features) == 5 and everything.number_matched is None
