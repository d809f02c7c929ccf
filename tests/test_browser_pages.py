"""Every Streamlit page in a real browser, as each role: one `streamlit run app.py` over the test
database, one Debian Chromium (Playwright) and one tab, signed in through the form as each
role in turn (the tab signs out between roles, so the app must keep nothing for the next one).

Each page either shows its content or says clearly that the account may not use it; never a
Python traceback. Each page's screenshot goes to artifacts/screenshots/<role>__<page>.png
(CI keeps the folder as artefacts). The main action of each page is then done as the role it
is meant for, and checked on the screen and, where it writes, in the database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from browser import (
    ALERT,
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_CANVAS,
    Tab,
    app_pages,
    assert_no_traceback,
    choose,
    distinct_colours,
    require_chromium,
    rerun,
    screenshot,
    streamlit_server,
)
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from test_app_layers import MapFixture, committed_map_fixture
from world import (
    HEALTH,
    HOUSING_A,
    LAPSED,
    NORTH,
    PLANNERS,
    POLICE,
    World,
    drop_default_model_if_unused,
)

from hardening.db.engine import Actor, transaction
from hardening.risk import scoring
from hardening.risk.model import DEFAULT_VERSION
from hardening.security.passwords import hash_password

__all__ = ["committed_map_fixture"]  # a fixture (Barrow streets and stations for the map)
pytestmark = pytest.mark.browser

PASSWORD = "browser-pages-test-password"
# role -> (organisation in tests/world.py, roles): a user with a password for each.
ROLES: dict[str, tuple[str, list[str]]] = {
    "control_room": (POLICE, ["control_room"]),
    "visit_team": (POLICE, ["visit_team"]),
    "analyst": (POLICE, ["analyst"]),
    "admin": (POLICE, ["admin"]),
    "housing": (HOUSING_A, ["housing"]),
    "planner": (PLANNERS, ["planner"]),
    "health": (HEALTH, ["visit_team"]),  # a partner receiving referrals
    "lapsed": (LAPSED, ["control_room", "visit_team", "housing"]),  # agreement expired
}
SUBJECT = "BRW-"  # subject references of the visits this module makes
STREET = "t:browser-street"
PLAN_NAME = "browser test plan"


def username(role: str) -> str:
    return f"t.br-{role.replace('_', '-')}"


PAGES = app_pages()
BY_NAME = {p.name: p for p in PAGES}
# What a page shows when the role may use it, and what it says when it may not.
CONTENT = {
    "map": "Grid square (m)",
    "Control_room": "Address, UPRN or point",
    "Risk": "dwellings in",
    "Planning": "Working cameras",
    "Visits": "Record a visit",
    "Referrals": "referrals you may see",
    "KPI": "Active lines (end of year)",
    "Housing_works": "Open orders",
}
REFUSED: dict[str, tuple[set[str], str]] = {
    "Risk": ({"planner", "health", "lapsed"}, "No risk scores you may see"),
    "Planning": (set(ROLES) - {"analyst", "admin", "planner"}, "may not plan"),
    "Referrals": ({"housing", "planner", "lapsed"}, "No referrals to show"),
    "KPI": (
        {"control_room", "housing", "planner", "health", "lapsed"},
        "the yearly report is for police analysts, admins and visit teams",
    ),
    "Housing_works": (set(ROLES) - {"housing", "lapsed"}, "for a housing provider's staff"),
}


@pytest.fixture(scope="module")
def accounts(owner_engine: Engine, world: World) -> Iterator[dict[str, int]]:
    """A user with a password for each role, in the world's organisations."""
    hashed = hash_password(PASSWORD)  # once: argon2 is slow on purpose
    with owner_engine.begin() as conn:
        ids = {
            role: conn.execute(
                text(
                    "INSERT INTO users (org_id, username, display_name, password_hash, roles) "
                    "VALUES (:o, :u, :u, :h, :r) RETURNING user_id"
                ),
                {"o": org, "u": username(role), "h": hashed, "r": roles},
            ).scalar_one()
            for role, (org, roles) in ROLES.items()
        }
    yield ids
    with owner_engine.begin() as conn:  # kept (visits and plans name them), but unusable
        conn.execute(text("UPDATE users SET active = false WHERE user_id = ANY(:u)"),
                     {"u": list(ids.values())})  # fmt: skip


