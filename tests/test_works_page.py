"""The housing works page, headless (streamlit AppTest), as housing_a and housing_b: each sees
only its own queue (escalated orders flagged, SLA clocks coloured), plans its own operatives,
draws them as a Gantt chart and as routes on the offline map, and commits the plan to its
orders. The page runs its own transactions, so the orders and operatives are committed for
this module and removed afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from engines import credentialed, run_queued_jobs
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest
from world import HOUSING_A, HOUSING_B, NORTH, World

from hardening.db.engine import Actor, transaction
from hardening.risk.model import load
from hardening.settings import PROJECT_ROOT as ROOT
from hardening.works import orders

PAGE = str(ROOT / "pages/8_Housing_works.py")
Orders = dict[str, list[int]]


def _operative(conn: Any, provider: str, name: str, x: int, y: int) -> None:
    conn.execute(
        text(
            "INSERT INTO operatives (provider_org_id, name, skills, working_days, base) "
            "VALUES (:p, :n, '{joiner}', '{1,2,3,4,5,6,7}', "
            "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        {"p": provider, "n": name, "x": x, "y": y},
    )


@pytest.fixture(scope="module")
def committed(app_engine: Engine, owner_engine: Engine, world: World) -> Iterator[Orders]:
    made: Orders = {"a": [], "b": [], "escalated": []}
    with transaction(app_engine, world.actors["housing_a"]) as conn:
        _operative(conn, HOUSING_A, "Page Joiner A1", 421000, 520000)
        _operative(conn, HOUSING_A, "Page Joiner A2", 421100, 520600)
        for uprn in world.homes_a[2:7]:
            o = orders.create(conn, uprn, "door_chain", priority="urgent")
            made["a"].append(orders.transition(conn, o.work_order_id, 1, "approved").work_order_id)
        # homes_a[1] has an active marker (world): the order starts escalated
        hot = orders.create(conn, world.homes_a[1], "spy_hole", priority="planned")
        made["escalated"].append(hot.work_order_id)
    with transaction(app_engine, world.actors["housing_b"]) as conn:
        _operative(conn, HOUSING_B, "Page Joiner B1", 421050, 520700)
        for uprn in world.homes_b[2:5]:
            o = orders.create(conn, uprn, "spy_hole", priority="routine")
            made["b"].append(orders.transition(conn, o.work_order_id, 1, "approved").work_order_id)
    with transaction(app_engine, Actor.system()) as conn:  # stores the default model if missing
        version = load(conn).version
    with owner_engine.begin() as conn:  # a score under the default model: something to recommend
        conn.execute(
            text(
                "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
                "VALUES (:u, :m, 70, 'high', :a)"
            ),
            {"u": world.homes_a[8], "m": version, "a": NORTH},
        )
    yield made
    ids = made["a"] + made["b"] + made["escalated"]
    with owner_engine.begin() as conn:
        conn.execute(
            text("DELETE FROM work_orders WHERE work_order_id = ANY(:i) OR uprn = :u"),
            {"i": ids, "u": world.homes_a[8]},
        )
        conn.execute(text("DELETE FROM operatives WHERE name LIKE 'Page Joiner %'"))
        conn.execute(
            text("DELETE FROM risk_scores WHERE uprn = :u AND model_version = :m"),
            {"u": world.homes_a[8], "m": version},
        )


def _page(world: World, who: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["actor"] = credentialed(world.actors[who])
    at.session_state["actor_expires_at"] = time.time() + 3600
    return at.run()


def _rec_table(at: AppTest) -> Any:
    return next(d.value for d in at.dataframe if "package" in d.value.columns)


def _queue_ids(at: AppTest) -> set[int]:
    frame = at.dataframe[0].value
    return {int(i) for i in frame["order"]}


def test_each_provider_sees_only_its_own_queue(world: World, committed: Orders) -> None:
    at = _page(world, "housing_a")
    assert not at.exception, at.exception
    mine = _queue_ids(at)
    assert set(committed["a"]) | set(committed["escalated"]) <= mine
    assert not mine & set(committed["b"])
    frame = at.dataframe[0].value
    hot = frame[frame["order"] == committed["escalated"][0]].iloc[0]
    assert hot["priority"] == "Emergency" and hot["flag"] == "⚠ Alert"  # never which alert
    assert set(frame["state"]) <= {"On time", "Due soon", "Overdue"}
    assert all(c.endswith(" left") or c.endswith(" overdue") for c in frame["SLA clock"])
    assert "_" not in "".join(frame["measure"]) + "".join(frame["status"])  # words, not codes
    year = str(hot["due"]).split()[2]  # "7 Dec 2026 17:00": dates with their year
    assert len(year) == 4 and year.isdigit()
    at = _page(world, "housing_b")
    assert not at.exception, at.exception
    theirs = _queue_ids(at)
    assert set(committed["b"]) <= theirs
    assert not theirs & (set(committed["a"]) | set(committed["escalated"]))


def test_plan_draws_gantt_and_routes_and_commits(
    world: World, committed: Orders, app_engine: Engine, owner_engine: Engine
) -> None:
    at = _page(world, "housing_a")
    at.number_input(key="plan_seconds").set_value(1)
    at.number_input(key="plan_days").set_value(2)
    at.button(key="plan").click().run()
    assert not at.exception, at.exception
    run_queued_jobs(owner_engine)  # the worker plans; the page shows the proposal
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("travel by straight line" in c.value for c in at.caption)
    assert at.get("vega_lite_chart"), "no Gantt chart"
    raw = at.get("deck_gl_json_chart")[-1].proto.json
    deck = json.loads(raw)
    assert not deck.get("mapProvider") and "http" not in raw  # offline: no basemap
    routes = next(layer for layer in deck["layers"] if layer["id"] == "routes")
    names = {r["operative"] for r in routes["data"]}
    assert names and names <= {"Page Joiner A1", "Page Joiner A2"}
    for route in routes["data"]:  # from the base and back to it
        assert route["path"][0] == route["path"][-1] and len(route["path"]) >= 3
    table = at.dataframe[-1].value
    assert set(table["order"]) <= set(committed["a"]) | set(committed["escalated"])
    at.button(key="commit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("scheduled" in s.value for s in at.success)
    with transaction(app_engine, world.actors["housing_a"]) as conn:
        states = {o.work_order_id: o.status for o in orders.list_orders(conn, HOUSING_A)}
    assert any(states[i] == "scheduled" for i in committed["a"])
    # the committed schedule is what the page draws now, without planning again
    at = _page(world, "housing_a")
    at.number_input(key="plan_days").set_value(2).run()
    assert at.get("vega_lite_chart") and at.get("deck_gl_json_chart")
    with transaction(app_engine, world.actors["housing_b"]) as conn:
        theirs = orders.list_orders(conn, HOUSING_B)
    assert all(o.status == "approved" for o in theirs if o.work_order_id in committed["b"])


def test_police_are_told_the_page_is_for_housing(world: World, test_db_url: object) -> None:
    at = _page(world, "control_room")
    assert not at.exception
    assert any("housing provider" in i.value for i in at.info)
    assert not at.get("deck_gl_json_chart")


def test_raise_orders_from_recommendations(
    world: World, committed: Orders, app_engine: Engine
) -> None:
    """A high-risk home of A's: the best package within the cap is offered with its address;
    raising it makes one order per measure, of A's, that B does not see, and the home is no
    longer offered that package."""
    home = world.homes_a[8]
    at = _page(world, "housing_b")
    assert not at.exception
    picks = at.multiselect(key="rec_pick").options if at.get("multiselect") else []
    assert not any(str(home) in p for p in picks)  # B is not offered A's home
    at = _page(world, "housing_a")
    assert not at.exception, at.exception
    assert at.button(key="raise").disabled  # nothing chosen yet
    table = _rec_table(at)
    row = table[table["address"] == "9 Test Street"].iloc[0]  # the address, not the UPRN
    assert "Spy hole" in row["package"] and "Door chain" in row["package"]
    assert (
        row["cost"].startswith("£") and row["risk lowered by (points)"] < row["counted separately"]
    )
    options = at.multiselect(key="rec_pick").options
    assert options[0] != "Select all" and any(o.startswith("9 Test Street: ") for o in options)
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert not deck.get("mapProvider")
    homes = next(layer for layer in deck["layers"] if layer["id"] == "homes")
    view = deck["initialViewState"]  # the map opens on the provider's homes, not the town
    assert abs(view["longitude"] - homes["data"][0]["lon"]) < 0.05
    at.multiselect(key="rec_pick").select(str(home)).run()
    at.button(key="raise").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Raised" in s.value for s in at.success)
    with transaction(app_engine, world.actors["housing_a"]) as conn:
        raised = [o for o in orders.list_orders(conn, HOUSING_A) if o.uprn == home]
    assert {"spy_hole", "door_chain"} <= {o.measure_code for o in raised}
    with transaction(app_engine, world.actors["housing_b"]) as conn:
        assert not [o for o in orders.list_orders(conn) if o.uprn == home]
    at = _page(world, "housing_a")
    if at.get("multiselect"):
        again = _rec_table(at)
        again = again[again["address"] == "9 Test Street"]
        assert not any("Spy hole" in p for p in again["package"])
