"""Hypothesis over every number and point input of the API: NaN, infinity, 1e400 (JSON has no
infinity; Python's parser reads it as one), numbers past their bounds or any column's range,
`true` or `"1"` for a number, swapped lon/lat, bad bboxes, 5 MB bodies and 50,000-vertex
polygons. Each is a 4xx with the JSON error body, never a 5xx, and the database is row for row
what it was (the API runs on a database of its own, see fuzzkit.py).

Operations and their parameters are read from the OpenAPI document, so a route added later is
covered the day it lands; a new request body needs a valid example in `bodies` (a test says
so). Boundary files (`hardening area add`) are in test_area_cli_fuzz.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fuzzkit import (
    TODAY,
    Fuzz,
    assert_refused,
    bearer,
    dedicated_database,
    examples,
    fuzz_settings,
    gb_box,
    operations,
    polygon_ring,
    request_for,
    schema_types,
    snapshot,
    world_app,
)
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import URL
from world import World

from hardening.geo import GB_LAT, GB_LON

EXAMPLES = examples(25)
FUZZ = fuzz_settings(EXAMPLES)
# Per parameter or field, on top of the fixed values each one always gets.
EACH = fuzz_settings(max(2, EXAMPLES // 8))
# JSON number texts with no finite double: Python's json reads them as nan/inf.
NON_FINITE_JSON = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e999"]
# Not numbers, though lax pydantic would read the first two as 1.
NOT_NUMBERS_JSON = ["true", '"1"', "[1]"]
NON_FINITE_QUERY = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"]


@pytest.fixture(scope="module")
def fuzz(test_db_url: URL) -> Iterator[Fuzz]:
    with dedicated_database(test_db_url, "fuzz") as url:
        app, owner, world = world_app(url)
        headers = {name: bearer(owner, name) for name in ("admin", "housing_a")}
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Fuzz(client, owner, world, headers, app.openapi())
        owner.dispose()


NUMBER_TYPES = {"number", "integer"}


def number_parameters(spec: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, name, schema) of every number/integer query or path parameter."""
    return [
        (method, path, param["name"], param["schema"])
        for method, path, op in operations(spec)
        for param in op.get("parameters", [])
        if param["in"] in ("query", "path") and schema_types(param.get("schema", {})) & NUMBER_TYPES
    ]


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    options = [schema, *schema.get("anyOf", [])]
    lows = [o.get("minimum", o.get("exclusiveMinimum")) for o in options]
    highs = [o.get("maximum", o.get("exclusiveMaximum")) for o in options]
    low = next((v for v in lows if isinstance(v, int | float)), None)
    high = next((v for v in highs if isinstance(v, int | float)), None)
    return low, high


@st.composite
def bad_number_text(draw: st.DrawFn, schema: dict[str, Any]) -> str:
    """Text no number parameter may accept: non-finite, overflowing, or past its bounds."""
    low, high = _bounds(schema)
    choices = [st.sampled_from(NON_FINITE_QUERY), st.integers(2**63, 10**40).map(str)]
    if "integer" in schema_types(schema):
        if low is not None:
            choices.append(st.integers(-(10**20), math.ceil(low) - 1).map(str))
        if high is not None:
            choices.append(st.integers(math.floor(high) + 1, 10**20 + int(high)).map(str))
    else:
        if low is not None:
            below = st.floats(-1e300, float(low), exclude_max=True)
            choices.append(below.map(lambda v: f"{v:.17g}"))
        if high is not None:
            above = st.floats(float(high), 1e300, exclude_min=True)
            choices.append(above.map(lambda v: f"{v:.17g}"))
    return str(draw(st.one_of(*choices)))


def test_every_number_parameter_refuses_non_finite_and_out_of_range(fuzz: Fuzz) -> None:
    cases = number_parameters(fuzz.spec)
    names = {name for _, _, name, _ in cases}
    # The document is the list: if these vanish, the enumeration itself broke.
    assert {"lon", "lat", "radius", "simplify", "cell", "limit", "uprn"} <= names, names
    ops = {(m, p): op for m, p, op in operations(fuzz.spec)}

    def send(method: str, template: str, name: str, value: str) -> None:
        path, query = request_for(fuzz, template, ops[(method, template)], {name: value})
        before = snapshot(fuzz.owner)
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        response = fuzz.client.request(
            method, path, params=query, json=body, headers=fuzz.as_for(template)
        )
        assert_refused(fuzz, before, response, (method, path, name, value))

    for method, template, name, schema in cases:
        for token in NON_FINITE_QUERY:
            send(method, template, name, token)

        @EACH
        @given(value=bad_number_text(schema))
        def check(value: str) -> None:
            send(method, template, name, value)  # noqa: B023 (run before the loop moves on)

        check()


