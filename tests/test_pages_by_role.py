"""Issue 15, "every page works for the person it serves", without a browser: which pages each
role is offered (ui.session), the risk map's view and context layers, a visit team's day in one
town from now in its own words, who may move referrals on, and the KPI chart's months
(AppTest where a page shows it, the services directly otherwise). tests/test_browser_pages.py
does the same journeys in Chromium."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from engines import credentialed
from sqlalchemy import Connection, text
from streamlit.testing.v1 import AppTest
from test_risk_page import committed_town
from test_risk_town import AREA as RISK_TOWN
from test_visits_due import AREA, DAY, WHY, _build
from world import HEALTH, World

from hardening.db.engine import Actor, set_actor
from hardening.errors import NotFoundError, PermissionDeniedError
from hardening.reports.charts import monthly_rows
from hardening.risk.layer import cell_ring, grid
from hardening.settings import PROJECT_ROOT
from hardening.visits.models import ReferralUpdate
from hardening.visits.referrals import list_referrals, movable, update_referral
from hardening.visits.route import DAY_OVER, TeamDay, plan_day, start_minute
from ui.kpi import monthly_chart, nothing_to_draw

__all__ = ["committed_town"]  # a fixture: the risk town, scored and committed
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, test_db_url: object) -> None:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))  # the pages import ui.*
    st.cache_data.clear()
    st.cache_resource.clear()


def _page(path: str, actor: Actor) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / path), default_timeout=60)
    at.session_state["actor"] = credentialed(actor)
    at.session_state["actor_expires_at"] = time.time() + 600
    return at.run()


@pytest.mark.parametrize(
    ("role", "slugs"),
    [
        ("control_room", ["", "Control_room", "Risk"]),
        ("visit_team", ["", "Control_room", "Risk", "Visits", "Referrals", "KPI"]),
        ("analyst", ["", "Control_room", "Risk", "Planning", "Referrals", "KPI"]),
        ("housing_a", ["", "Risk", "Housing_works"]),
        ("planner", ["", "Planning"]),
        ("health", ["", "Referrals"]),
        ("lapsed", [""]),
    ],
)
def test_each_role_is_offered_only_its_pages(
    fresh: None, world: World, role: str, slugs: list[str]
) -> None:
    from ui.session import usable_pages

    assert [p.slug for p in usable_pages(credentialed(world.actors[role]))] == slugs


def test_the_map_comes_first_in_the_menu_and_signed_out_shows_only_the_form(fresh: None) -> None:
    from ui.session import PAGES

    assert (PAGES[0].slug, PAGES[0].title) == ("", "Map")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]


def test_the_risk_map_opens_on_its_cells_with_streets(
    fresh: None, committed_town: None, app_conn: Connection, world: World
) -> None:
    at = _page("pages/3_Risk.py", world.actors["analyst"])
    assert not at.exception
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    ids = [layer["id"] for layer in deck["layers"]]
    assert ids.index("risk-cells") < ids.index("roads")  # streets drawn over the cells
    assert {"road-casing", "area-outline"} <= set(ids)
    assert all(layer.get("widthUnits") in (None, "pixels") for layer in deck["layers"])
    cells = next(x for x in deck["layers"] if x["id"] == "risk-cells")["data"]
    view = deck["initialViewState"]
    lons, lats = [c["lon"] for c in cells], [c["lat"] for c in cells]
    assert min(lons) <= view["longitude"] <= max(lons) and min(lats) <= view["latitude"] <= max(
        lats
    )
    assert deck.get("mapProvider") in (None, "")
    # The chosen area, then a band that has no cell there: the map follows both.
    at.selectbox(key="risk_area").set_value(RISK_TOWN).run()
    town = grid(app_conn, 250, area_id=RISK_TOWN)
    data = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]
    shown = next(x for x in data if x["id"] == "risk-cells")["data"]
    assert sorted(c["dwellings"] for c in shown) == sorted(c.dwellings for c in town)
    absent = [b for b in ("low", "medium", "high", "very_high") if b not in {c.band for c in town}]
    if absent:
        at.multiselect(key="bands").set_value(absent[:1]).run()
        assert not at.get("deck_gl_json_chart")
        assert any("No cells in the bands chosen" in i.value for i in at.info)


def test_a_cell_ring_is_its_bng_square(app_conn: Connection) -> None:
    cell = {"lon": -3.2264, "lat": 54.1196, "cell_m": 250}
    ring = cell_ring(cell)
    assert len(ring) == 5 and ring[0] == ring[-1]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lons) <= cell["lon"] <= max(lons) and min(lats) <= cell["lat"] <= max(lats)
    assert 0.003 < max(lons) - min(lons) < 0.005 and 0.002 < max(lats) - min(lats) < 0.003


def _towns(conn: Connection, homes: dict[str, int]) -> None:
    """h1 and h3 in Barrow, h5 and h7 in Dalton (the four cases due on DAY)."""
    for name, town in (("h1", "Barrow"), ("h3", "Barrow"), ("h5", "Dalton"), ("h7", "Dalton")):
        conn.execute(text("UPDATE addresses SET town = :t WHERE uprn = :u"),
                     {"t": town, "u": homes[name]})  # fmt: skip


def test_a_days_route_stays_in_one_town(app_conn: Connection, world: World) -> None:
    homes = _build(app_conn)
    _towns(app_conn, homes)
    set_actor(app_conn, world.actors["visit_team"])
    first = plan_day(app_conn, DAY, area=AREA, max_stops=4, reason=WHY).route()
    assert first.town == "Barrow"  # the most pressing case's (h1's plan visit)
    assert {s.uprn for s in first.stops} == {homes["h1"], homes["h3"]}
    other = plan_day(app_conn, DAY, area=AREA, max_stops=4, town="Dalton", reason=WHY).route()
    assert other.town == "Dalton"
    assert {s.uprn for s in other.stops} == {homes["h5"], homes["h7"]}


def test_todays_route_starts_now_rounded_up(app_conn: Connection, world: World) -> None:
    homes = _build(app_conn)
    set_actor(app_conn, world.actors["visit_team"])
    team = TeamDay(9 * 60, 17 * 60, 30)
    assert start_minute(DAY, team, datetime(2026, 6, 1, 12, 31, tzinfo=LONDON)) == 12 * 60 + 45
    assert start_minute(DAY, team, datetime(2026, 6, 1, 12, 30, tzinfo=LONDON)) == 12 * 60 + 30
    assert start_minute(DAY, team, datetime(2026, 6, 1, 7, 0, tzinfo=LONDON)) == 9 * 60
    assert start_minute(DAY, team, datetime(2026, 5, 31, 12, 0, tzinfo=LONDON)) == 9 * 60
    now = datetime(2026, 6, 1, 12, 31, tzinfo=LONDON)
    out = plan_day(app_conn, DAY, area=AREA, max_stops=2, team=team, now=now, reason=WHY).route()
    assert out.starts == "12:45" and out.stops
    assert min(s.arrive for s in out.stops) >= "12:45"
    late = datetime(2026, 6, 1, 17, 5, tzinfo=LONDON)
    out = plan_day(app_conn, DAY, area=AREA, max_stops=2, team=team, now=late, reason=WHY).route()
    assert out.stops == [] and {c.why for c in out.left_out} == {DAY_OVER}
    assert homes


def test_left_out_cases_are_said_in_the_visit_teams_words(
    app_conn: Connection, world: World
) -> None:
    _build(app_conn)
    set_actor(app_conn, world.actors["visit_team"])
    for team, stops in ((TeamDay(9 * 60, 10 * 60, 90), 2), (TeamDay(9 * 60, 11 * 60, 50), 4)):
        out = plan_day(app_conn, DAY, area=AREA, max_stops=stops, team=team, reason=WHY).route()
        assert out.left_out
        for case in out.left_out:
            assert "operative" not in case.why and "shift" not in case.why
            assert "day" in case.why or "hours" in case.why


@pytest.mark.parametrize(("role", "moves"), [("control_room", False), ("analyst", False),
                                             ("visit_team", True), ("health", True)])  # fmt: skip
def test_who_may_move_a_referral_on(
    app_conn: Connection, world: World, role: str, moves: bool
) -> None:
    set_actor(app_conn, world.actors[role])
    rows = list_referrals(app_conn, "test: who moves referrals")
    made = [r for r in rows if r.status == "made" and r.partner_org_id == HEALTH]
    assert made, "the world makes a referral to the health partner in each area"
    assert bool(movable(app_conn, [r.referral_id for r in made])) is moves
    change = ReferralUpdate(status="accepted", outcome="test", version=made[0].version)
    if moves:
        assert update_referral(app_conn, made[0].referral_id, change).status == "accepted"
    else:
        with pytest.raises(PermissionDeniedError, match="visit team that made it"):
            update_referral(app_conn, made[0].referral_id, change)


def test_the_referrals_page_offers_moving_on_only_to_who_may(fresh: None, world: World) -> None:
    at = _page("pages/6_Referrals.py", world.actors["analyst"])
    assert not at.exception and not [b for b in at.button if b.key == "update"]
    frame = at.dataframe[0].value
    assert not any("_" in str(v) for v in frame["service"]) and set(frame["status"]) <= {
        "Made", "Accepted", "Engaged", "Closed"}  # fmt: skip
    assert all(str(date.today().year) in v or "20" in v for v in frame["made_on"])
    at = _page("pages/6_Referrals.py", world.actors["health"])
    assert not at.exception and at.button(key="update")


def test_the_monthly_chart_has_a_bar_per_month_with_its_name() -> None:
    months = [{"month": date(2025, m, 1), "visits": m, "referrals": None if m == 3 else 1}
              for m in range(1, 13)]  # fmt: skip
    rows = monthly_rows({"monthly": months})
    labels = list(dict.fromkeys(r["month"] for r in rows))
    assert labels == [f"{date(2025, m, 1):%b} 2025" for m in range(1, 13)]
    assert len(rows) == 23  # March's withheld referrals are left out, not drawn as 0


def test_the_kpi_page_uses_words_and_says_when_there_is_nothing_to_chart(
    fresh: None, world: World
) -> None:
    """Words, not codes, in its tables; a year with nothing to draw gets a sentence, not an
    empty chart (tests/test_report_kpi.py checks the chart the sample town draws)."""
    at = _page("pages/7_KPI.py", world.actors["analyst"])
    assert not at.exception
    for frame in at.dataframe:
        cells = frame.value.astype(str).to_numpy().ravel()
        assert not [c for c in cells if "_" in c]
    at.number_input(key="year").set_value(2020).run()
    assert not at.exception and not at.get("vega_lite_chart")
    assert [i.value for i in at.info] == ["No visits or referrals were recorded in 2020."]


def _year(visits: int | None, referrals: int | None, /, **may: int | None) -> dict[str, Any]:
    """A year of published months (None: withheld), every month alike but May's `may`."""
    months = [{"month": date(2025, m, 1), "visits": visits, "referrals": referrals}
              for m in range(1, 13)]  # fmt: skip
    months[4].update(may)
    return {"monthly": months}


def test_the_monthly_chart_counts_in_whole_numbers_or_says_why_there_is_none() -> None:
    """Every month withheld (or withheld and none) gives a sentence, not an empty chart
    with a 0.000000 axis; a chart's axis ticks whole numbers."""
    for withheld in (_year(None, None), _year(0, None), _year(None, 0, visits=0)):
        said = nothing_to_draw(withheld, 2025)
        assert said is not None and "withheld" in said and "2025" in said
    assert nothing_to_draw(_year(0, 0), 2025) == "No visits or referrals were recorded in 2025."
    some = _year(None, None, visits=12)
    assert nothing_to_draw(some, 2025) is None
    y = monthly_chart(some).to_dict()["encoding"]["y"]
    assert y["axis"]["format"] == "d" and y["axis"]["tickMinStep"] == 1
    assert y["scale"]["domainMin"] == 0


def test_an_unknown_town_is_refused_not_answered_empty(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    with pytest.raises(NotFoundError, match="no town called"):
        plan_day(app_conn, DAY, area=AREA, town="Nowhere-on-Sea", reason=WHY)
