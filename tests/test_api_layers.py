"""`/v1/layers/...` through the real app (TestClient) against the test database, as the map
fixture's users with their real bearer tokens; and every layer route refusing anyone without a
live one."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from test_app_layers import (
    ANPR,
    AREA_BOX,
    AREA_ID,
    BLOCK,
    CCTV,
    ELSEWHERE_CCTV,
    ORG_ID,
    PASSWORD,
    STATIONS,
    VIEWER,
    MapFixture,
    committed_map_fixture,
    expected_density,
    raw_density,
    square_of,
)

from hardening.api.app import create_app
from hardening.db.engine import Actor, transaction
from hardening.security.users import add_user, issue_token, revoke_tokens

__all__ = ["committed_map_fixture"]  # a fixture, imported to be used here
HERE = ",".join(map(str, AREA_BOX))
LAYERS = ("stations", "cctv", "anpr", "address-density", "roads", "areas")
FORMER = "test-app.former"  # a user of the fixture's organisation, deactivated


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def client(test_db_url: URL, committed_map_fixture: MapFixture) -> Iterator[TestClient]:
    """Every request as the fixture's viewer (a planner whose agreement covers the area)."""
    with TestClient(create_app(), headers=bearer(committed_map_fixture.viewer_token)) as c:
        yield c