# --- JSON bodies -------------------------------------------------------------------------------
def bodies(world: World) -> dict[str, dict[str, Any]]:
    """A valid body for every operation that takes one (every number field present)."""
    admin, team = world.actors["admin"].user_id, world.actors["visit_team"].user_id
    return {
        "POST /v1/plans/cctv": {
            "area": "test-north",
            "new_sites": 2,
            "budget": 5000.0,
            "spacing_m": 60.0,
            "range_m": 60.0,
            "fov_deg": 360.0,
            "backup_weight": 0.5,
            "time_limit_s": 1.0,
        },
        "POST /v1/plans/budget": {
            "area": "test-north",
            "budget": 5000.0,
            "owner_budgets": [{"name": "t-police", "pounds": 1000.0}],
            "costs": [{"name": "new_camera", "pounds": 9000.0}],
            "spacing_m": 60.0,
            "time_limit_s": 1.0,
            "uncertainty": False,
        },
        "POST /v1/plans/anpr": {
            "area": "test-north",
            "new_sites": 2,
            "destinations": 3,
            "time_limit_s": 1.0,
        },
        "POST /v1/works/orders": {"uprn": world.homes_a[3], "measure_code": "door_chain"},
        "PATCH /v1/works/orders/{order_id}": {
            "version": 1,
            "status": "approved",
            "cost_pence": 1500,
        },
        "POST /v1/markers": {
            "uprn": world.homes_a[4],
            "reason_category": "cuckooing",
            "grading_advice": "Attend in pairs",
            "visit_id": 1,
        },
        "POST /v1/markers/{marker_id}/review": {"version": 1, "reason": "still at risk"},
        "POST /v1/markers/{marker_id}/revoke": {"version": 1, "reason": "moved away"},
        "POST /v1/visits": {
            "uprn": world.homes_a[5],
            "visited_on": TODAY.isoformat(),
            "team_user_ids": [team, admin],
            "subject_ref": "SUBJ-0042",
            "subject_type": "other",
            "intelligence_count": 1,
            "kit": {"naloxone": 2},
            "protection_plan": {
                "visit_cadence_days": 14,
                "review_due": (TODAY + timedelta(days=60)).isoformat(),
            },
        },
        "PATCH /v1/referrals/{referral_id}": {"status": "accepted", "version": 1},
    }


def body_operations(spec: dict[str, Any]) -> list[str]:
    return [f"{m} {p}" for m, p, op in operations(spec) if "requestBody" in op]


def test_every_body_operation_has_an_example(fuzz: Fuzz) -> None:
    """So that the body tests below cover each one: add a valid example to BODIES."""
    known = bodies(fuzz.world)
    assert set(body_operations(fuzz.spec)) <= set(known), set(body_operations(fuzz.spec)) - set(
        known
    )


Path = tuple[str | int, ...]


