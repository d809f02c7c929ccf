"""The planner page, headless: sectors, uncovered cells and streets on the map; a run adds
chosen sites, named by street and junction, costed in pounds, with coverage before and after in
a sentence, why fewer sites came back than asked, and no solver jargon outside the expander."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from engines import credentialed, run_queued_jobs
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest
from world import NORTH, World


@pytest.fixture
def street(owner_engine: Engine, world: World) -> Iterator[None]:
    """A street past the world's northern homes (committed, removed afterwards)."""
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO roads (source_ref, name, road_class, area_id, geom) "
                "SELECT 't:page-street', 'Page Street', 'residential', :a, ST_MakeLine("
                "ST_Translate(ST_Centroid(ST_Collect(geom)), -300, 10), "
                "ST_Translate(ST_Centroid(ST_Collect(geom)), 300, 10)) "
                "FROM addresses WHERE area_id = :a UNION ALL "
                "SELECT 't:page-cross', 'Cross Lane', 'residential', :a, ST_MakeLine("
                "ST_Translate(ST_Centroid(ST_Collect(geom)), 0, -200), "
                "ST_Translate(ST_Centroid(ST_Collect(geom)), 0, 200)) "
                "FROM addresses WHERE area_id = :a"
            ),
            {"a": NORTH},
        )
    yield
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM roads WHERE source_ref LIKE 't:page-%'"))


def _run_plan(at: AppTest, owner_engine: Engine) -> None:
    """Run (the form's button) queues the plan; the worker makes it; the page shows it."""
    at.button[0].click().run()
    assert not at.exception and not at.error, at.error
    run_queued_jobs(owner_engine)
    at.run()


def _page(world: World, role: str) -> AppTest:
    at = AppTest.from_file("../pages/4_Planning.py", default_timeout=60)
    at.session_state["actor"] = credentialed(world.actors[role])
    at.session_state["actor_expires_at"] = time.time() + 3600
    return at


def _layers(at: AppTest) -> dict[str, int]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return {layer["id"]: len(layer.get("data", [])) for layer in spec["layers"]}


def _words(at: AppTest) -> str:
    """Everything the page says outside the analysts' expander."""
    inner = {m.value for x in at.expander for m in x.markdown}  # the analysts' expander
    said = [getattr(e, "value", "") for kind in ("success", "info", "subheader", "caption",
            "markdown") for e in at.get(kind)]  # fmt: skip
    said = [x for x in said if x not in inner]
    tables = [d.value.to_string() for d in at.dataframe]
    return " ".join(str(x) for x in said + tables)


def test_planner_sees_sectors_and_runs_a_plan(
    test_db_url: object, world: World, street: None, owner_engine: Engine
) -> None:
    at = _page(world, "planner").run()
    assert not at.exception and not at.error, at.error
    assert at.sidebar.selectbox[0].value == NORTH
    layers = _layers(at)
    assert layers["sectors"] == 1  # the world's one camera in the north
    assert layers["streets"] >= 2  # the map draws its own streets (no basemap)
    assert not json.loads(at.get("deck_gl_json_chart")[0].proto.json).get("mapProvider")
    at.number_input(key="plan_sites").set_value(2)
    _run_plan(at, owner_engine)
    assert not at.exception and not at.error, at.error
    assert _layers(at)["chosen"] >= 1
    assert at.subheader[0].value == "What the plan buys"
    sentence = at.success[0].value
    assert "more homes" in sentence and ", for £" in sentence
    assert "of the risk in Test North instead of" in sentence
    table = next(d.value for d in at.dataframe if "where" in d.value.columns)
    assert set(table["where"]) <= {"Page Street", "Cross Lane", "Page Street at Cross Lane",
                                   "Cross Lane at Page Street", "Page Street, near Cross Lane",
                                   "Cross Lane, near Page Street"}  # fmt: skip
    assert all(c.startswith("£") for c in table["cost"]) and "sees" in table["adds"].iloc[0]
    words = _words(at)
    for jargon in ("HiGHS", "bound", "greedy", "objective", "kind", "site_id", "fov"):
        assert jargon not in words, jargon


def test_fewer_sites_than_asked_are_explained_and_a_new_budget_shows_a_new_answer(
    test_db_url: object, world: World, street: None, owner_engine: Engine
) -> None:
    at = _page(world, "planner").run()
    at.number_input(key="plan_sites").set_value(50)
    _run_plan(at, owner_engine)
    assert not at.exception and not at.error, at.error
    shown = len(next(d.value for d in at.dataframe if "where" in d.value.columns))
    assert shown < 50
    assert any(i.value.startswith(f"You asked for 50 sites; {shown} came back because only")
               for i in at.info)  # fmt: skip
    at.radio(key="plan_mode").set_value("budget")
    at.number_input(key="plan_budget").set_value(12_000)  # one new camera at the default cost
    _run_plan(at, owner_engine)
    assert not at.exception and not at.error, at.error
    table = next(d.value for d in at.dataframe if "where" in d.value.columns)
    assert len(table) == 1 and list(table["cost"]) == ["£12,000"]
    assert "for £12,000" in at.success[0].value


def test_roles_without_planning_get_nothing(test_db_url: object, world: World) -> None:
    at = _page(world, "housing_a").run()
    assert not at.exception
    assert at.warning and "may not plan" in at.warning[0].value
    assert not at.get("deck_gl_json_chart")
