"""`/v1/tiles/...` through the real app (TestClient) as the world's users with real bearer
tokens: the tile, its headers (private caching, ETag, 304), empty tiles, bad addresses of
tiles, the markers reason, and TileJSON."""

from __future__ import annotations

from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL
from world import World

from hardening.api.app import create_app
from hardening.geo import to_lon_lat
from hardening.tiles.grid import tile_for

MVT = "application/vnd.mapbox-vector-tile"
HOME_A0 = to_lon_lat(421_000, 520_100)  # the world's homes_a[0], with a work order


@pytest.fixture(scope="module")
def client(test_db_url: URL, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def as_user(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def path(layer: str, z: int, lon_lat: tuple[float, float] = HOME_A0) -> str:
    tile = tile_for(*lon_lat, z)
    return f"/v1/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.pbf"


def uprns_in(data: bytes, layer: str) -> set[int]:
    return {f["properties"]["uprn"] for f in mapbox_vector_tile.decode(data)[layer]["features"]}


def test_a_tile_with_its_cache_headers_and_304(
    client: TestClient, tokens: dict[str, str], world: World
) -> None:
    url = path("addresses", 17)
    first = client.get(url, headers=as_user(tokens["housing_a"]))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == MVT
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["vary"] == "Authorization"
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    uprns = uprns_in(first.content, "addresses")
    assert world.homes_a[0] in uprns and not uprns & set(world.homes_b)
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(url, headers=as_user(tokens["housing_a"], **{"If-None-Match": sent}))
        assert again.status_code == 304 and again.content == b"", sent
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "no-store"
    changed = client.get(url, headers=as_user(tokens["housing_a"], **{"If-None-Match": '"x"'}))
    assert changed.status_code == 200 and changed.content == first.content
    # The validator is the tile's bytes: another provider has nothing here, whatever it sends.
    other = client.get(url, headers=as_user(tokens["housing_b"], **{"If-None-Match": etag}))
    assert other.status_code == 204


def test_works_tiles_through_the_api(
    client: TestClient, tokens: dict[str, str], world: World
) -> None:
    url = path("works", 15)
    mine = client.get(url, headers=as_user(tokens["housing_a"]))
    assert mine.status_code == 200
    uprns = uprns_in(mine.content, "works")
    assert world.homes_a[0] in uprns and not uprns & set(world.homes_b)
    assert client.get(url, headers=as_user(tokens["planner"])).status_code == 204


def test_empty_tiles_are_204(client: TestClient, tokens: dict[str, str]) -> None:
    for url in ("/v1/tiles/addresses/4/0/0.pbf", "/v1/tiles/cctv/3/7/7.pbf"):  # not Britain
        empty = client.get(url, headers=as_user(tokens["control_room"]))
        assert empty.status_code == 204 and empty.content == b""
        assert empty.headers["cache-control"] == "no-store"
        assert "etag" not in empty.headers


def test_marker_tiles_need_a_reason(client: TestClient, tokens: dict[str, str]) -> None:
    url = path("markers", 12)
    missing = client.get(url, headers=as_user(tokens["control_room"]))
    assert missing.status_code == 400 and "reason" in missing.json()["description"]
    short = client.get(url, params={"reason": "x"}, headers=as_user(tokens["control_room"]))
    assert short.status_code == 422
    why = {"reason": "incident 42"}
    shown = client.get(url, params=why, headers=as_user(tokens["control_room"]))
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert mapbox_vector_tile.decode(shown.content)["markers"]["features"]
    hidden = client.get(url, params=why, headers=as_user(tokens["housing_a"]))
    assert hidden.status_code == 204


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/v1/tiles/addresses/23/0/0.pbf", 404),
        ("/v1/tiles/addresses/2/4/0.pbf", 404),
        ("/v1/tiles/addresses/2/0/4.pbf", 404),
        ("/v1/tiles/addresses/2/-1/0.pbf", 404),
        ("/v1/tiles/parcels/2/0/0.pbf", 404),
        ("/v1/tiles/addresses/two/0/0.pbf", 422),
        ("/v1/tiles/addresses/2/0/0.5.pbf", 422),
        ("/v1/tiles/addresses/2/0/99999999999999999999999.pbf", 404),
        ("/v1/tiles/addresses/2/0/0.png", 404),
        ("/v1/tiles/parcels.json", 404),
    ],
)
def test_bad_tile_addresses_are_4xx(
    client: TestClient, tokens: dict[str, str], url: str, status: int
) -> None:
    response = client.get(url, headers=as_user(tokens["control_room"]))
    assert response.status_code == status, response.text
    if response.headers.get("content-type") == "application/json":
        assert set(response.json()) >= {"code", "description"}


def test_tiles_need_a_live_token(client: TestClient) -> None:
    for url in (path("addresses", 10), "/v1/tiles/addresses.json"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers=as_user("not-a-token")).status_code == 401


def test_tilejson(client: TestClient, tokens: dict[str, str]) -> None:
    doc = client.get("/v1/tiles/addresses.json", headers=as_user(tokens["planner"])).json()
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    assert doc["tiles"] == ["http://testserver/v1/tiles/addresses/{z}/{x}/{y}.pbf"]
    assert doc["vector_layers"][0]["id"] == "addresses"
    assert {"count", "uprn"} <= set(doc["vector_layers"][0]["fields"])
    markers = client.get(
        "/v1/tiles/markers.json", params={"reason": "shift map"},
        headers=as_user(tokens["control_room"]),
    ).json()  # fmt: skip
    assert markers["tiles"][0].endswith("/v1/tiles/markers/{z}/{x}/{y}.pbf?reason=shift%20map")
    schema = client.get("/openapi.json").json()
    assert "/v1/tiles/{layer}/{z}/{x}/{y}.pbf" in schema["paths"]