def leaves(value: Any, kind: type | tuple[type, ...], at: Path = ()) -> Iterator[Path]:
    """Paths to every value of `kind` (never a bool) inside a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, kind, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, kind, (*at, index))
    elif isinstance(value, kind) and not isinstance(value, bool):
        yield at


def number_leaves(value: Any) -> Iterator[Path]:
    return leaves(value, (int, float))


def with_raw_number(body: Any, at: Path, number: str) -> bytes:
    """The body as JSON text with the number at `at` written as `number` verbatim."""
    marker = "__raw_number__"
    copy = json.loads(json.dumps(body))
    target = copy
    for key in at[:-1]:
        target = target[key]
    target[at[-1]] = marker
    return json.dumps(copy).replace(f'"{marker}"', number).encode()


def test_every_number_in_a_body_refuses_non_finite_and_non_numbers(fuzz: Fuzz) -> None:
    examples = bodies(fuzz.world)
    ops = {f"{m} {p}": (m, p, op) for m, p, op in operations(fuzz.spec)}
    cases = [(key, at) for key in body_operations(fuzz.spec) for at in number_leaves(examples[key])]
    assert len(cases) >= 20, cases

    def send(key: str, at: tuple[str | int, ...], number: str) -> None:
        method, template, op = ops[key]
        path, query = request_for(fuzz, template, op, {})
        before = snapshot(fuzz.owner)
        response = fuzz.client.request(
            method,
            path,
            params=query,
            content=with_raw_number(examples[key], at, number),
            headers={**fuzz.as_for(template), "content-type": "application/json"},
        )
        assert_refused(fuzz, before, response, (key, at, number))
        assert response.status_code == 422, (key, at, number, response.text)
        # Refused at that very field (or its list or map), not somewhere else first.
        where = ("body", *at)
        locations = [tuple(e["loc"]) for e in response.json()["errors"]]
        assert any(
            loc[: len(where)] == where or (len(loc) >= 2 and where[: len(loc)] == loc)
            for loc in locations
        ), (key, at, locations)

    for key, at in cases:
        for token in NON_FINITE_JSON + NOT_NUMBERS_JSON:
            send(key, at, token)

        @EACH
        @given(exponent=st.integers(309, 100_000), sign=st.sampled_from(["", "-"]))
        def check(exponent: int, sign: str) -> None:
            send(key, at, f"{sign}9.9e{exponent}")  # noqa: B023 (run before the loop moves on)

        check()


def test_nul_in_any_text_is_refused(fuzz: Fuzz) -> None:
    """PostgreSQL text cannot hold NUL: `/v1/match?q=%00`, `/v1/plans?area=%00` and a reason
    with NUL (written to the audit log) were 500s."""
    examples = bodies(fuzz.world)
    requests: list[tuple[str, str, dict[str, Any], dict[str, str], Any]] = []
    for method, template, op in operations(fuzz.spec):
        key = f"{method} {template}"
        for at in leaves(examples.get(key), str):
            body = json.loads(json.dumps(examples[key]))
            target = body
            for step in at[:-1]:
                target = target[step]
            target[at[-1]] += "\x00"
            requests.append((method, template, op, {}, body))
        for param in op.get("parameters", []):
            if param["in"] == "query" and "string" in schema_types(param.get("schema", {})):
                requests.append((method, template, op, {param["name"]: "why\x00"}, None))
    assert len(requests) >= 40, len(requests)
    for method, template, op, overrides, body in requests:
        path, query = request_for(fuzz, template, op, overrides)
        before = snapshot(fuzz.owner)
        response = fuzz.client.request(
            method, path, params=query, json=body, headers=fuzz.as_for(template)
        )
        assert_refused(fuzz, before, response, (method, path, query, body))


def test_every_request_of_5_mb_is_413_before_any_work(fuzz: Fuzz) -> None:
    big = json.dumps({"outcome": "x" * 5_000_000}).encode()
    before = snapshot(fuzz.owner)
    for method, template, op in operations(fuzz.spec):
        path, query = request_for(fuzz, template, op, {})
        response = fuzz.client.request(
            method,
            path,
            params=query,
            content=big,
            headers={**fuzz.as_for(template), "content-type": "application/json"},
        )
        assert response.status_code == 413, (method, path, response.status_code)
        assert response.json()["code"] == "content_too_large", (method, path)
    assert snapshot(fuzz.owner) == before


def test_a_50000_vertex_polygon_in_any_body_is_refused(fuzz: Fuzz) -> None:
    """No operation takes a polygon today; one sent anyway (as a body, or inside a valid body
    as an unknown field) is refused for its size or as an unknown field, never a 5xx."""
    polygon = {"type": "Polygon", "coordinates": [polygon_ring(50_000)]}
    examples = bodies(fuzz.world)
    ops = {f"{m} {p}": (m, p, op) for m, p, op in operations(fuzz.spec)}
    before = snapshot(fuzz.owner)
    for key in body_operations(fuzz.spec):
        method, template, op = ops[key]
        path, query = request_for(fuzz, template, op, {})
        for body in (polygon, {**examples[key], "boundary": polygon}):
            response = fuzz.client.request(
                method, path, params=query, json=body, headers=fuzz.as_for(template)
            )
            assert response.status_code == 413, (key, response.status_code)
    assert snapshot(fuzz.owner) == before


# --- bbox and points ---------------------------------------------------------------------------
def _text(numbers: tuple[float, ...] | list[float]) -> str:
    return ",".join(f"{n:.17g}" for n in numbers)


@st.composite
def bad_bbox(draw: st.DrawFn) -> str:
    """A bbox no endpoint may serve: non-finite or overflowing part, lat/lon swapped,
    inverted, the wrong count, not numbers, or off the globe."""
    x0, y0, x1, y1 = draw(gb_box())
    kind = draw(
        st.sampled_from(["non-finite", "swapped", "inverted", "count", "text", "off-globe"])
    )
    if kind == "non-finite":
        parts = [_text([v]) for v in (x0, y0, x1, y1)]
        parts[draw(st.integers(0, 3))] = draw(st.sampled_from(NON_FINITE_QUERY))
        return ",".join(parts)
    if kind == "swapped":
        return _text([y0, x0, y1, x1])
    if kind == "inverted":
        return draw(st.sampled_from([_text([x1, y0, x0, y1]), _text([x0, y1, x1, y0])]))
    if kind == "count":  # 6 is legal in OGC (with heights); 1, 2, 3, 5 nowhere
        return _text([x0, y0, x1, y1, x1][: draw(st.sampled_from([1, 2, 3, 5]))])
    if kind == "text":
        return draw(st.sampled_from(["a,b,c,d", "", " ", f"{x0};{y0};{x1};{y1}", "0x1,2,3,4"]))
    return _text([x0 + 400, y0, x1 + 400, y1])


def test_every_bbox_refuses_bad_boxes(fuzz: Fuzz) -> None:
    cases = [
        (m, p, op)
        for m, p, op in operations(fuzz.spec)
        if any(q["name"] == "bbox" for q in op.get("parameters", []))
    ]
    assert len(cases) >= 6, [p for _, p, _ in cases]  # the six map layers at least

    @FUZZ
    @given(case=st.sampled_from(cases), bbox=bad_bbox())
    def check(case: tuple[str, str, dict[str, Any]], bbox: str) -> None:
        method, template, op = case
        path, query = request_for(fuzz, template, op, {"bbox": bbox})
        before = snapshot(fuzz.owner)
        response = fuzz.client.request(method, path, params=query, headers=fuzz.as_for(template))
        assert_refused(fuzz, before, response, (path, bbox))

    check()


# Point parameter pairs (x first) that the API takes, in lon/lat or BNG.
POINT_PAIRS = [("lon", "lat"), ("base_lon", "base_lat"), ("x", "y")]


def point_cases(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], tuple[str, str]]]:
    found = []
    for method, path, op in operations(spec):
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        found += [(method, path, op, pair) for pair in POINT_PAIRS if set(pair) <= names]
    return found


def test_swapped_points_are_refused_not_placed_in_the_sea(fuzz: Fuzz) -> None:
    cases = point_cases(fuzz.spec)
    assert {pair for *_, pair in cases} == set(POINT_PAIRS), cases

    @FUZZ
    @given(
        case=st.sampled_from(cases),
        lon=st.floats(GB_LON[0], GB_LON[1]),
        lat=st.floats(GB_LAT[0], GB_LAT[1]),
        east=st.floats(100_000, 650_000),
        # Northings past the largest easting: a swapped pair inside both ranges is another
        # real place, which no check can tell from a mistake.
        north=st.floats(700_001, 1_200_000),
    )
    def check(
        case: tuple[str, str, dict[str, Any], tuple[str, str]],
        lon: float,
        lat: float,
        east: float,
        north: float,
    ) -> None:
        method, template, op, (xname, yname) = case
        # Given the other way round: (lat, lon), or (northing, easting).
        x, y = (north, east) if xname == "x" else (lat, lon)
        path, query = request_for(fuzz, template, op, {xname: repr(x), yname: repr(y)})
        before = snapshot(fuzz.owner)
        response = fuzz.client.request(method, path, params=query, headers=fuzz.as_for(template))
        assert_refused(fuzz, before, response, (path, query))
        assert response.status_code == 400, (path, query, response.text)
        assert "swapped" in response.json()["description"], response.text

    check()
