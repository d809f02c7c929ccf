"""Every Streamlit page in a real browser, as each role: one `streamlit run app.py` over the test
database, one Debian Chromium (Playwright) and one tab, signed in through the form as each
role in turn (the tab signs out between roles, so the app must keep nothing for the next one).

The sidebar lists each role exactly the pages it may use (the map first); each listed page
shows its content, never a refusal or a Python traceback. Each page's screenshot goes to
artifacts/screenshots/<role>__<page>.png (CI keeps the folder as artefacts). The main action of
each page is then done as the role it is meant for, twice with different inputs, and checked on
the screen against the service's answer and, where it writes, in the database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
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
    enter_text,
    finish_sign_in,
    listed_pages,
    pick_date,
    require_chromium,
    rerun,
    screenshot,
    start_sign_in,
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
    SOUTH,
    World,
    drop_default_model_if_unused,
)

from hardening.db.engine import Actor, transaction
from hardening.reports.html import tile_pairs
from hardening.reports.publish import published_kpi, shown
from hardening.risk import scoring
from hardening.risk.layer import grid
from hardening.risk.model import DEFAULT_VERSION
from hardening.security.users import add_user
from hardening.visits.due import who_to_visit_next
from hardening.visits.route import town_of

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
# What a page shows when the role may use it.
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
# Exactly what the sidebar lists each role, in order (the map first): the pages its roles and
# its organisation's agreement (tests/world.py) let it use. The control room does not move
# referrals; a partner (health) has only its referrals; an expired agreement leaves the map.
LISTED: dict[str, list[str]] = {
    "control_room": ["map", "Control_room", "Risk"],
    "visit_team": ["map", "Control_room", "Risk", "Visits", "Referrals", "KPI"],
    "analyst": ["map", "Control_room", "Risk", "Planning", "Referrals", "KPI"],
    "admin": ["map", "Control_room", "Risk", "Planning", "Visits", "Referrals", "KPI"],
    "housing": ["map", "Risk", "Housing_works"],
    "planner": ["map", "Planning"],
    "health": ["map", "Referrals"],
    "lapsed": ["map"],
}
SLUG_NAME = {p.slug: p.name for p in PAGES}
# Codes the Risk page must show as words.
CODES = {"very_high", "measure_code", "typical_cost_pence", "logit_change", "score_reduction",
         "risk_factor", "protection_door"}  # fmt: skip


@pytest.fixture(scope="module")
def accounts(owner_engine: Engine, world: World) -> Iterator[dict[str, int]]:
    """A user with a password for each role, in the world's organisations."""
    with transaction(owner_engine, Actor.system()) as conn:
        ids = {
            role: add_user(conn, username(role), org, roles, PASSWORD)
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
    """The sidebar lists exactly the role's pages; each shows its content, never a refusal or
    a traceback; a screenshot each."""
    page = tab.open(role, BY_NAME["map"])
    listed = [SLUG_NAME[slug] for slug in listed_pages(page, tab.url)]
    assert listed == LISTED[role]
    assert page.locator('[data-testid="stSidebarNav"]').get_by_text("app", exact=True).count() == 0
    for name in listed:
        page = tab.open(role, BY_NAME[name])
        page.get_by_text(CONTENT[name]).first.wait_for()
        if name == "map":
            page.locator(MAP_CANVAS).first.wait_for()
        assert page.locator(ALERT).filter(has_text="may not").count() == 0
        screenshot(page, f"{role}__{name}")
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


def test_a_housing_provider_is_not_offered_the_control_room(tab: Tab, scenery: Scenery) -> None:
    """Not listed, and a link to it lands on the map after signing in (the look-up's own
    refusal of partners is tested in test_control_room_page.py)."""
    page = tab.open("housing", BY_NAME["map"])
    assert "Control_room" not in listed_pages(page, tab.url)
    tab.who = None  # the reload below starts a new session: the next test signs in afresh
    page.goto(f"{tab.url}/Control_room", wait_until="domcontentloaded")
    start_sign_in(page, username("housing"), PASSWORD)
    finish_sign_in(page, username("housing"))
    page.get_by_role("heading", name=BY_NAME["map"].title, level=1).wait_for()
    assert page.get_by_label("Address, UPRN or point", exact=True).count() == 0
    screenshot(page, "housing__Control_room__not_offered")
    assert_no_traceback(page)


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
    # The measures that would lower it, in words: police also get the cost and the effect.
    measures = page.get_by_test_id("stTable")
    measures.get_by_text("Fitted to").wait_for()
    shown = measures.inner_text()
    assert ("Typical cost" in shown and "£" in shown and "Lowers the score by" in shown) is scored
    assert not CODES & set(re.findall(r"[a-z]+_[a-z_]+", page.inner_text("body")))
    screenshot(page, f"{role}__Risk__explain")
    assert_no_traceback(page)


@pytest.mark.parametrize(("role", "world_actor"), [("control_room", "control_room"),
                                                   ("housing", "housing_a")])  # fmt: skip
def test_risk_page_redraws_at_each_cell_size(
    tab: Tab, scenery: Scenery, app_engine: Engine, world: World, role: str, world_actor: str
) -> None:
    """Police and a housing provider make the squares bigger, twice: each time the caption
    counts what the one risk grid gives the role at that size, and the map is drawn again."""
    page = tab.open(role, BY_NAME["Risk"])
    slider = page.get_by_test_id("stSlider").filter(has_text="Cell size (m)").get_by_role("slider")
    for size in (500, 1000):
        rerun(page, lambda: slider.press("ArrowRight"))
        cells = _as(app_engine, world, world_actor, grid, size)
        assert cells, f"{role} has scored homes to show"
        dwellings = sum(c.dwellings for c in cells)
        squares = f"{len(cells):,} cell{'s' if len(cells) != 1 else ''}"
        expected = f"{dwellings:,} dwellings in {squares} of {size} m in all your areas."
        page.get_by_text(expected).wait_for()
        page.locator(MAP_CANVAS).first.wait_for()
        for label in ("Very high", "Medium", "area boundary"):  # bands and legend, in words
            assert page.get_by_text(label).count() >= 1, label
        assert not CODES & set(re.findall(r"[a-z]+_[a-z_]+", page.inner_text("body")))
        screenshot(page, f"{role}__Risk__cells_{size}")
    assert_no_traceback(page)


def test_risk_page_audits_the_ranking_for_two_years(tab: Tab, scenery: Scenery) -> None:
    """An analyst audits the ranking's fairness for one year, then another: the page shows
    the second year's figures, not the first's."""
    page = tab.open("analyst", BY_NAME["Risk"])
    this_year = date.today().year
    for year in (this_year, this_year - 1):
        page.get_by_label("Year", exact=True).fill(str(year))
        rerun(page, page.get_by_role("button", name="Audit the ranking").click,
              timeout_ms=120_000)  # fmt: skip
        screenshot(page, f"analyst__Risk__fairness_{year}")
        caption = page.get_by_test_id("stCaptionContainer").filter(
            has_text=f"as of 1 January {year}"
        )
        caption.wait_for()
        assert f"during {year}" in caption.inner_text()
        assert page.get_by_text(f"1 January {year + 1}").count() == 0  # not the year before's
        for heading in ("By IMD decile", "By tenure", "By area"):
            page.get_by_text(heading, exact=True).wait_for()
        assert page.get_by_test_id("stDataFrame").count() >= 3
    assert_no_traceback(page)


def test_planning_run_shows_and_saves_chosen_sites(
    tab: Tab, scenery: Scenery, accounts: dict[str, int], owner_engine: Engine
) -> None:
    page = tab.open("planner", BY_NAME["Planning"])
    page.get_by_label("New sites", exact=True).fill("2")
    page.get_by_label("Save as (optional)", exact=True).fill(PLAN_NAME)
    rerun(page, page.get_by_role("button", name="Run").click, timeout_ms=120_000)
    # The plan is a job: the page follows it, or shows it when the worker was quicker.
    made = page.get_by_role("heading", name="What the plan buys")
    made.or_(page.get_by_text("CCTV siting plan:")).first.wait_for()
    screenshot(page, "planner__Planning__asked")
    # Leave for the map and come back: the plan is waiting.
    page = tab.open("planner", BY_NAME["map"])
    page = tab.open("planner", BY_NAME["Planning"])
    made = page.get_by_role("heading", name="What the plan buys")
    made.wait_for(timeout=120_000)
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
    enter_text(page, address, "3 Test Street")
    page.get_by_text(f"(UPRN {world.homes_a[2]})").wait_for()
    for member in (username("visit_team"), world.actors["visit_team"].username):
        choose(page, "stMultiSelect", "Team (officer", member.replace("_", "-"))
    subject = page.get_by_label("Subject reference (no names)", exact=True)
    enter_text(page, subject, "x!")  # not a pseudonymous reference
    rerun(page, page.get_by_role("button", name="Save visit").click)
    page.locator(ALERT, has_text="subject_ref").wait_for()
    screenshot(page, "visit_team__Visits__refused")
    assert _visits_by(owner_engine, accounts["visit_team"]) == []
    enter_text(page, subject, f"{SUBJECT}0001")
    rerun(page, page.get_by_role("button", name="Save visit").click)
    page.locator(ALERT, has_text=re.compile(r"Visit \d+ saved")).wait_for()
    screenshot(page, "visit_team__Visits__saved")
    assert_no_traceback(page)
    [(uprn, subject_ref, team)] = _visits_by(owner_engine, accounts["visit_team"])
    assert (uprn, subject_ref) == (world.homes_a[2], f"{SUBJECT}0001")
    assert set(team) == {accounts["visit_team"], world.actors["visit_team"].user_id}


def test_a_partner_moves_its_referral_on(tab: Tab, scenery: Scenery, owner_engine: Engine) -> None:
    page = tab.open("health", BY_NAME["Referrals"])
    choose(page, "stSelectbox", "Referral",
           f"{scenery.referral_id}: food bank (made, {date.today().day} "
           f"{date.today():%b %Y})")  # fmt: skip
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


def _as(app_engine: Engine, world: World, role: str, call: Any, *args: Any, **kw: Any) -> Any:
    """A service's answer for the world's actor of that role (what the page should show)."""
    with transaction(app_engine, world.actors[role]) as conn:
        return call(conn, *args, **kw)


def test_risk_page_map_follows_the_chosen_area(
    tab: Tab, scenery: Scenery, app_engine: Engine, world: World
) -> None:
    """Two areas: the scored one draws its cells over the streets, the other has none."""
    page = tab.open("analyst", BY_NAME["Risk"])
    choose(page, "stSelectbox", "Area", "Test North")
    cells = _as(app_engine, world, "analyst", grid, 250, area_id=NORTH)
    dwellings = sum(c.dwellings for c in cells)
    expected = f"{dwellings:,} dwellings in {len(cells):,} cells of 250 m in Test North."
    page.get_by_text(expected).wait_for()
    chart = page.locator('[data-testid="stDeckGlJsonChart"]').first
    chart.locator("canvas").wait_for()
    deadline = time.monotonic() + 60
    colours = distinct_colours(chart.screenshot())
    while colours <= 30 and time.monotonic() < deadline:  # a white box has a handful
        colours = distinct_colours(chart.screenshot())
    assert colours > 30, f"the risk map looks blank ({colours} colours)"
    screenshot(page, "analyst__Risk__north")
    choose(page, "stSelectbox", "Area", "Test South")  # scored nowhere
    page.locator(ALERT, has_text="No risk scores you may see").wait_for()
    assert page.get_by_text(expected).count() == 0 and page.locator(MAP_CANVAS).count() == 0
    screenshot(page, "analyst__Risk__south")
    assert_no_traceback(page)


def test_visits_route_stays_in_the_chosen_town(
    tab: Tab, scenery: Scenery, app_engine: Engine, world: World
) -> None:
    """Two towns on a day when both markers are due for review: each route visits its own."""
    on = date.today() + timedelta(days=100)
    why = "browser test: planning the day"  # a due list is read with a reason (audited)
    cases = _as(app_engine, world, "visit_team", who_to_visit_next, on, reason=why)
    towns = {town_of(c) for c in cases}
    assert {NORTH, SOUTH} <= towns
    page = tab.open("visit_team", BY_NAME["Visits"])
    page.get_by_role("tab", name="Who to visit next").click()
    pick_date(page, "Day", f"{on:%d/%m/%Y}")
    reason = page.get_by_label("Reason (audited)", exact=True)
    enter_text(page, reason, why)
    page.get_by_text(f"{len(cases)} due.").wait_for()
    for town, home in ((NORTH, world.homes_a[1]), (SOUTH, world.south_homes[0])):
        mine = [c for c in cases if town_of(c) == town]
        choose(page, "stSelectbox", "Town", f"{town} ({len(mine)} due)")
        rerun(page, page.get_by_role("button", name="Plan the day's route").click)
        caption = page.get_by_text(re.compile(rf"the route in {town} starts at 09:00"))
        caption.wait_for()
        address = next(c.full_address for c in cases if c.uprn == home)
        assert address in page.get_by_test_id("stTable").first.inner_text()
        page.locator(MAP_CANVAS).first.wait_for()
        screenshot(page, f"visit_team__Visits__route_{town}")
        assert_no_traceback(page)


def test_analysts_read_referrals_but_do_not_move_them(tab: Tab, scenery: Scenery) -> None:
    page = tab.open("analyst", BY_NAME["Referrals"])
    page.get_by_text("referrals you may see").wait_for()
    page.get_by_text("the partner it was made to move it on").wait_for()
    assert page.get_by_role("button", name="Update").count() == 0
    screenshot(page, "analyst__Referrals__read_only")


def test_kpi_page_shows_each_years_figures(
    tab: Tab, scenery: Scenery, app_engine: Engine, world: World
) -> None:
    page = tab.open("analyst", BY_NAME["KPI"])
    year = page.get_by_label("Year", exact=True)
    seen = []
    for asked in (date.today().year, date.today().year - 1):
        tiles = dict(tile_pairs(_as(app_engine, world, "analyst", published_kpi, asked, None)))
        enter_text(page, year, str(asked), timeout_ms=120_000)
        metrics = page.get_by_test_id("stMetric")
        visits = metrics.filter(has_text="Vulnerability visits").first
        visits.wait_for()
        value = visits.get_by_test_id("stMetricValue").inner_text()
        assert value == shown(tiles["Vulnerability visits"]["this"])
        seen.append(value)
        assert metrics.count() >= 7
        assert page.get_by_role("button", name="Download the HTML report").count() == 1
        screenshot(page, f"analyst__KPI__{asked}")
        assert_no_traceback(page)
    assert seen[0] != seen[1]  # this year's visits, and none the year before
