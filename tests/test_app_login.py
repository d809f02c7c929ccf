"""Signing in to the map (ui.session through app.py, AppTest against the committed fixture): the
form and no map when nobody is signed in, a real sign-in through the form, a wrong password, an
expired session, signing out, and each organisation's camera sites cached apart from everyone
else's (the town's areas, streets, stations and address squares are the same for all)."""

from __future__ import annotations

import time

import pytest
import streamlit as st
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest
from test_app_layers import (
    CCTV,
    ELSEWHERE_CCTV,
    OUTSIDER,
    PASSWORD,
    VIEWER,
    MapFixture,
    committed_map_fixture,
)
from test_app_map import APP, fresh_caches, layers_by_id, signed_in

from hardening.db.engine import Actor, transaction
from hardening.security.users import add_user

__all__ = ["committed_map_fixture", "fresh_caches"]  # fixtures, imported to be used here
pytestmark = pytest.mark.usefixtures("test_db_url", "fresh_caches")
FIXTURE_CAMERAS = {row[1] for row in CCTV} | {ELSEWHERE_CCTV[1]}
GUESSED = "test-app.guessed"


def assert_sign_in_form_only(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Sign in"]
    # Nothing of the map: no chart, no figures, no layer controls.
    assert not at.get("deck_gl_json_chart")
    assert not at.metric and not at.checkbox
    assert "actor" not in at.session_state


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def cameras(at: AppTest) -> set[str]:
    return {c["name"] for c in layers_by_id(at)["cctv"]["data"]} & FIXTURE_CAMERAS


def test_signed_out_shows_the_sign_in_form_and_no_map(committed_map_fixture: MapFixture) -> None:
    assert_sign_in_form_only(AppTest.from_file(APP, default_timeout=60).run())


def test_an_expired_session_shows_the_sign_in_form(committed_map_fixture: MapFixture) -> None:
    assert_sign_in_form_only(signed_in(committed_map_fixture.viewer, expires_in_s=-1).run())


def test_signing_in_through_the_form_shows_the_map(committed_map_fixture: MapFixture) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    started = time.time()
    at = sign_in(at, VIEWER, PASSWORD)
    assert not at.exception, at.exception
    assert at.session_state["actor"] == committed_map_fixture.viewer
    # One shift from now.
    assert at.session_state["actor_expires_at"] == pytest.approx(started + 8 * 3600, abs=120)
    assert at.get("deck_gl_json_chart")
    assert cameras(at) == {name for _, name, status, _, _ in CCTV if status != "removed"}
    assert any(VIEWER in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(
    ("username", "password"), [(VIEWER, PASSWORD + "x"), ("test-app.nobody", PASSWORD)]
)
def test_a_wrong_password_or_user_is_refused(
    committed_map_fixture: MapFixture, username: str, password: str
) -> None:
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), username, password)
    assert [e.value for e in at.error] == ["wrong username or password"]
    assert_sign_in_form_only(at)


def test_signing_out_goes_back_to_the_form(committed_map_fixture: MapFixture) -> None:
    at = signed_in(committed_map_fixture.viewer).run()
    assert at.get("deck_gl_json_chart")
    assert_sign_in_form_only(at.button(key="sign_out").click().run())


def test_each_user_gets_their_own_layers_not_a_cached_copy(
    committed_map_fixture: MapFixture,
) -> None:
    viewer_cameras = {name for _, name, status, _, _ in CCTV if status != "removed"}
    at = signed_in(committed_map_fixture.viewer).run()
    assert cameras(at) == viewer_cameras
    shared = ("context", "density", "stations")
    town = {k: layers_by_id(at)[k]["data"] for k in shared}
    # Same page, same settings, within the cache's lifetime: the outsider (no agreement)
    # still gets only what they may see.
    at = signed_in(committed_map_fixture.outsider).run()
    assert not at.exception, at.exception
    assert at.session_state["actor"].username == OUTSIDER
    assert cameras(at) == set() and layers_by_id(at)["anpr"]["data"] == []
    assert {m.label: m.value for m in at.metric}["CCTV working"] == "0"
    # Areas, streets, stations and the published address squares are everyone's alike.
    assert {k: layers_by_id(at)[k]["data"] for k in town} == town
    assert cameras(signed_in(committed_map_fixture.viewer).run()) == viewer_cameras


def test_five_wrong_passwords_lock_the_sign_in(
    committed_map_fixture: MapFixture, app_engine: Engine
) -> None:
    with transaction(app_engine, Actor.system()) as conn:
        add_user(conn, GUESSED, str(committed_map_fixture.viewer.org_id), ["planner"], PASSWORD)
    at = AppTest.from_file(APP, default_timeout=60).run()
    for _ in range(5):
        at = sign_in(at, GUESSED, "a wrong guess, again")
        assert [e.value for e in at.error] == ["wrong username or password"]
    at = sign_in(at, GUESSED, PASSWORD)  # the right one, too late
    assert len(at.error) == 1 and "locked until" in at.error[0].value
    assert_sign_in_form_only(at)


def test_a_session_the_database_ended_goes_back_to_the_form_saying_why(
    committed_map_fixture: MapFixture, owner_engine: Engine
) -> None:
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), VIEWER, PASSWORD)
    assert at.get("deck_gl_json_chart")
    with owner_engine.begin() as conn:  # half an hour without a click
        conn.execute(
            text(
                "UPDATE auth_sessions SET last_seen_at = now() - interval '31 minutes' "
                "WHERE token_hash = auth_token_hash(:t)"
            ),
            {"t": at.session_state["actor"].credential},
        )
    st.cache_data.clear()  # the layers are cached for a minute: a new question, as after a pan
    at.run()
    assert any("session has ended" in i.value for i in at.info)
    assert_sign_in_form_only(at)
