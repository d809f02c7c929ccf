"""Screenshot a Streamlit page with its deck.gl map in headless Chromium (Debian's, via
Playwright; never `playwright install`).

    HARDENING_PASSWORD=... .venv/bin/python scripts/screenshot.py http://127.0.0.1:8501 \
        artifacts/screenshots/map.png --username demo.planner

Signs in through the page's own form when --username is given (the password comes from
$HARDENING_PASSWORD, else a prompt: never the command line), waits for the map canvas, then
until the map stops changing (deck.gl draws after the canvas exists), saves the full page and
prints a JSON summary on stdout: the map's size and colour count, and any request that left the
machine (there should be none: no basemap).
The browser tests import `capture` from here, so both check the page the same way.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import Locator, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
MAP = '[data-testid="stDeckGlJsonChart"]'
ALERT = '[data-testid="stAlert"]'
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PASSWORD_ENV = "HARDENING_PASSWORD"


class SignInError(RuntimeError):
    """The page did not let us in (wrong credentials, or it never showed the map)."""


@dataclass
class Capture:
    page_png: Path
    map_png: bytes = field(repr=False)
    map_colours: int
    outside_requests: list[str]
    console_errors: list[str]
    # Whether a map was on the page while it asked us to sign in (it must not be).
    map_before_sign_in: bool | None = None

    def summary(self) -> dict[str, object]:
        with Image.open(io.BytesIO(self.map_png)) as image:
            size = image.size
        return {
            "page_png": str(self.page_png),
            "map_size": size,
            "map_colours": self.map_colours,
            "outside_requests": self.outside_requests,
            "console_errors": self.console_errors,
            "map_before_sign_in": self.map_before_sign_in,
        }


def distinct_colours(png: bytes) -> int:
    """How many colours the image holds: a blank or half-drawn map has very few."""
    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(colours) if colours is not None else 1 << 20


def _settled_map(chart: Locator, timeout_s: float, min_colours: int) -> bytes:
    """The chart's image once two shots in a row agree and it is not blank."""
    deadline = time.monotonic() + timeout_s
    previous = b""
    while True:
        shot = chart.screenshot()
        if shot == previous and distinct_colours(shot) >= min_colours:
            return shot
        if time.monotonic() > deadline:
            return shot  # the caller judges what it got
        previous = shot
        time.sleep(0.75)


def _sign_in(page: Page, username: str, password: str, timeout_s: float) -> bool:
    """Fill in the page's sign-in form and submit it; wait until the map (or a refusal)
    appears. Returns whether a map was already on the page beside the form."""
    username_box = page.get_by_label("Username", exact=True)
    username_box.wait_for(timeout=timeout_s * 1000)
    map_shown = page.locator(MAP).count() > 0
    username_box.fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(f"{MAP} canvas, {ALERT}", timeout=timeout_s * 1000)
    if page.locator(f"{MAP} canvas").count() == 0:
        raise SignInError(f"sign-in refused: {page.locator(ALERT).first.inner_text()}")
    return map_shown


def capture(
    url: str,
    out: Path,
    *,
    timeout_s: float = 90.0,
    viewport: tuple[int, int] = (1440, 1000),
    min_colours: int = 8,
    executable: str = CHROMIUM,
    credentials: tuple[str, str] | None = None,
) -> Capture:
    """credentials = (username, password): sign in through the page's form first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    own_host = urlsplit(url).hostname
    outside: list[str] = []
    console_errors: list[str] = []
    map_before_sign_in: bool | None = None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})

            def on_request(request: object) -> None:
                target = str(getattr(request, "url", ""))
                host = urlsplit(target).hostname
                if host and host not in LOCAL_HOSTS and host != own_host:
                    outside.append(target)

            page.on("request", on_request)
            page.on(
                "console",
                lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
            )
            page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
            if credentials is not None:
                map_before_sign_in = _sign_in(page, *credentials, timeout_s)
            page.wait_for_selector(f"{MAP} canvas", timeout=timeout_s * 1000)
            chart = page.locator(MAP).first
            map_png = _settled_map(chart, timeout_s / 3, min_colours)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return Capture(
        out, map_png, distinct_colours(map_png), outside, console_errors, map_before_sign_in
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--chromium", default=CHROMIUM, help=f"browser binary ({CHROMIUM})")
    parser.add_argument(
        "--username", help=f"sign in as this user (password from ${PASSWORD_ENV} or a prompt)"
    )
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"error: {args.chromium} not found: apt-get install -y chromium", file=sys.stderr)
        return 1
    credentials = None
    if args.username:
        prompt = f"password for {args.username}: "
        credentials = (args.username, os.environ.get(PASSWORD_ENV) or getpass.getpass(prompt))
    try:
        result = capture(
            args.url,
            args.out,
            timeout_s=args.timeout,
            viewport=(args.width, args.height),
            executable=args.chromium,
            credentials=credentials,
        )
    except SignInError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.summary(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