@dataclass(frozen=True)
class Scenery:
    referral_id: int  # made to the health partner, for it to move on
    marked_uprn: int  # the world's marked address in the north
    own_home: int  # a home of housing provider A


@pytest.fixture(scope="module")
def scenery(owner_engine: Engine, app_engine: Engine, world: World) -> Iterator[Scenery]:
    """What the pages' actions need beyond the world, committed and removed afterwards: risk
    scores for the north (the current model), a street to site cameras on, a referral."""
    with owner_engine.begin() as conn:
        had_model = bool(conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM risk_models WHERE model_version = :v)"),
            {"v": DEFAULT_VERSION}).scalar_one())  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO roads (source_ref, road_class, area_id, geom) SELECT :ref, "
                "'residential', :a, ST_MakeLine(ST_Translate(ST_Centroid(ST_Collect(geom)), "
                "-300, 10), ST_Translate(ST_Centroid(ST_Collect(geom)), 300, 10)) "
                "FROM addresses WHERE area_id = :a"
            ),
            {"ref": STREET, "a": NORTH},
        )
        visit_id = conn.execute(
            text(
                "INSERT INTO visits (area_id, uprn, visited_on, team_org_id, subject_ref, "
                "subject_type) VALUES (:a, :u, current_date, :p, :s, 'class_a_user') "
                "RETURNING visit_id"
            ),
            {"a": NORTH, "u": world.homes_a[3], "p": POLICE, "s": f"{SUBJECT}REFERRAL"},
        ).scalar_one()
        referral_id = conn.execute(
            text(
                "INSERT INTO referrals (visit_id, partner_org_id, service, made_on, area_id) "
                "VALUES (:v, :h, 'food_bank', current_date, :a) RETURNING referral_id"
            ),
            {"v": visit_id, "h": HEALTH, "a": NORTH},
        ).scalar_one()
    with transaction(app_engine, Actor.system()) as conn:
        scoring.score(conn, "addresses", NORTH)
    try:
        yield Scenery(int(referral_id), world.homes_a[1], world.homes_a[0])
    finally:
        _remove_scenery(owner_engine, had_model)


def _remove_scenery(owner_engine: Engine, had_model: bool) -> None:
    visits = "SELECT visit_id FROM visits WHERE subject_ref LIKE :s"
    with owner_engine.begin() as conn:
        for sql in (
            f"DELETE FROM referrals WHERE visit_id IN ({visits})",
            f"DELETE FROM harm_reduction_items WHERE visit_id IN ({visits})",
            f"DELETE FROM protection_plans WHERE visit_id IN ({visits})",
            f"DELETE FROM safe_markers WHERE visit_id IN ({visits})",
            "DELETE FROM visits WHERE subject_ref LIKE :s",
            "DELETE FROM coverage_plans WHERE name = :plan",
            "DELETE FROM roads WHERE source_ref = :street",
            "DELETE FROM risk_explanations WHERE model_version = :v AND area_id = :a",
            "DELETE FROM risk_scores WHERE model_version = :v AND area_id = :a",
            "DELETE FROM risk_runs WHERE model_version = :v AND area_id = :a",
        ):
            conn.execute(text(sql), {"s": f"{SUBJECT}%", "plan": PLAN_NAME, "street": STREET,
                                     "v": DEFAULT_VERSION, "a": NORTH})  # fmt: skip
        if not had_model:
            drop_default_model_if_unused(conn)


