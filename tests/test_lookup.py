"""The control-room look-up: by UPRN, text and point; block markers found from a flat; the
reason and the one audit row; near-repeat incidents; bad points refused; the indexes used
under row-level security; and the same over HTTP (`/v1/lookup`, `/v1/markers`, `/v1/match`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from test_control_room_town import BLOCK_XY, Town, block_lon_lat, build_town
from world import World

from hardening.addresses.api import router as match_router
from hardening.api.app import create_app
from hardening.api.deps import TokenDep, db_connection
from hardening.db.engine import Actor, authenticate, set_actor
from hardening.errors import NotFoundError, PermissionDeniedError, UserInputError
from hardening.markers import service
from hardening.markers.api import router as markers_router
from hardening.markers.lookup import LOOKUP_SQL, lookup

REASON = "999 call: concern for welfare"


@pytest.fixture
def town(app_conn: Connection, world: World) -> Town:
    """The control-room town with a block marker on 12 Ramsden Street (Testbury) and an
    address marker on 21; Otherton's Ramsden Street has none."""
    built = build_town(app_conn, world)
    set_actor(app_conn, world.actors["visit_team"])
    service.create_marker(
        app_conn,
        uprn=built["flat2"],
        scope="block",
        reason_category="threat_to_life",
        grading_advice="Threat to life notice served: immediate deployment.",
    )
    service.create_marker(
        app_conn,
        uprn=built["rs21"],
        scope="address",
        reason_category="cuckooing",
        grading_advice="Attend in pairs; speak to the occupant alone.",
    )
    set_actor(app_conn, world.actors["control_room"])
    return built


def _consultations(conn: Connection, actor: Actor) -> int:
    set_actor(conn, Actor.system())
    count = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE action = 'consultation'")
    ).scalar_one()
    set_actor(conn, actor)
    return int(count)


def test_a_flat_shows_its_block_marker_and_the_advice(
    app_conn: Connection, town: Town, world: World
) -> None:
    answer = lookup(app_conn, reason=REASON, uprn=town["flat1"], history=True)
    assert answer["address"]["uprn"] == town["flat1"]
    assert answer["address"]["block_address"] == "12 Ramsden Street, Testbury, TB1 1AA"
    assert answer["status"] == "block_marker"
    by_relation = {m["relation"]: m for m in answer["markers"]}
    assert by_relation["block"]["uprn"] == town["block"]
    assert by_relation["block"]["reason_category"] == "threat_to_life"
    # 21 Ramsden Street is 36 m away: a neighbour's marker within the default 50 m.
    assert by_relation["nearby"]["uprn"] == town["rs21"]
    assert 30 < by_relation["nearby"]["metres"] < 40
    assert answer["grading_advice"][0].startswith("Threat to life")
    assert answer["reviews"] == {}


def test_the_block_shows_markers_on_its_flats(
    app_conn: Connection, town: Town, world: World
) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    service.create_marker(
        app_conn,
        uprn=town["flat3"],
        scope="address",
        reason_category="vulnerable_occupant",
        grading_advice="Vulnerable occupant: plain language.",
    )
    set_actor(app_conn, world.actors["control_room"])
    answer = lookup(app_conn, reason=REASON, uprn=town["block"])
    relations = {(m["relation"], m["uprn"]) for m in answer["markers"]}
    assert ("address", town["block"]) in relations  # the block marker is on the block itself
    assert ("flat_in_block", town["flat3"]) in relations
    assert answer["status"] == "marker" and answer["address"]["flats"] == 3


def test_by_text_the_whole_answer_in_one_call(app_conn: Connection, town: Town) -> None:
    answer = lookup(app_conn, reason=REASON, q="flat 2, 12 ramsden st, testbury")
    assert answer["match"]["status"] == "matched"
    assert answer["match"]["candidates"][0]["has_marker"] is True
    assert answer["address"]["uprn"] == town["flat2"]
    assert answer["status"] == "block_marker"
    assert answer["incidents"]["count"] == 1  # near and recent; not the old nor the far one
    assert answer["incidents"]["by_category"] == {"drug_dealing": 1}


