"""Every API route, called as every role with other organisations' ids, leaks nothing.

Routes are enumerated from the app itself, so a new route is covered the day it is added: path
and query parameters are filled with ids the caller must not see (other providers' homes, other
areas' addresses), and the response must be a 4xx or must not mention any of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from world import World

from hardening.api.app import create_app

# Field names that carry intelligence-derived detail: never in a housing user's response.
INTELLIGENCE_FIELDS = {
    "contributions",
    "factors",
    "intelligence",
    "intelligence_count",
    "intelligence_grading",
    "grading",
    "incidents",
    "subject_ref",
    "signs",
    "reason_category",
    "grading_advice",
    "crime_type",
    "county_line_id",
}


@pytest.fixture(scope="module")
def client(test_db_url: object) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def forbidden_uprns(world: World) -> dict[str, set[int]]:
    everyone = set(world.homes_a + world.homes_b + world.south_homes)
    return {
        "housing_a": everyone - set(world.homes_a),
        "housing_b": everyone - set(world.homes_b),
        "planner": everyone,
        "health": everyone,
        "lapsed": everyone,
        "control_room": set(),
        "visit_team": set(),
        "analyst": set(),
        "admin": set(),
    }


def _value_for(name: str, foreign: int) -> str:
    """A value for a parameter, chosen to point at something the caller may not see."""
    lowered = name.lower()
    if "uprn" in lowered or lowered.endswith("_id") or lowered == "id":
        return str(foreign)
    return {
        "q": f"{foreign - 5_000_000_000 + 1} Test Street",
        "reason": "route audit test",
        "lon": "-2.9",
        "lat": "54.9",
        "radius": "200",
        "bbox": "-3.3,54.0,-3.1,54.2",
        "provider": "t-housing-b",
        "area": "test-south",
    }.get(lowered, "1")


def _operations(client: TestClient) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(method, path template, parameters) of every /v1 operation, from the OpenAPI schema:
    the app's own list of what it serves."""
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path, op.get("parameters", []))
        for path, item in paths.items()
        if path.startswith("/v1")
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _requests(client: TestClient, foreign: int) -> Iterator[tuple[str, str, dict[str, str]]]:
    for method, template, parameters in _operations(client):
        path = template
        query: dict[str, str] = {}
        for param in parameters:
            if param["in"] == "path":
                path = path.replace("{" + param["name"] + "}", _value_for(param["name"], foreign))
            elif param["in"] == "query" and param.get("required"):
                query[param["name"]] = _value_for(param["name"], foreign)
        yield method, path, query


def _keys(document: object) -> set[str]:
    if isinstance(document, dict):
        return set(document) | {k for v in document.values() for k in _keys(v)}
    if isinstance(document, list):
        return {k for v in document for k in _keys(v)}
    return set()


def test_no_route_leaks_other_organisations_objects(
    client: TestClient, tokens: dict[str, str], world: World
) -> None:
    operations = _operations(client)
    assert len(operations) >= 6, "too few /v1 operations: the enumeration itself is broken"
    checked = 0
    for role, forbidden in forbidden_uprns(world).items():
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        for foreign in sorted(forbidden)[:2] or [world.homes_a[0]]:
            for method, path, query in _requests(client, foreign):
                body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
                response = client.request(method, path, params=query, headers=headers, json=body)
                assert response.status_code < 500, (role, method, path, response.text)
                checked += 1
                if response.status_code >= 400:
                    continue
                text = response.text
                leaked = [u for u in forbidden if str(u) in text]
                assert leaked == [], (role, method, path, leaked)
                if role.startswith("housing"):
                    fields = _keys(json.loads(text)) & INTELLIGENCE_FIELDS
                    assert fields == set(), (role, method, path, fields)
    assert checked >= len(operations) * len(tokens)


def test_every_v1_route_requires_a_token(client: TestClient, world: World) -> None:
    requests = list(_requests(client, world.homes_a[0]))
    assert len(requests) >= 6
    for method, path, query in requests:
        response = client.request(method, path, params=query)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["code"]


def test_every_authenticated_response_is_no_store(
    client: TestClient, tokens: dict[str, str], world: World
) -> None:
    """Personal data must not be kept by a browser or proxy: every /v1 and /ogc response
    (answers, files, tiles and errors alike) says `Cache-Control: no-store`."""
    headers = {"Authorization": f"Bearer {tokens['analyst']}"}
    seen: set[int] = set()
    for method, path, query in _requests(client, world.homes_a[0]):
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        response = client.request(method, path, params=query, headers=headers, json=body)
        assert response.headers.get("cache-control") == "no-store", (method, path)
        seen.add(response.status_code // 100)
    assert seen >= {2, 4}  # successes and refusals both checked
    for path in (
        "/ogc/collections",
        "/ogc/collections/work-orders/items?limit=5",
        "/v1/exports/cctv-sites?format=csv",
        "/v1/tiles/addresses/15/16300/10500.pbf",
        "/v1/coverage?area=test-north",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code < 500 and response.headers["cache-control"] == "no-store", path
    anonymous = client.get("/v1/coverage", params={"area": "test-north"})
    assert anonymous.status_code == 401 and anonymous.headers["cache-control"] == "no-store"
    health = client.get("/healthz")
    assert "no-store" not in health.headers.get("cache-control", "")
