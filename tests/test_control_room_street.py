"""The control room's look-up when what the caller said resolves no single address: a street
without a number lists that street's addresses with their SAFE markers flagged (each town's
street of that name apart), a name or a number that fits several addresses gives candidates,
and either way the answer is `not_checked`, never the all-clear `none`. And the risk band the
look-up shows once `hardening risk score` has run."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from test_control_room_town import Town, block_lon_lat
from test_lookup import client, town
from world import NORTH, World

from hardening.addresses import vocabulary
from hardening.db.engine import Actor, set_actor
from hardening.errors import PermissionDeniedError
from hardening.markers.lookup import banner, lookup
from hardening.markers.models import LookupOut
from hardening.markers.street import street_listing, streets_said
from hardening.risk import scoring

__all__ = ["client", "town"]  # fixtures: the API in the test's transaction; the marked town
REASON = "999 call: concern for welfare"


def _streets(answer: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    street = answer["street"]
    assert isinstance(street, dict), answer
    return {(s["street"], s["town"]): s for s in street["streets"]}


# -- a street without a number -----------------------------------------------------------------
def test_a_street_alone_lists_each_towns_street_with_markers_flagged(
    app_conn: Connection, town: Town
) -> None:
    answer = lookup(app_conn, reason=REASON, q="Ramsden Street")
    assert answer["status"] == "not_checked"
    assert answer["address"] is None and answer["markers"] == []
    assert answer["query"]["uprn"] is None
    streets = _streets(answer)
    assert set(streets) == {("Ramsden Street", "Testbury"), ("Ramsden Street", "Otherton")}
    testbury = streets[("Ramsden Street", "Testbury")]
    # block, its three flats, 12A, 21 and 40; the block's marker covers the block and flats.
    assert testbury["addresses"] == 7 and testbury["marked"] == 5
    flags = {a["uprn"]: a["has_marker"] for a in testbury["listed"]}
    assert flags[town["flat1"]] and flags[town["block"]] and flags[town["rs21"]]
    assert not flags[town["rs12a"]] and not flags[town["far40"]]
    reasons = {a["uprn"]: a["reason_category"] for a in testbury["listed"]}
    assert reasons[town["flat3"]] == "threat_to_life" and reasons[town["rs21"]] == "cuckooing"
    assert [a["has_marker"] for a in testbury["listed"]][:5] == [True] * 5  # marked first
    (block,) = testbury["blocks"]
    assert block["uprn"] == town["block"] and block["flats"] == 3
    assert block["block_markers"] == 1 and block["marked_flats"] == 0
    otherton = streets[("Ramsden Street", "Otherton")]
    assert otherton["addresses"] == 1 and otherton["marked"] == 0 and otherton["blocks"] == []
    assert answer["street"]["marked"] == 5 and answer["street"]["addresses"] == 8


def test_a_street_with_its_town_and_a_typo(app_conn: Connection, town: Town) -> None:
    answer = lookup(app_conn, reason=REASON, q="ramsdne st, otherton")
    assert answer["status"] == "not_checked"
    assert set(_streets(answer)) == {("Ramsden Street", "Otherton")}


def test_only_streets_whose_every_word_was_said(app_conn: Connection, town: Town) -> None:
    vocab = vocabulary.current(app_conn)
    assert {(s.name, s.town) for s in streets_said(vocab, "cedar road")} == {
        ("Cedar Road", "Testbury")
    }
    assert streets_said(vocab, "cedar") == []  # Avenue or Road: not said
    assert streets_said(vocab, "zzz qqq nowhere") == []


def test_a_no_match_is_not_checked_never_none(app_conn: Connection, town: Town) -> None:
    answer = lookup(app_conn, reason=REASON, q="zzz qqq nowhere")
    assert answer["status"] == "not_checked"
    assert answer["match"]["status"] == "no_match" and answer["street"] is None
    assert answer["address"] is None and answer["markers"] == []
    assert banner([], checked=False) == "not_checked" and banner([]) == "none"


def test_an_ambiguous_text_is_not_checked_and_flags_its_candidates(
    app_conn: Connection, town: Town
) -> None:
    answer = lookup(app_conn, reason=REASON, q="12 ramsden street")
    assert answer["match"]["status"] != "matched"
    assert answer["status"] == "not_checked" and answer["address"] is None
    candidates = {c["uprn"]: c for c in answer["match"]["candidates"]}
    assert candidates[town["block"]]["has_marker"] is True
    assert candidates[town["block"]]["town"] == "Testbury"
    assert candidates[town["other12"]]["town"] == "Otherton"
    assert answer["street"] is None  # a number was said: the candidates are the answer


def test_the_audit_row_of_a_not_checked_lookup(
    app_conn: Connection, town: Town, world: World
) -> None:
    lookup(app_conn, reason=REASON, q="Ramsden Street")
    set_actor(app_conn, Actor.system())
    row = app_conn.execute(
        text(
            "SELECT object_id, justification, details FROM audit_log "
            "WHERE action = 'consultation' ORDER BY audit_id DESC LIMIT 1"
        )
    ).one()
    assert row.object_id is None and row.justification == REASON
    assert row.details["status"] == "not_checked"
    assert ["Ramsden Street", "Testbury"] in row.details["streets"]


def test_housing_staff_are_refused_a_street(app_conn: Connection, town: Town, world: World) -> None:
    set_actor(app_conn, world.actors["housing_a"])
    with pytest.raises(PermissionDeniedError):
        lookup(app_conn, reason=REASON, q="Ramsden Street")


def test_the_listing_sees_only_what_the_actor_may(
    app_conn: Connection, town: Town, world: World
) -> None:
    """Row-level security applies: the statement runs as the actor. Housing staff of another
    provider see no address on the street, so the service has nothing to list."""
    from datetime import date

    set_actor(app_conn, world.actors["housing_b"])
    assert street_listing(app_conn, "Ramsden Street", date.today()) is None
    set_actor(app_conn, world.actors["control_room"])
    listing = street_listing(app_conn, "Ramsden Street", date.today())
    assert listing is not None and listing["addresses"] == 8


def test_http_lookup_of_a_street_is_not_checked_with_its_listing(
    client: TestClient, tokens: dict[str, str], town: Town
) -> None:
    response = client.get(
        "/v1/lookup", params={"q": "Ramsden Street", "reason": REASON},
        headers={"Authorization": f"Bearer {tokens['control_room']}"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "not_checked" and body["address"] is None
    assert {s["town"] for s in body["street"]["streets"]} == {"Testbury", "Otherton"}
    assert body["street"]["marked"] == 5
    for key in ("query", "match", "markers", "inactive_markers", "grading_advice", "risk",
                "incidents", "centre"):  # fmt: skip
        assert key in body  # the contract keeps every key it had
    housing = client.get(
        "/v1/lookup", params={"q": "Ramsden Street", "reason": REASON},
        headers={"Authorization": f"Bearer {tokens['housing_a']}"},
    )  # fmt: skip
    assert housing.status_code == 403
    schema = LookupOut.model_json_schema()  # what /openapi.json publishes for the route
    assert "not_checked" in schema["properties"]["status"]["enum"]
    assert "StreetListingOut" in schema["$defs"]


# -- the risk band -----------------------------------------------------------------------------
def test_the_risk_band_shows_after_scoring(app_conn: Connection, town: Town, world: World) -> None:
    set_actor(app_conn, Actor.system())
    scoring.score(app_conn, "addresses", NORTH)
    set_actor(app_conn, world.actors["control_room"])
    flat = lookup(app_conn, reason=REASON, uprn=town["flat1"])
    assert flat["risk"] is not None and flat["risk"]["basis"] == "address"
    assert flat["risk"]["band"] in {"low", "medium", "high", "very_high"}
    # Scoring scores homes, not blocks; a point or "12 Ramsden Street" lands on the block,
    # which used to show no band ("—"): it takes its highest-scored flat's.
    scores: dict[int, float] = dict(
        app_conn.execute(
            text("SELECT uprn, score FROM risk_scores WHERE uprn = ANY(:u)"),
            {"u": [town["flat1"], town["flat2"], town["flat3"], town["block"]]},
        ).all()
    )
    assert town["block"] not in scores and len(scores) == 3
    block = lookup(app_conn, reason=REASON, uprn=town["block"])
    assert block["risk"] is not None and block["risk"]["basis"] == "highest_flat"
    assert block["risk"]["score"] == max(scores.values())
    assert block["risk"]["flat_uprn"] in scores
    lon, lat = block_lon_lat()
    by_point = lookup(app_conn, reason=REASON, lon=lon, lat=lat, radius_m=10)
    assert by_point["risk"] is not None  # whichever of the block and its flats is nearest


def test_no_band_before_scoring(app_conn: Connection, town: Town) -> None:
    assert lookup(app_conn, reason=REASON, uprn=town["block"])["risk"] is None
