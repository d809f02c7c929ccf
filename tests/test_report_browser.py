"""The HTML report renders in headless Chromium (Debian's, driven by Playwright) with its
charts decoded and every section's table: the screenshot is kept for a human to look at
(artifacts/screenshots/kpi_report.png), and checked not blank."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, screenshot
from playwright.sync_api import sync_playwright
from test_report_publish import small_kpi

from hardening.reports.html import render
from hardening.reports.publish import publish
from hardening.reports.tables import sections

pytestmark = pytest.mark.browser


def test_report_screenshot(tmp_path: Path) -> None:
    require_chromium()
    figures = publish(small_kpi())
    page_file = tmp_path / "report.html"
    page_file.write_text(render(figures, "Test Area"), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.as_uri())
            images = page.locator("img")
            assert images.count() == 4
            widths = [images.nth(i).evaluate("e => e.naturalWidth") for i in range(4)]
            assert all(w > 200 for w in widths)  # every base64 PNG decoded
            assert page.locator(".tile").count() == 8
            assert page.locator("table").count() == len(sections(figures))
            shot = screenshot(page, "kpi_report")
        finally:
            browser.close()
    pixels = mpimg.imread(str(shot))
    assert pixels.shape[0] > 900 and float(pixels.std()) > 0.05  # not a blank page
