"""A housing provider's Monday in a real browser (Debian Chromium, `streamlit run app.py` over
the test database): the queue shows an old, overdue order at a marked home escalated, with
dates that have their year; the recommendations, asked twice with different cost caps, show
the best package for each cap (checked against the service), on a map of the provider's homes.
Screenshots go to artifacts/screenshots/housing_journey__*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import (
    MAP_CANVAS,
    Tab,
    app_pages,
    app_tab,
    assert_no_traceback,
    enter_text,
    rerun,
    screenshot,
    wait_idle,
)
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from world import HOUSING_A, NORTH, World, drop_default_model_if_unused

from hardening.db.engine import Actor, transaction
from hardening.risk.model import load
from hardening.security.users import add_user
from hardening.works.packages import packages

pytestmark = pytest.mark.browser

PASSWORD = "housing-journey-test-password"
USER = "t.hj-housing"
PAGE = next(p for p in app_pages() if p.name == "Housing_works")


@pytest.fixture(scope="module")
def scenery(owner_engine: Engine, app_engine: Engine, world: World) -> Iterator[int]:
    """A housing user with a password, a high-risk home of A's under the current model, and
    an order at A's marked home loaded with its history (raised 400 days ago, 370 overdue)."""
    with transaction(app_engine, Actor.system()) as conn:
        version = load(conn).version
    with transaction(owner_engine, Actor.system()) as conn:
        add_user(conn, USER, HOUSING_A, ["housing"], PASSWORD)
        conn.execute(
            text(
                "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
                "VALUES (:u, :m, 70, 'high', :a)"
            ),
            {"u": world.homes_a[8], "m": version, "a": NORTH},
        )
        order = conn.execute(
            text(
                "INSERT INTO work_orders (provider_org_id, uprn, measure_code, priority, status, "
                "due_at, created_at, area_id) VALUES (:p, :u, 'spy_hole', 'planned', 'approved', "
                "now() - interval '370 days', now() - interval '400 days', :a) "
                "RETURNING work_order_id"
            ),
            {"p": HOUSING_A, "u": world.homes_a[1], "a": NORTH},
        ).scalar_one()
    yield int(order)
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM work_orders WHERE work_order_id = :i"), {"i": order})
        conn.execute(
            text("DELETE FROM risk_scores WHERE uprn = :u AND model_version = :m"),
            {"u": world.homes_a[8], "m": version},
        )
        conn.execute(text("UPDATE users SET active = false WHERE username = :u"), {"u": USER})
        drop_default_model_if_unused(conn)


@pytest.fixture(scope="module")
def tab(test_db_url: URL, scenery: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tab]:
    with app_tab(tmp_path_factory.mktemp("streamlit"), USER, PASSWORD) as tab:
        yield tab


def test_queue_flags_the_overdue_order_at_a_marked_home(tab: Tab, scenery: int) -> None:
    page = tab.open("housing", PAGE)
    page.get_by_text("Open orders").first.wait_for()
    metric = page.get_by_test_id("stMetric").filter(has_text="Escalated")
    assert int(metric.get_by_test_id("stMetricValue").inner_text()) >= 1
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    page.wait_for_timeout(1500)  # the grid paints after its canvas exists
    screenshot(page, "housing_journey__queue")
    assert_no_traceback(page)


def _cap(tab: Tab, pounds: int) -> str:
    page = tab.page
    page.get_by_role("tab", name="Recommendations").click()
    box = page.get_by_label("Spend up to (£) per home or block", exact=True)
    enter_text(page, box, str(pounds))
    summary = page.get_by_test_id("stMarkdownContainer").filter(has_text="in all:")
    summary.first.wait_for()
    page.locator(MAP_CANVAS).first.wait_for()
    page.wait_for_timeout(1500)  # the grid and the map paint after their canvases exist
    screenshot(page, f"housing_journey__recommend_{pounds}")
    assert_no_traceback(page)
    return summary.first.inner_text()


def test_two_cost_caps_give_two_packages(
    tab: Tab, scenery: int, app_engine: Engine, world: World
) -> None:
    tab.open("housing", PAGE)
    first = _cap(tab, 30)
    second = _cap(tab, 100)
    assert first != second
    with transaction(app_engine, world.actors["housing_a"]) as conn:
        cheap = packages(conn, HOUSING_A, 3_000)[0]
        rich = packages(conn, HOUSING_A, 10_000)[0]
    for said, best in ((first, cheap), (second, rich)):
        found = re.search(r"First: (.+), (.+) for (£[\d,.]+)\.", said)
        assert found, said
        assert found.group(1) == best.address == "9 Test Street"
        assert found.group(2) == " + ".join(best.names)
        assert found.group(3) == f"£{best.cost_pence // 100:,}"
    assert len(rich.measures) > len(cheap.measures)


def _schedule(tab: Tab, days: int) -> str:
    """Plan the open orders over `days` days: a job the page follows until its proposal."""
    page = tab.page
    wait_idle(page)  # the last job's page refresh has finished
    page.get_by_role("tab", name="Schedule").click()
    box = page.get_by_label("Days", exact=True)
    enter_text(page, box, str(days))
    rerun(page, page.get_by_role("button", name="Plan the open orders").click)
    proposal = page.get_by_text(f"Proposed plan for {days} day(s) from ")
    proposal.first.wait_for(timeout=120_000)
    wait_idle(page)
    screenshot(page, f"housing_journey__schedule_{days}_days")
    assert_no_traceback(page)
    return proposal.first.inner_text()


def test_two_schedules_and_the_proposal_waits_while_away(tab: Tab, scenery: int) -> None:
    tab.open("housing", PAGE)
    two = _schedule(tab, 2)
    three = _schedule(tab, 3)
    for said in (two, three):
        assert re.search(r"from \d+ \w{3} \d{4} \(.+, times Europe/London\): \d+ visits", said), (
            said
        )
    # Off to the Risk page and back: the last proposal is still there, not planned again.
    tab.open("housing", next(p for p in app_pages() if p.name == "Risk"))
    page = tab.open("housing", PAGE)
    page.get_by_role("tab", name="Schedule").click()
    back = page.get_by_text("Proposed plan for 3 day(s) from ")
    back.first.wait_for()
    assert back.first.inner_text() == three
    screenshot(page, "housing_journey__schedule_after_leaving")
