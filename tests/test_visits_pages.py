"""The visit, referral and KPI pages under AppTest, signed in as world actors. Nothing is
saved: the validation path is exercised, saving itself is covered by the service tests."""

from __future__ import annotations

import time

from engines import credentialed
from streamlit.testing.v1 import AppTest
from world import World

from hardening.db.engine import Actor
from hardening.settings import PROJECT_ROOT as ROOT
from hardening.visits.route import DayRoute


def _page(path: str, actor: Actor) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=30)
    at.session_state["actor"] = credentialed(actor)
    at.session_state["actor_expires_at"] = time.time() + 600
    return at.run()


def test_visit_page_validates_before_saving(test_db_url: object, world: World) -> None:
    at = _page("pages/5_Visits.py", world.actors["visit_team"])
    assert not at.exception
    at.button(key="save").click().run()
    errors = [e.value for e in at.error]
    assert any("address matched" in e for e in errors)
    assert any("team of two" in e for e in errors)
    at.text_input(key="address").input("Nowhere Lane, Atlantis ZZ9 9ZZ").run()
    assert at.warning or at.selectbox(key="address_pick")
    at.multiselect(key="team").select(world.actors["visit_team"].user_id).run()
    at.button(key="save").click().run()
    assert any("team of two" in e.value for e in at.error)


def test_visit_page_offers_the_form_only_to_who_may_record(
    test_db_url: object, world: World
) -> None:
    at = _page("pages/5_Visits.py", world.actors["control_room"])  # police, but no visit team
    assert not at.exception
    assert any("Recording visits needs" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "save"] and at.button(key="plan_route")
    at = _page("pages/5_Visits.py", world.actors["visit_team"])
    assert not at.info and at.button(key="save")


def test_visit_page_plans_a_route_on_request(test_db_url: object, world: World) -> None:
    at = _page("pages/5_Visits.py", world.actors["visit_team"])
    assert "route" not in at.session_state  # the scheduler runs only when asked
    assert at.button(key="plan_route").disabled  # nor before a reason is given (audited)
    at.text_input(key="due_reason").input("planning this week's visits").run()
    at.button(key="plan_route").click().run()
    assert not at.exception and not at.error
    _, route = at.session_state["route"]
    assert isinstance(route, DayRoute)
    assert len(route.stops) + len(route.left_out) <= 8


def test_referrals_page_shows_a_partner_only_its_own(test_db_url: object, world: World) -> None:
    at = _page("pages/6_Referrals.py", world.actors["health"])
    assert not at.exception
    frame = at.dataframe[0].value
    assert len(frame) >= 1
    names = set(frame["partner_name"])
    assert names == {"T Health"}
    at = _page("pages/6_Referrals.py", world.actors["housing_a"])
    assert not at.exception and any("No referrals" in i.value for i in at.info)


def test_kpi_page(test_db_url: object, world: World) -> None:
    at = _page("pages/7_KPI.py", world.actors["analyst"])
    assert not at.exception
    assert len(at.metric) == 8  # active lines and the report's seven headline figures
    assert len(at.dataframe) == 8  # the report's eight tables (the eighth: fairness of the ranking)
    assert at.get("download_button")