def test_an_ambiguous_text_flags_candidates_with_markers(app_conn: Connection, town: Town) -> None:
    answer = lookup(app_conn, reason=REASON, q="12 ramsden street")
    assert answer["match"]["status"] == "ambiguous"
    flags = {c["uprn"]: c["has_marker"] for c in answer["match"]["candidates"]}
    assert flags[town["block"]] is True and flags[town["other12"]] is False


def test_by_point_with_a_radius(app_conn: Connection, town: Town) -> None:
    lon, lat = block_lon_lat()
    answer = lookup(app_conn, reason=REASON, lon=lon, lat=lat, radius_m=100)
    assert answer["address"]["uprn"] in {town["block"], town["flat1"], town["flat2"], town["flat3"]}
    assert {m["uprn"] for m in answer["markers"]} >= {town["block"], town["rs21"]}
    bng = lookup(app_conn, reason=REASON, x=BLOCK_XY[0] + 30, y=BLOCK_XY[1] + 20, radius_m=5)
    assert bng["address"]["uprn"] == town["rs21"] and bng["status"] == "marker"
    empty = lookup(app_conn, reason=REASON, x=BLOCK_XY[0] + 3000, y=BLOCK_XY[1], radius_m=10)
    assert empty["address"] is None and empty["status"] == "none"


