"""The map in a real browser: `streamlit run app.py` against the test database, driven by
Debian's headless Chromium through Playwright (the routine in scripts/screenshot.py).

Signs in through the page's form as the map fixture's viewer (a committed user whose password
was set with `add_user`), then checks the screenshot, not the page source: the map is drawn
(many colours), stations, working and faulty CCTV and ANPR markers appear in their colours, and
the page asked nothing of any host but its own (no basemap).
"""

from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from browser import require_chromium, streamlit_server
from PIL import Image
from sqlalchemy.engine import URL
from test_app_layers import PASSWORD, VIEWER, MapFixture, committed_map_fixture

from hardening.settings import PROJECT_ROOT

__all__ = ["committed_map_fixture"]  # a fixture, imported to be used here
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"


def _screenshot_module() -> ModuleType:
    name = "hardening_scripts_screenshot"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / "screenshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def streamlit_url(
    test_db_url: URL, committed_map_fixture: MapFixture, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    require_chromium()
    with streamlit_server(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def _pixels_near(png: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    total = 0
    for n, colour in colours:
        assert isinstance(colour, tuple)
        if all(abs(a - b) <= tolerance for a, b in zip(colour, rgb, strict=True)):
            total += n
    return total


@pytest.mark.browser
def test_map_screenshot_shows_points_stations_and_cameras(streamlit_url: str) -> None:
    shot = _screenshot_module()
    out = SCREENSHOTS / "map.png"
    result = shot.capture(streamlit_url, out, timeout_s=90, credentials=(VIEWER, PASSWORD))
    assert out.stat().st_size > 10_000
    assert result.map_before_sign_in is False  # the form first, and no map beside it
    assert result.outside_requests == []
    png = result.map_png
    # A blank or half-drawn canvas has a handful of colours; the drawn map has hundreds.
    assert result.map_colours > 200, result.summary()
    colours = {
        "rail station": (28, 58, 150),
        "bus station": (0, 120, 130),
        "CCTV working": (24, 150, 78),
        "CCTV faulty": (214, 40, 40),
        "ANPR": (128, 50, 170),
        "ground": (250, 248, 242),  # the chart's background, inside areas and out
        "area boundary": (60, 64, 92),
    }
    found = {name: _pixels_near(png, rgb) for name, rgb in colours.items()}
    # Each marker is at least a few pixels across (radius_min_pixels >= 6).
    assert all(n >= 20 for n in found.values()), found
    # Address density squares: the YlOrRd ramp's pale and mid stops.
    assert _pixels_near(png, (254, 217, 118), 25) + _pixels_near(png, (253, 141, 60), 25) > 50


@pytest.mark.browser
def test_a_wrong_password_gets_no_map(streamlit_url: str, tmp_path: Path) -> None:
    shot = _screenshot_module()
    with pytest.raises(shot.SignInError, match="wrong username or password"):
        shot.capture(streamlit_url, tmp_path / "refused.png", timeout_s=60,
                     credentials=(VIEWER, PASSWORD + "x"))  # fmt: skip