@pytest.fixture(scope="module")
def anonymous(test_db_url: URL, committed_map_fixture: MapFixture) -> Iterator[TestClient]:
    """No credentials unless a test sends them."""
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def geojson(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "FeatureCollection"
    for feature in body["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        for lon, lat in _positions(feature["geometry"]):
            # WGS84 in GeoJSON order, inside Great Britain: never BNG metres, never swapped.
            assert -9 <= lon <= 2.5 and 49.5 <= lat <= 61.5, (lon, lat)
    return body


def _positions(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    def walk(coords: Any) -> list[tuple[float, float]]:
        if isinstance(coords[0], int | float):
            assert len(coords) == 2 and all(math.isfinite(c) for c in coords)
            return [(coords[0], coords[1])]
        return [p for part in coords for p in walk(part)]

    return walk(geometry["coordinates"])


def test_stations_layer(client: TestClient) -> None:
    body = geojson(client, "/v1/layers/stations", bbox=HERE)
    found = {f["properties"]["key"]: f for f in body["features"]}
    assert set(found) == {key for key, _, _, _, _ in STATIONS}
    for key, name, code, lon, lat in STATIONS:
        feature = found[key]
        assert feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-5)
        assert feature["properties"]["name"] == name and feature["properties"]["code"] == code


def test_cctv_layer_hides_removed_unless_asked(client: TestClient) -> None:
    shown = geojson(client, "/v1/layers/cctv", bbox=HERE)["features"]
    assert sorted(f["properties"]["status"] for f in shown) == ["faulty", "working", "working"]
    every = geojson(client, "/v1/layers/cctv", bbox=HERE, include_removed="true")["features"]
    positions = {f["properties"]["name"]: f["geometry"]["coordinates"] for f in every}
    for _, name, _, lon, lat in CCTV:
        assert positions[name] == pytest.approx([lon, lat], abs=1e-5)


def test_anpr_layer(client: TestClient) -> None:
    features = geojson(client, "/v1/layers/anpr", bbox=HERE)["features"]
    assert [f["properties"]["road_name"] for f in features] == [row[2] for row in ANPR]


def density(client: TestClient, **params: Any) -> dict[tuple[int, int], int]:
    features = geojson(client, "/v1/layers/address-density", bbox=HERE, **params)["features"]
    assert all(f["geometry"]["type"] == "Polygon" for f in features)
    return {
        (f["properties"]["ix"], f["properties"]["iy"]): f["properties"]["count"] for f in features
    }


@pytest.mark.parametrize("cell", [100, 1000])
def test_address_density_is_the_published_count(client: TestClient, cell: int) -> None:
    got = density(client, cell=cell)
    assert got == expected_density(cell)
    assert got  # the tower (100 flats) at least
    # Squares under 10 are never sent, whatever they hold.
    small = {square for square, n in raw_density(cell).items() if n < 10}
    assert small and small.isdisjoint(got)


def test_address_density_cell_size(client: TestClient) -> None:
    features = geojson(client, "/v1/layers/address-density", bbox=HERE)["features"]
    assert {f["properties"]["cell_m"] for f in features} == {250}
    features = geojson(client, "/v1/layers/address-density", bbox=HERE, cell=100)["features"]
    assert {f["properties"]["cell_m"] for f in features} == {100}


def test_roads_and_areas_layers(client: TestClient) -> None:
    roads = geojson(client, "/v1/layers/roads", bbox=HERE)["features"]
    assert {f["properties"]["name"] for f in roads} == {"Abbey Road", "Test Street"}
    main = geojson(client, "/v1/layers/roads", bbox=HERE, main_only="true", simplify=200)
    (a590,) = main["features"]
    assert a590["properties"]["ref"] == "A590" and len(a590["geometry"]["coordinates"]) == 2
    areas = geojson(client, "/v1/layers/areas", bbox=HERE)["features"]
    assert [f["properties"]["area_id"] for f in areas] == [AREA_ID]
    assert areas[0]["geometry"]["type"] == "MultiPolygon"


def test_what_a_user_sees_follows_their_agreement(
    client: TestClient, anonymous: TestClient, committed_map_fixture: MapFixture
) -> None:
    # The viewer's agreement covers the fixture's area, not the area next to it.
    names = {f["properties"]["name"] for f in geojson(client, "/v1/layers/cctv")["features"]}
    assert {name for _, name, status, _, _ in CCTV if status != "removed"} <= names
    assert ELSEWHERE_CCTV[1] not in names
    # An organisation with no agreement sees no camera, but the same context and aggregate.
    outsider = bearer(committed_map_fixture.outsider_token)
    for layer in ("cctv", "anpr"):
        response = anonymous.get(f"/v1/layers/{layer}", headers=outsider)
        assert response.status_code == 200 and response.json()["features"] == []
    for layer in ("stations", "address-density", "roads", "areas"):
        mine = client.get(f"/v1/layers/{layer}", params={"bbox": HERE})
        theirs = anonymous.get(f"/v1/layers/{layer}", params={"bbox": HERE}, headers=outsider)
        assert theirs.status_code == 200 and theirs.json() == mine.json(), layer
    assert density(client)[square_of(*BLOCK, 250)] == 15


# --- authentication ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def refused_credentials(
    app_engine: Engine, committed_map_fixture: MapFixture
) -> dict[str, str | None]:
    """Authorization header values that must not get in, by what is wrong with them (the
    fixture's teardown removes the tokens and users made here with its organisation)."""
    with transaction(app_engine, Actor.system()) as conn:
        revoked = issue_token(conn, VIEWER, days=1, label="revoked")
        revoke_tokens(conn, VIEWER, revoked.token_id)
        expired = issue_token(conn, VIEWER, days=1, label="expired")
        conn.execute(
            text(
                "UPDATE api_tokens SET created_at = now() - interval '2 days', "
                "expires_at = now() - interval '1 second' WHERE token_id = :t"
            ),
            {"t": expired.token_id},
        )
        add_user(conn, FORMER, ORG_ID, ["planner"], PASSWORD)
        former = issue_token(conn, FORMER, days=1)
        conn.execute(text("UPDATE users SET active = false WHERE username = :u"), {"u": FORMER})
    live = committed_map_fixture.viewer_token
    return {
        "missing": None,
        "garbage": "Bearer not-a-token",
        "well-formed but unknown": "Bearer hdn_" + "A" * 43,
        "empty": "Bearer ",
        "revoked": f"Bearer {revoked.token}",
        "expired": f"Bearer {expired.token}",
        "user deactivated": f"Bearer {former.token}",
        "live token, other scheme": f"Token {live}",
        "live token, basic": f"Basic {live}",
    }


def layer_paths(client: TestClient) -> list[str]:
    """The /v1 layer routes as the app publishes them (its OpenAPI document, which needs no
    token), so a new layer is covered the day it lands."""
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = sorted(p for p in spec.json()["paths"] if p.startswith("/v1/layers/"))
    assert set(paths) >= {f"/v1/layers/{layer}" for layer in LAYERS}
    return paths


def test_every_layer_route_refuses_a_missing_or_dead_token(
    anonymous: TestClient,
    committed_map_fixture: MapFixture,
    refused_credentials: dict[str, str | None],
) -> None:
    for path in layer_paths(anonymous):
        ok = anonymous.get(path, headers=bearer(committed_map_fixture.viewer_token))
        assert ok.status_code == 200, (path, ok.text)  # the route itself works
        for what, header in refused_credentials.items():
            headers = {} if header is None else {"Authorization": header}
            response = anonymous.get(path, headers=headers)
            assert response.status_code == 401, (path, what, response.text)
            assert response.headers["content-type"] == "application/json", (path, what)
            assert response.headers["www-authenticate"] == "Bearer", (path, what)
            assert response.json()["code"] == "unauthenticated", (path, what)
            assert response.json()["description"], (path, what)


@pytest.mark.parametrize(
    ("path", "params"),
    [("/v1/layers/stations", {"bbox": "a,b,c,d"}), ("/v1/layers/address-density", {"cell": "10"})],
)
def test_no_token_is_refused_before_parameters_are_checked(
    anonymous: TestClient, path: str, params: dict[str, str]
) -> None:
    # A stranger's bad parameters get 401, not a 400/422 that describes the route to them.
    response = anonymous.get(path, params=params)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_healthz_needs_no_token(anonymous: TestClient) -> None:
    response = anonymous.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("bbox", "reason"),
    [
        ("nan,54.08,-3.17,54.16", "finite"),
        ("-3.27,54.08,inf,54.16", "finite"),
        ("54.08,-3.27,54.16,-3.17", "swapped"),
        ("-3.17,54.16,-3.27,54.08", "inverted"),
        ("-3.27,54.08,-3.17", "four numbers"),
        ("a,b,c,d", "not a number"),
        ("", "four numbers"),
        ("-3.27,54.08,-3.17,95", "not longitude/latitude"),
    ],
)
def test_bad_bbox_is_a_400_with_the_reason(client: TestClient, bbox: str, reason: str) -> None:
    for layer in ("stations", "cctv", "anpr", "address-density", "roads", "areas"):
        response = client.get(f"/v1/layers/{layer}", params={"bbox": bbox})
        assert response.status_code == 400, (layer, response.text)
        assert response.json()["code"] == "invalid_input"
        assert reason in response.json()["description"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/layers/address-density", {"cell": "10"}),
        ("/v1/layers/address-density", {"cell": "5001"}),
        ("/v1/layers/address-density", {"cell": "nan"}),
        ("/v1/layers/address-density", {"cell": "1e309"}),
        ("/v1/layers/roads", {"simplify": "nan"}),
        ("/v1/layers/roads", {"simplify": "-inf"}),
        ("/v1/layers/roads", {"simplify": "-1"}),
        ("/v1/layers/areas", {"simplify": "infinity"}),
        ("/v1/layers/cctv", {"include_removed": "perhaps"}),
        ("/v1/layers/stations", {"bbox": "1," * 150}),
    ],
)
def test_bad_parameters_are_422_never_5xx(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["errors"] and body["errors"][0]["loc"][0] == "query"


bbox_parts = st.lists(
    st.one_of(
        st.floats(),
        st.floats(min_value=-10, max_value=62),
        st.integers(-(10**6), 10**6),
        st.text(max_size=4),
    ),
    max_size=6,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=bbox_parts)
def test_any_bbox_is_answered_without_a_5xx(client: TestClient, parts: list[object]) -> None:
    response = client.get("/v1/layers/stations", params={"bbox": ",".join(map(str, parts))})
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code != 200:
        assert response.json()["code"] in ("invalid_input", "invalid_request")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lons=st.tuples(st.floats(-3.27, -3.17), st.floats(-3.27, -3.17)).filter(lambda p: p[0] != p[1]),
    lats=st.tuples(st.floats(54.08, 54.16), st.floats(54.08, 54.16)).filter(lambda p: p[0] != p[1]),
)
def test_bbox_returns_exactly_the_stations_inside(
    client: TestClient, lons: tuple[float, float], lats: tuple[float, float]
) -> None:
    (w, e), (s, n) = sorted(lons), sorted(lats)
    features = geojson(client, "/v1/layers/stations", bbox=f"{w},{s},{e},{n}")["features"]
    # Stations are points: 1e-6 degrees (~0.1 m) of rounding either side is allowed.
    inside = {c for _, _, c, lon, lat in STATIONS if w < lon < e and s < lat < n}
    near_edge = {
        c
        for _, _, c, lon, lat in STATIONS
        if min(abs(lon - w), abs(lon - e), abs(lat - s), abs(lat - n)) < 1e-5
    }
    got = {f["properties"]["code"] for f in features}
    assert got - near_edge == inside - near_edge
