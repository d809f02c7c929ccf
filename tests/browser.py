"""Shared by the browser tests: Debian's Chromium (required in CI), a real `streamlit run` of
the app against the test database, and the few moves that drive a Streamlit page through
Playwright: sign in and out, go to a page, act and wait for the script run to finish, pick in
a select, check for tracebacks, and save a screenshot under artifacts/screenshots/."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from hardening.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# DESIGN.md "The map": software WebGL, so deck.gl draws in a headless browser.
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"  # CI keeps this folder as artefacts
EXCEPTION = '[data-testid="stException"]'
ALERT = '[data-testid="stAlert"]'
MAP_CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'
TIMEOUT_MS = 60_000

# Streamlit marks its root with the script's state (running / notRunning). Before an action we
# watch that attribute, so the wait afterwards is for the run the action caused, not the last.
_ARM = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__hardeningRan = false;
  window.__hardeningStates = [app.getAttribute('data-test-script-state')];
  if (window.__hardeningObserver) window.__hardeningObserver.disconnect();
  window.__hardeningObserver = new MutationObserver(() => {
    window.__hardeningRan = true;
    const now = document.querySelector('[data-testid="stApp"]');
    window.__hardeningStates.push(now?.getAttribute('data-test-script-state'));
  });
  // The whole document, not just the root: were React to replace the root, we still see it.
  window.__hardeningObserver.observe(document.body, {attributes: true, subtree: true,
                                                     attributeFilter: ['data-test-script-state']});
}"""
_IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
_SETTLED = f"() => window.__hardeningRan === true && ({_IDLE})()"
LOST_ACTION_MS = 20_000  # no script run this long after an action: it was lost, do it again
_CONTENT_HEIGHT = """() => Math.max(...Array.from(document.querySelectorAll(
  '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebarContent"]'
)).map(e => e.scrollHeight), 0)"""


def require_chromium() -> None:
    """Fail in CI, skip elsewhere, when Debian's chromium is missing (required in CI)."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium (required in CI)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)  # outside CI only: in CI the branch above fails


@contextmanager
def streamlit_server(log_dir: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, with a worker for the jobs its pages
    queue (as `make run`); yields its URL once healthy."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log_path = log_dir / "streamlit.log"
    with log_path.open("w") as log, (log_dir / "worker.log").open("w") as worker_log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("hardening")), "worker", "--nice", "0"],
            cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=worker_log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],  # an edit mid-run must not prompt a rerun
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),  # HARDENING_DATABASE_URL points at the test database
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)
            yield url
        finally:
            for process in (proc, worker):
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


def rerun(page: Page, action: Callable[[], object], timeout_ms: float = TIMEOUT_MS) -> None:
    """Do `action` (a click, an Enter) and wait until the script run it causes has finished."""
    page.evaluate(_ARM)
    action()
    try:
        page.wait_for_function(_SETTLED, timeout=min(timeout_ms, LOST_ACTION_MS))
        return
    except PlaywrightTimeoutError:
        if page.evaluate("() => window.__hardeningRan"):
            wait_idle(page, timeout_ms)  # a long run: it started, wait for its end
            return
    # No run started at all: the action was lost (seen in CI on a button click while the
    # page's socket was busy); doing it once more is safe, since nothing ran the first time.
    page.evaluate(_ARM)
    action()
    try:
        page.wait_for_function(_SETTLED, timeout=timeout_ms)
    except PlaywrightTimeoutError as exc:
        states = page.evaluate("() => window.__hardeningStates")
        raise AssertionError(
            f"no script run finished after the action; states seen {states}"
        ) from exc


def enter_text(page: Page, field: Locator, value: str, timeout_ms: float = TIMEOUT_MS) -> None:
    """Type `value` into a text or number field and press Enter, waiting for the run it causes.
    The field is filled inside the action, so when the action is repeated (a run from an earlier
    action re-rendered the field and wiped what was typed: seen in CI under load) it is typed
    again, not an unchanged field entered twice."""

    def type_and_enter() -> None:
        field.fill(value)
        field.press("Enter")

    wait_idle(page, timeout_ms)
    rerun(page, type_and_enter, timeout_ms)


def wait_idle(page: Page, timeout_ms: float = TIMEOUT_MS) -> None:
    """Wait until no script run is in progress (after waiting for what the run shows)."""
    page.wait_for_function(_IDLE, timeout=timeout_ms)


def start_sign_in(page: Page, username: str, password: str) -> None:
    """Fill in and submit the sign-in form the tab shows (or is about to show)."""
    page.get_by_label("Username", exact=True).fill(username, timeout=TIMEOUT_MS)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def finish_sign_in(page: Page, username: str) -> None:
    """Wait until the tab is signed in as `username` and its page has finished running."""
    page.get_by_text(f"Signed in as {username} (").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)


def sign_out(page: Page) -> None:
    """Press the sidebar's Sign out; returns once the sign-in form is back."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username", exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)


def assert_no_traceback(page: Page) -> None:
    """A page may refuse or warn, but never show a Python exception."""
    shown = page.locator(EXCEPTION)
    assert shown.count() == 0, shown.first.inner_text()