@pytest.fixture(scope="module")
def app_url(
    test_db_url: URL,
    accounts: dict[str, int],
    scenery: Scenery,
    committed_map_fixture: MapFixture,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    require_chromium()
    with streamlit_server(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(app_url: str) -> Iterator[Browser]:
    with sync_playwright() as p:  # Debian's chromium: never `playwright install`
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def tab(chromium: Browser, app_url: str) -> Iterator[Tab]:
    tab = Tab(chromium, app_url, username, PASSWORD)
    yield tab
    tab.context.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as(tab: Tab, role: str) -> None:
    """Each page shows its content or a clear refusal, never a traceback; a screenshot each."""
    for target in PAGES:
        page = tab.open(role, target)
        refused_roles, refusal = REFUSED.get(target.name, (set(), ""))
        if role in refused_roles:
            page.locator(ALERT, has_text=refusal).wait_for()
        elif target.name in CONTENT:
            page.get_by_text(CONTENT[target.name]).first.wait_for()
        if target.name == "map":
            page.locator(MAP_CANVAS).first.wait_for()
        screenshot(page, f"{role}__{target.name}")
        assert_no_traceback(page)


def test_the_map_draws_streets_and_stations(tab: Tab) -> None:
    page = tab.open("planner", BY_NAME["map"])
    chart = page.locator('[data-testid="stDeckGlJsonChart"]').first
    chart.locator("canvas").wait_for()
    # deck.gl draws after the canvas exists: look until the chart holds a drawn map (the
    # fixture's Barrow area, streets and stations), not the empty grey box.
    deadline = time.monotonic() + 60
    colours = distinct_colours(chart.screenshot())
    while colours <= 100 and time.monotonic() < deadline:
        colours = distinct_colours(chart.screenshot())  # each shot waits for a new frame
    assert colours > 100, f"the map looks blank ({colours} colours)"
    screenshot(page, "planner__map__drawn")


def _audited(owner_engine: Engine, user_id: int, reason: str) -> int:
    with owner_engine.connect() as conn:
        return int(conn.execute(
            text("SELECT count(*) FROM audit_log WHERE actor_user_id = :u AND justification = :r"),
            {"u": user_id, "r": reason}).scalar_one())  # fmt: skip


def test_control_room_lookup_shows_the_marker_and_nothing_to_the_next_user(
    tab: Tab, scenery: Scenery, accounts: dict[str, int], owner_engine: Engine
) -> None:
    control_room = BY_NAME["Control_room"]
    page = tab.open("control_room", control_room)
    reason = "browser test: 999 call, concern for welfare"
    page.get_by_label("Address, UPRN or point", exact=True).fill(str(scenery.marked_uprn))
    page.get_by_label("Reason (audited)", exact=True).fill(reason)
    rerun(page, page.get_by_role("button", name="Look up").click)
    page.get_by_text("SAFE MARKER ON THIS ADDRESS").wait_for()
    assert page.get_by_text("Attend in pairs").count() >= 1  # the grading advice
    page.locator(MAP_CANVAS).first.wait_for()
    screenshot(page, "control_room__Control_room__lookup")
    assert_no_traceback(page)
    assert _audited(owner_engine, accounts["control_room"], reason) == 1  # with its reason
    # The operator signs out; a colleague signs in on the same tab and page. The last search
    # must be gone, not shown again nor re-run (and audited) in the colleague's name.
    page = tab.open("visit_team", control_room)
    assert page.get_by_label("Address, UPRN or point", exact=True).input_value() == ""
    assert page.get_by_text("SAFE MARKER").count() == 0
    assert _audited(owner_engine, accounts["visit_team"], reason) == 0


def test_control_room_lookup_refuses_a_housing_provider(tab: Tab, scenery: Scenery) -> None:
    page = tab.open("housing", BY_NAME["Control_room"])
    page.get_by_label("Address, UPRN or point", exact=True).fill(str(scenery.own_home))
    page.get_by_label("Reason (audited)", exact=True).fill("curious")
    rerun(page, page.get_by_role("button", name="Look up").click)
    page.locator(ALERT, has_text="SAFE markers are for police roles").wait_for()
    assert page.get_by_text("SAFE MARKER ON THIS").count() == 0
    assert page.locator(MAP_CANVAS).count() == 0
    screenshot(page, "housing__Control_room__refused")


@pytest.mark.parametrize(("role", "scored"), [("analyst", True), ("housing", False)])
def test_risk_page_explains_an_address(tab: Tab, scenery: Scenery, role: str, scored: bool) -> None:
    """Police get the score and its reasons; a provider its own home's band, no score."""
    page = tab.open(role, BY_NAME["Risk"])
    page.get_by_label("UPRN", exact=True).fill(str(scenery.own_home))
    if scored:
        page.get_by_label("Reason (logged)", exact=True).fill("browser test: model check")
    rerun(page, page.get_by_role("button", name="Explain").click)
    band = page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"^Band: "))
    band.wait_for()
    assert ("(score " in band.inner_text()) is scored
    screenshot(page, f"{role}__Risk__explain")
    assert_no_traceback(page)


