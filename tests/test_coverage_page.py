"""The planner page, headless: sectors and uncovered cells on the map, a run adds chosen sites."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest
from world import NORTH, World


@pytest.fixture
def street(owner_engine: Engine, world: World) -> Iterator[None]:
    """A street past the world's northern homes (committed, removed afterwards)."""
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO roads (source_ref, road_class, area_id, geom) "
                "SELECT 't:page-street', 'residential', :a, ST_MakeLine("
                "ST_Translate(ST_Centroid(ST_Collect(geom)), -300, 10), "
                "ST_Translate(ST_Centroid(ST_Collect(geom)), 300, 10)) "
                "FROM addresses WHERE area_id = :a"
            ),
            {"a": NORTH},
        )
    yield
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM roads WHERE source_ref = 't:page-street'"))


def _page(world: World, role: str) -> AppTest:
    at = AppTest.from_file("../pages/4_Planning.py", default_timeout=60)
    at.session_state["actor"] = world.actors[role]
    at.session_state["actor_expires_at"] = time.time() + 3600
    return at


def _layers(at: AppTest) -> dict[str, int]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return {layer["id"]: len(layer.get("data", [])) for layer in spec["layers"]}


def test_planner_sees_sectors_and_runs_a_plan(
    test_db_url: object, world: World, street: None
) -> None:
    at = _page(world, "planner").run()
    assert not at.exception and not at.error, at.error
    assert at.sidebar.selectbox[0].value == NORTH
    layers = _layers(at)
    assert layers["sectors"] == 1  # the world's one camera in the north
    at.number_input[0].set_value(2)
    at.button[0].click().run()  # the form's Run button
    assert not at.exception and not at.error, at.error
    assert _layers(at)["chosen"] >= 1
    assert at.subheader[0].value.startswith("Result: optimal")


def test_roles_without_planning_get_nothing(test_db_url: object, world: World) -> None:
    at = _page(world, "housing_a").run()
    assert not at.exception
    assert at.warning and "may not plan" in at.warning[0].value
    assert not at.get("deck_gl_json_chart")
