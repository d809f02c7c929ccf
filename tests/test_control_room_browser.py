"""The control-room page in a real browser: `streamlit run app.py` against the test database,
Debian's headless Chromium through Playwright. Signs in through the form as a committed
control-room user, searches for a flat in a marked block, and checks the red banner, the
advice and the drawn offline map; the screenshot goes to artifacts/screenshots/."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from browser import CHROMIUM, require_chromium, streamlit_server
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from test_control_room_page import committed_town
from test_control_room_town import Town
from world import POLICE

from hardening.db.engine import Actor, transaction
from hardening.security.users import add_user
from hardening.settings import PROJECT_ROOT

__all__ = ["committed_town"]  # a fixture, imported to be used here
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
SCREENSHOT = PROJECT_ROOT / "artifacts" / "screenshots" / "control_room.png"
USER, PASSWORD = "t.cr-browser", "control-room-browser-test"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def operator(owner_engine: Engine) -> Iterator[str]:
    with transaction(owner_engine, Actor.system()) as conn:
        add_user(conn, USER, POLICE, ["control_room"], PASSWORD, "Browser test operator")
    yield USER
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM api_tokens WHERE user_id IN (SELECT user_id FROM users "
                          "WHERE username = :u)"), {"u": USER})  # fmt: skip
        conn.execute(text("UPDATE users SET active = false WHERE username = :u"), {"u": USER})


@pytest.fixture(scope="module")
def streamlit_url(
    test_db_url: URL, committed_town: Town, operator: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    require_chromium()
    with streamlit_server(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def test_a_search_shows_the_block_marker_banner_and_the_map(streamlit_url: str) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1500})
            page.on(
                "request",
                lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None,
            )
            page.goto(f"{streamlit_url}/Control_room", wait_until="domcontentloaded")
            page.get_by_label("Username", exact=True).fill(USER, timeout=60_000)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            search = page.get_by_label("Address, UPRN or point", exact=True)
            search.fill("flat 1, 12 ramsden st, testbury", timeout=60_000)
            page.get_by_label("Reason (audited)", exact=True).fill("999 call: welfare concern")
            page.get_by_role("button", name="Look up").click()
            page.get_by_text("SAFE MARKER ON THIS BLOCK").wait_for(timeout=60_000)
            chart = page.locator('[data-testid="stDeckGlJsonChart"]').first
            chart.locator("canvas").first.wait_for(timeout=60_000)
            time.sleep(2.0)  # deck.gl draws after the canvas exists
            map_png = chart.screenshot()
            assert page.get_by_text("Threat to life notice served").count() >= 1
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    with Image.open(io.BytesIO(map_png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) >= 4  # something drawn, not a blank box
    assert outside == []  # no basemap, no outside request
