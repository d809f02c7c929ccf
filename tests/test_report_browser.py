"""The HTML report renders in headless Chromium (Debian's, driven by Playwright) with its
charts decoded: the screenshot is written for a human to look at, and checked not blank."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import pytest
from playwright.sync_api import sync_playwright
from test_report_kpi import _small_kpi

from hardening.reports.html import render
from hardening.reports.publish import publish

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


def test_report_screenshot(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required: apt-get install chromium")
    page_file = tmp_path / "report.html"
    page_file.write_text(render(publish(_small_kpi()), "Test Area"), encoding="utf-8")
    shot = tmp_path / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.as_uri())
            images = page.locator("img")
            assert images.count() == 3
            widths = [images.nth(i).evaluate("e => e.naturalWidth") for i in range(3)]
            assert all(w > 200 for w in widths)  # every base64 PNG decoded
            assert page.locator(".tile").count() == 8
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    pixels = mpimg.imread(str(shot))
    assert pixels.shape[0] > 900 and float(pixels.std()) > 0.05  # not a blank page
