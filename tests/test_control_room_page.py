"""The control-room page, headless (streamlit AppTest): banner, advice, candidates when the
address is ambiguous, the offline map, and a reason required. The page runs its own
transactions, so the towns are committed for this module and removed afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from engines import credentialed
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest
from test_control_room_town import UPRN, Town, build_town
from world import World

from hardening.addresses import vocabulary
from hardening.db.engine import Actor, set_actor, transaction
from hardening.markers import service

PAGE = "../pages/2_Control_room.py"


@pytest.fixture(scope="module")
def committed_town(app_engine: Engine, owner_engine: Engine, world: World) -> Iterator[Town]:
    with transaction(app_engine, Actor.system()) as conn:
        town = build_town(conn, world)
        set_actor(conn, world.actors["visit_team"])
        marker = service.create_marker(
            conn,
            uprn=town["flat2"],
            scope="block",
            reason_category="threat_to_life",
            grading_advice="Threat to life notice served: immediate deployment.",
        )
        service.review_marker(
            conn, marker.marker_id, version=1, reason="Threat renewed after a new incident"
        )
    yield town
    with owner_engine.begin() as conn:
        ids = {"lo": UPRN, "hi": UPRN + 99}
        conn.execute(
            text(
                "DELETE FROM marker_reviews WHERE marker_id IN (SELECT marker_id FROM "
                "safe_markers WHERE uprn BETWEEN :lo AND :hi)"
            ),
            ids,
        )
        conn.execute(text("DELETE FROM safe_markers WHERE uprn BETWEEN :lo AND :hi"), ids)
        conn.execute(text("DELETE FROM incidents WHERE source = 'cr-test'"))
        conn.execute(
            text("UPDATE addresses SET parent_uprn = NULL WHERE uprn BETWEEN :lo AND :hi"), ids
        )
        conn.execute(text("DELETE FROM addresses WHERE uprn BETWEEN :lo AND :hi"), ids)
    with transaction(app_engine, Actor.system()) as conn:
        vocabulary.rebuild(conn)  # forget the towns' streets too


def _page(world: World, role: str = "control_room") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = credentialed(world.actors[role])
    at.session_state["actor_expires_at"] = time.time() + 3600
    return at


def _search(at: AppTest, query: str, reason: str) -> AppTest:
    at.text_input[0].set_value(query)
    at.text_input[1].set_value(reason)
    return at.button[0].click().run()


def test_a_flat_in_a_marked_block(world: World, committed_town: Town) -> None:
    at = _page(world).run()
    assert not at.exception and not at.error
    at = _search(at, "flat 1, 12 ramsden st, testbury", "999 call: welfare concern")
    assert not at.exception, at.exception
    assert "SAFE MARKER ON THIS BLOCK" in at.error[0].value
    assert at.subheader[0].value.startswith("Flat 1, 12 Ramsden Street, Testbury")
    assert any("Threat to life notice served" in m.value for m in at.markdown)
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layers = {layer["id"]: layer for layer in deck["layers"]}
    assert len(layers["markers"]["data"]) == 1 and len(layers["incidents"]["data"]) == 1
    assert not deck.get("mapProvider")  # offline: no basemap
    assert any("Marker" in e.label and "1 review" in e.label for e in at.expander)


def test_an_ambiguous_address_offers_candidates(world: World, committed_town: Town) -> None:
    at = _search(_page(world).run(), "12 ramsden street", "999 call: noise complaint")
    assert not at.exception, at.exception
    assert "NOT CHECKED" in at.warning[0].value  # amber, never the green all-clear
    assert not at.success
    assert any("SAFE marker on 1 of the" in e.value for e in at.error)  # said prominently
    picks = [b for b in at.button if b.key and b.key.startswith("pick-")]
    assert any("Testbury" in b.label for b in picks) and any("Otherton" in b.label for b in picks)
    testbury = next(b for b in picks if "Testbury" in b.label)
    at = testbury.click().run()
    assert not at.exception, at.exception
    assert "SAFE MARKER ON THIS BLOCK" in at.error[0].value or "ON THIS ADDRESS" in (
        at.error[0].value
    )
    assert at.text_input[0].value == str(testbury.key).removeprefix("pick-")  # looked up


def test_a_street_alone_lists_its_addresses_never_green(world: World, committed_town: Town) -> None:
    at = _search(_page(world).run(), "Ramsden Street", "999 call: caller unsure of number")
    assert not at.exception, at.exception
    assert "NOT CHECKED" in at.warning[0].value and not at.success
    assert any("4 of 7 addresses on Ramsden Street have a SAFE marker" in e.value for e in at.error)
    assert any("Ramsden Street, Otherton" in h.value for h in at.subheader)
    assert at.selectbox  # the caller's address can be picked from the street


def test_each_lookup_shows_its_own_answer(world: World, committed_town: Town) -> None:
    at = _search(_page(world).run(), "flat 1, 12 ramsden st, testbury", "999 call: welfare")
    assert at.subheader[0].value.startswith("Flat 1, 12 Ramsden Street, Testbury")
    at = _search(at, "zzz qqq nowhere", "999 call: welfare")
    assert "NOT CHECKED" in at.warning[0].value and not at.success
    assert at.subheader[0].value == "No address found"
    at = _search(at, "21 ramsden st testbury", "999 call: welfare")
    assert at.subheader[0].value.startswith("21 Ramsden Street, Testbury")


def test_no_reason_no_answer(world: World, committed_town: Town) -> None:
    at = _search(_page(world).run(), str(committed_town["rs21"]), "")
    assert "reason is required" in at.error[0].value
    assert not at.get("deck_gl_json_chart")


def test_housing_staff_are_refused(world: World, committed_town: Town) -> None:
    at = _search(_page(world, "housing_a").run(), str(committed_town["flat1"]), "curious")
    assert "police roles" in at.error[0].value