def screenshot(page: Page, name: str) -> Path:
    """The whole page, as artifacts/screenshots/<name>.png. Streamlit scrolls inside its own
    panes, so a full-page shot would stop at the window: the window is made as tall as the
    content for the shot, then put back."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    assert size is not None
    tall = int(page.evaluate(_CONTENT_HEIGHT))
    if tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": tall})
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def choose(page: Page, testid: str, label: str, option: str) -> None:
    """Pick `option` in the Streamlit select labelled `label` (testid stSelectbox or
    stMultiSelect) and wait for the run it causes."""
    select = page.get_by_test_id(testid).filter(has_text=label)
    if testid == "stSelectbox" and select.get_by_role("combobox").input_value() == option:
        return  # already chosen: picking it again would not rerun the script
    select.click()
    rerun(page, page.get_by_role("option", name=option, exact=True).click)


def distinct_colours(png: bytes) -> int:
    """How many colours an image holds: a blank or half-drawn map has a handful."""
    with Image.open(io.BytesIO(png)) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(found) if found is not None else 1 << 20


@dataclass(frozen=True)
class AppPage:
    slug: str  # the URL path Streamlit gives the page ("" for app.py)
    name: str  # for test ids and screenshot names
    title: str  # what its st.title shows


def _title(source: str) -> str:
    found = re.search(r"st\.title\(\s*\"([^\"]+)\"", source)
    assert found, 'every page calls st.title("..."): the browser tests wait for it'
    return found.group(1)


def app_pages() -> list[AppPage]:
    """app.py and every page beside it (a page added later is tested without a change here)."""
    out = [AppPage("", "map", _title((PROJECT_ROOT / "app.py").read_text()))]
    for path in sorted((PROJECT_ROOT / "pages").glob("*.py")):
        slug = re.sub(r"^\d+_", "", path.stem)
        out.append(AppPage(slug, slug, _title(path.read_text())))
    return out


def listed_pages(page: Page, url: str) -> list[str]:
    """The slugs of the pages the sidebar lists, in order ("" for the map)."""
    page.get_by_text("Signed in as ").wait_for()
    links = page.locator('[data-testid="stSidebarNav"] a')
    if links.count() == 0:  # one page only: Streamlit lists none, and that one is the map
        return [""]
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    return [href.removeprefix(url).strip("/") for href in hrefs]


def pick_date(page: Page, label: str, value: str) -> None:
    """Type a date as the input shows it ("17/03/2027" for DD/MM/YYYY) into the date input
    `label` (a field of day, month and year parts), then leave it (a click on the page's
    title: Enter does not commit it), and wait for the run."""
    field = page.get_by_role("group", name=label, exact=True)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(re.sub(r"\D", "", value))
    rerun(page, page.get_by_role("heading", level=1).first.click)


class Tab:
    """One browser tab that signs in as one user after another (sign out, sign in), so the
    app's front end loads once; the app must then keep nothing of one user for the next."""

    def __init__(
        self, browser: Browser, url: str, username: Callable[[str], str], password: str
    ) -> None:
        self.url = url
        self.to_username = username  # who (e.g. a role) -> the username to sign in with
        self.password = password
        self.context = browser.new_context(viewport={"width": 1300, "height": 1000})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.who: str | None = None
        self.slug = ""  # the page the tab is on

    def signed_in(self, who: str) -> Page:
        if self.who != who:
            previous, self.who = self.who, None  # unknown until the switch has worked
            if previous is None:  # first use, or after a failure: a fresh session
                self.page.goto(self.url, wait_until="domcontentloaded")
                self.slug = ""
            else:
                sign_out(self.page)
            start_sign_in(self.page, self.to_username(who), self.password)
            finish_sign_in(self.page, self.to_username(who))
            self.who = who
            # The page signed in on: the last one, if this user may use it, else the map.
            self.slug = self.page.url.removeprefix(self.url).strip("/").split("?")[0]
        return self.page

    def open(self, who: str, target: AppPage) -> Page:
        """The tab, signed in as `who`, once `target` has finished running (`target` must be
        one of the pages the sidebar lists for `who`)."""
        page = self.signed_in(who)
        if self.slug != target.slug:  # through the sidebar: a reload would sign the tab out
            page.locator(f'[data-testid="stSidebarNav"] a[href="{self.url}/{target.slug}"]').click()
            self.slug = target.slug
        try:  # the title is drawn by the new page's run, so the idle wait is for that run
            page.get_by_role("heading", name=target.title, level=1).wait_for()
        except PlaywrightTimeoutError as exc:
            shot = screenshot(page, f"FAILED__{who}__{target.name}")
            self.who = None  # the next test starts from a fresh session
            raise AssertionError(f"{target.title!r} never showed (at {page.url}; {shot})") from exc
        wait_idle(page)
        assert_no_traceback(page)
        return page


@contextmanager
def app_tab(log_dir: Path, username: str, password: str) -> Iterator[Tab]:
    """The app served over the test database, Debian's chromium, and one tab that signs in as
    `username`: what a journey test of one person's page needs."""
    require_chromium()
    with streamlit_server(log_dir) as url, sync_playwright() as p:  # never `playwright install`
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = Tab(browser, url, lambda _: username, password)
        try:
            yield tab
        finally:
            tab.context.close()
            browser.close()