def test_planning_run_shows_and_saves_chosen_sites(
    tab: Tab, scenery: Scenery, accounts: dict[str, int], owner_engine: Engine
) -> None:
    page = tab.open("planner", BY_NAME["Planning"])
    page.get_by_label("New sites", exact=True).fill("2")
    page.get_by_label("Save as (optional)", exact=True).fill(PLAN_NAME)
    rerun(page, page.get_by_role("button", name="Run").click, timeout_ms=120_000)
    page.get_by_role("heading", name=re.compile(r"^Result: optimal")).wait_for()
    screenshot(page, "planner__Planning__run")
    assert_no_traceback(page)
    with owner_engine.connect() as conn:
        saved = conn.execute(
            text("SELECT org_id, created_by, results FROM coverage_plans WHERE name = :n"),
            {"n": PLAN_NAME},
        ).one()
    assert saved.org_id == PLANNERS and saved.created_by == accounts["planner"]
    assert 1 <= len(saved.results["chosen"]) <= 2


def _visits_by(owner_engine: Engine, user_id: int) -> list[Any]:
    with owner_engine.connect() as conn:
        return list(conn.execute(
            text("SELECT uprn, subject_ref, team_user_ids FROM visits WHERE created_by = :u"),
            {"u": user_id}).all())  # fmt: skip


def test_visits_page_refuses_an_invalid_visit_then_saves_a_valid_one(
    tab: Tab, scenery: Scenery, world: World, accounts: dict[str, int], owner_engine: Engine
) -> None:
    page = tab.open("visit_team", BY_NAME["Visits"])
    address = page.get_by_label("Address (as given)", exact=True)
    address.fill("3 Test Street")
    rerun(page, lambda: address.press("Enter"))
    page.get_by_text(f"(UPRN {world.homes_a[2]})").wait_for()
    for member in (username("visit_team"), world.actors["visit_team"].username):
        choose(page, "stMultiSelect", "Team (officer", member.replace("_", "-"))
    subject = page.get_by_label("Subject reference (no names)", exact=True)
    subject.fill("x!")  # not a pseudonymous reference
    rerun(page, lambda: subject.press("Enter"))
    rerun(page, page.get_by_role("button", name="Save visit").click)
    page.locator(ALERT, has_text="subject_ref").wait_for()
    screenshot(page, "visit_team__Visits__refused")
    assert _visits_by(owner_engine, accounts["visit_team"]) == []
    subject.fill(f"{SUBJECT}0001")
    rerun(page, lambda: subject.press("Enter"))
    rerun(page, page.get_by_role("button", name="Save visit").click)
    page.locator(ALERT, has_text=re.compile(r"Visit \d+ saved")).wait_for()
    screenshot(page, "visit_team__Visits__saved")
    assert_no_traceback(page)
    [(uprn, subject_ref, team)] = _visits_by(owner_engine, accounts["visit_team"])
    assert (uprn, subject_ref) == (world.homes_a[2], f"{SUBJECT}0001")
    assert set(team) == {accounts["visit_team"], world.actors["visit_team"].user_id}


def test_a_partner_moves_its_referral_on(tab: Tab, scenery: Scenery, owner_engine: Engine) -> None:
    page = tab.open("health", BY_NAME["Referrals"])
    choose(page, "stSelectbox", "Referral", f"{scenery.referral_id}: food bank (made)")
    page.get_by_label("Outcome", exact=True).fill("browser test: first appointment booked")
    rerun(page, page.get_by_role("button", name="Update").click)
    page.get_by_text(f"Referral {scenery.referral_id} is now accepted.").wait_for()
    screenshot(page, "health__Referrals__update")
    assert_no_traceback(page)
    with owner_engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, outcome, version FROM referrals WHERE referral_id = :r"),
            {"r": scenery.referral_id},
        ).one()
    assert tuple(row) == ("accepted", "browser test: first appointment booked", 2)


def test_kpi_page_shows_this_years_figures(tab: Tab, scenery: Scenery) -> None:
    page = tab.open("analyst", BY_NAME["KPI"])
    year = page.get_by_label("Year", exact=True)
    year.fill(str(date.today().year))
    rerun(page, lambda: year.press("Enter"), timeout_ms=120_000)
    metrics = page.get_by_test_id("stMetric")
    metrics.filter(has_text="Visits").first.wait_for()
    assert metrics.count() >= 7
    assert page.get_by_role("button", name="Download the HTML report").count() == 1
    screenshot(page, "analyst__KPI__this_year")
    assert_no_traceback(page)