def test_the_prepared_generic_plan_answers_as_a_planned_run(
    app_conn: Connection, town: Town
) -> None:
    """From a connection's fifth look-up the statement runs on its prepared generic plan
    (run_lookup_sql): by UPRN, by point and for nothing found, the answers stay the same."""
    asks: list[dict[str, Any]] = [
        {"uprn": town["flat1"]},
        {"uprn": town["block"]},
        {"x": BLOCK_XY[0] + 30, "y": BLOCK_XY[1] + 20, "radius_m": 5},
        {"x": BLOCK_XY[0] + 3000, "y": BLOCK_XY[1], "radius_m": 10},
    ]
    first = [lookup(app_conn, reason=REASON, **ask) for ask in asks]
    for _ in range(3):
        again = [lookup(app_conn, reason=REASON, **ask) for ask in asks]
        assert [a["markers"] for a in again] == [a["markers"] for a in first]
        assert [a["address"] for a in again] == [a["address"] for a in first]
        assert [a["status"] for a in again] == [a["status"] for a in first]
    assert [first[0]["status"], first[-1]["status"]] == ["block_marker", "none"]
    generic = app_conn.execute(
        text(
            "SELECT coalesce(max(generic_plans), 0) FROM pg_prepared_statements "
            "WHERE statement LIKE '%marker_state(u.status%'"
        )
    ).scalar_one()
    assert generic > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lon": 54.2, "lat": -3.2}, "swapped"),
        ({"lon": math.nan, "lat": 54.2}, "finite"),
        ({"lon": -3.2, "lat": math.inf}, "finite"),
        ({"lon": -3.2}, "both"),
        ({"x": 1_200_000.0, "y": 400_000.0}, "swapped"),
        ({"uprn": 1, "q": "12 ramsden street"}, "exactly one"),
        ({}, "exactly one"),
        ({"uprn": 6_200_000_001, "radius_m": 0.0}, "radius"),
        ({"uprn": 6_200_000_001, "radius_m": math.nan}, "radius"),
    ],
)
def test_bad_points_and_targets_are_refused(
    app_conn: Connection, town: Town, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        lookup(app_conn, reason=REASON, **kwargs)


def test_no_reason_no_lookup_and_one_audit_row_per_lookup(
    app_conn: Connection, town: Town, world: World
) -> None:
    actor = world.actors["control_room"]
    before = _consultations(app_conn, actor)
    for reason in (None, "", "  ", "ok"):
        with pytest.raises(UserInputError, match="reason"):
            lookup(app_conn, reason=reason, uprn=town["flat1"])
    assert _consultations(app_conn, actor) == before
    lookup(app_conn, reason=REASON, uprn=town["flat1"])
    lookup(app_conn, reason=REASON, q="21 ramsden st testbury")
    assert _consultations(app_conn, actor) == before + 2
    set_actor(app_conn, Actor.system())
    last = app_conn.execute(
        text(
            "SELECT actor_user_id, justification, object_id, details FROM audit_log "
            "ORDER BY audit_id DESC LIMIT 1"
        )
    ).one()
    assert last.actor_user_id == actor.user_id and last.justification == REASON
    assert last.object_id == str(town["rs21"]) and last.details["status"] == "marker"


def test_partners_and_strangers_get_nothing(app_conn: Connection, town: Town, world: World) -> None:
    for role in ("housing_a", "planner", "health", "lapsed"):
        set_actor(app_conn, world.actors[role])
        with pytest.raises(PermissionDeniedError):
            lookup(app_conn, reason=REASON, uprn=town["flat1"])
    set_actor(app_conn, world.actors["control_room"])
    with pytest.raises(NotFoundError):
        lookup(app_conn, reason=REASON, uprn=987_654_321)


def test_revoked_and_expired_markers_are_not_in_force(
    app_conn: Connection, town: Town, world: World
) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    marker = service.list_markers(app_conn, reason="test", uprn=town["rs21"])[0]
    service.revoke_marker(app_conn, marker.marker_id, version=marker.version, reason="Moved")
    set_actor(app_conn, world.actors["control_room"])
    answer = lookup(app_conn, reason=REASON, uprn=town["rs21"])
    assert answer["status"] == "nearby_marker"  # only the block's marker, 36 m away, is left
    assert [m["state"] for m in answer["inactive_markers"]] == ["revoked"]
    # Overdue for review is still in force: the control room must still see it.
    overdue = lookup(
        app_conn, reason=REASON, uprn=town["flat1"], on=date.today() + timedelta(days=4000)
    )
    assert overdue["status"] == "block_marker"
    assert overdue["markers"][0]["state"] == "review_due"


def _plan(conn: Connection, params: dict[str, Any]) -> str:
    return "\n".join(conn.execute(text("EXPLAIN " + LOOKUP_SQL.text), params).scalars())


def test_radius_searches_can_use_the_gist_indexes_under_rls(
    app_conn: Connection, town: Town, world: World
) -> None:
    """Under RLS only leakproof operators and KNN ordering can drive an index. With the other
    ways switched off, the plan must still find an index path for every radius search (were
    one impossible, as for ST_DWithin under RLS, a disabled sequential scan would remain).
    At realistic sizes the planner picks these paths by itself: bench_lookup.py reports it."""
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        app_conn.execute(text(f"SELECT set_config('{setting}', 'off', true)"))
    plan = _plan(
        app_conn,
        {
            "uprn": town["flat1"],
            "x": None,
            "y": None,
            "radius": 50.0,
            "nearby": 50.0,
            "scan": 64,
            "on": date.today(),
            "since": "2026-01-01",
            "until": "2030-01-01",
            "limit": 100,
            "near_m": 400.0,
        },
    )
    assert "safe_markers_active_gist" in plan, plan
    assert "incidents_geom_time_gist" in plan, plan
    assert "addresses_pkey" in plan and "safe_markers_uprn" in plan, plan
    for table in ("safe_markers", "incidents"):
        assert f"Seq Scan on {table}" not in plan, plan


# -- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def client(app_conn: Connection, town: Town) -> Iterator[TestClient]:
    """The app with the control-room routers, its requests run inside the test's rolled-back
    transaction (a savepoint each) as the token's user."""
    app = create_app()
    app.include_router(markers_router, prefix="/v1")
    app.include_router(match_router, prefix="/v1")

    def in_test_transaction(request: Request, token: TokenDep) -> Iterator[Connection]:
        request.state.actor = authenticate(app_conn, token)
        savepoint = app_conn.begin_nested()
        try:
            yield app_conn
        except Exception:
            savepoint.rollback()
            raise
        savepoint.commit()

    app.dependency_overrides[db_connection] = in_test_transaction
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_http_lookup_answers_and_refuses_bad_points(
    client: TestClient, tokens: dict[str, str], town: Town
) -> None:
    headers = _auth(tokens, "control_room")
    ok = client.get(
        "/v1/lookup", params={"q": "flat 1 12 ramsden st testbury", "reason": REASON},
        headers=headers,
    )  # fmt: skip
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["status"] == "block_marker" and body["address"]["uprn"] == town["flat1"]
    assert body["match"]["candidates"][0]["has_marker"] is True
    swapped = client.get(
        "/v1/lookup", params={"lon": 54.2, "lat": -3.2, "reason": REASON}, headers=headers
    )
    assert swapped.status_code == 400 and "swapped" in swapped.json()["description"]
    for bad in ({"lon": "nan", "lat": 54.2}, {"lon": -3.2, "lat": "inf"}):
        response = client.get("/v1/lookup", params={**bad, "reason": REASON}, headers=headers)
        assert response.status_code == 422, response.text
    missing = client.get("/v1/lookup", params={"uprn": town["flat1"]}, headers=headers)
    assert missing.status_code == 400 and "reason" in missing.text  # no reason, no purpose
    lon, lat = block_lon_lat()
    point = client.get(
        "/v1/lookup", params={"lon": lon, "lat": lat, "radius": 60, "reason": REASON},
        headers=headers,
    )  # fmt: skip
    assert point.status_code == 200 and point.json()["status"] in {"marker", "block_marker"}
    housing = client.get(
        "/v1/lookup", params={"uprn": town["flat1"], "reason": REASON},
        headers=_auth(tokens, "housing_a"),
    )  # fmt: skip
    assert housing.status_code == 403
    assert client.get("/v1/lookup", params={"uprn": 1, "reason": REASON}).status_code == 401


def test_http_marker_lifecycle_with_versions(
    client: TestClient, tokens: dict[str, str], town: Town
) -> None:
    team = _auth(tokens, "visit_team")
    created = client.post(
        "/v1/markers",
        json={"uprn": town["cedar_ave"], "reason_category": "drug_supply",
              "grading_advice": "Expect lookouts."},
        headers=team,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    marker = created.json()
    path = f"/v1/markers/{marker['marker_id']}"
    refused = client.post(
        "/v1/markers",
        json={"uprn": town["cedar_rd"], "reason_category": "other", "grading_advice": "x y z"},
        headers=_auth(tokens, "control_room"),
    )
    assert refused.status_code == 403
    review = {"version": 1, "reason": "Still a risk"}
    assert client.post(f"{path}/review", json=review, headers=team).status_code == 200
    stale = client.post(f"{path}/review", json=review, headers=team)
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    detail = client.get(path, params={"reason": REASON}, headers=_auth(tokens, "control_room"))
    assert detail.status_code == 200
    assert [r["decision"] for r in detail.json()["reviews"]] == ["retain"]
    revoked = client.post(
        f"{path}/revoke", json={"version": 2, "reason": "Occupant moved"}, headers=team
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    listed = client.get(
        "/v1/markers", params={"reason": REASON, "uprn": town["cedar_ave"]}, headers=team
    )
    assert [m["state"] for m in listed.json()] == ["revoked"]
    bad = client.post("/v1/markers", json={"uprn": town["cedar_ave"]}, headers=team)
    assert bad.status_code == 422


def test_http_match(client: TestClient, tokens: dict[str, str], town: Town) -> None:
    response = client.get(
        "/v1/match", params={"q": "12a ramsden st tb1 1ab"}, headers=_auth(tokens, "control_room")
    )
    assert response.status_code == 200
    assert response.json()["uprn"] == town["rs12a"] and response.json()["status"] == "matched"
    housing = client.get(
        "/v1/match", params={"q": "12a ramsden st tb1 1ab"}, headers=_auth(tokens, "housing_a")
    )
    assert housing.status_code == 200 and housing.json()["candidates"] == []
