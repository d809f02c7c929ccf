"""The map page's "Download QGIS project" in a real browser (Debian's Chromium): an analyst
and then a housing provider, in one tab, each download their own project, which lists the
layers they may see and holds no secret."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import MAP_CANVAS, Tab, app_tab, assert_no_traceback, screenshot
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from world import HOUSING_A, POLICE, World

from hardening.db.engine import Actor, transaction
from hardening.security.users import add_user

pytestmark = pytest.mark.browser
PASSWORD = "qgis-browser-test-password"
USERS = {"analyst": (POLICE, ["analyst"]), "housing": (HOUSING_A, ["housing"])}


def username(who: str) -> str:
    return f"t.qgis-{who}"


@pytest.fixture(scope="module")
def accounts(owner_engine: Engine, world: World) -> Iterator[None]:
    with transaction(owner_engine, Actor.system()) as conn:
        ids = [
            add_user(conn, username(w), org, roles, PASSWORD) for w, (org, roles) in USERS.items()
        ]
    yield
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE user_id = ANY(:u)"), {"u": ids})


@pytest.fixture(scope="module")
def tab(
    test_db_url: URL, accounts: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tab]:
    with app_tab(tmp_path_factory.mktemp("streamlit"), "", PASSWORD) as found:
        found.to_username = username
        yield found


def _download(tab: Tab, who: str, folder: Path) -> str:
    page = tab.signed_in(who)
    page.locator(MAP_CANVAS).first.wait_for()
    button = page.get_by_role("button", name="Download QGIS project")
    with page.expect_download() as event:
        button.click()
    download = event.value
    assert download.suggested_filename == f"hardening-{username(who)}.qgz"
    saved = folder / download.suggested_filename
    download.save_as(saved)
    screenshot(page, f"qgis_download__{who}")
    assert_no_traceback(page)
    with zipfile.ZipFile(saved) as archive:
        return archive.read(archive.namelist()[0]).decode()


def _layers(xml: str) -> set[str]:
    return set(re.findall(r"<layername>([^<]+)</layername>", xml))


def test_each_user_downloads_a_project_of_their_own_layers(tab: Tab, tmp_path: Path) -> None:
    analyst = _download(tab, "analyst", tmp_path)
    assert _layers(analyst) == {
        "CCTV sites", "ANPR sites", "Security work orders", "SAFE markers in force",
        "Vulnerability visits", "Risk cells (aggregated)", "CCTV sites (vector tiles)",
    }  # fmt: skip
    housing = _download(tab, "housing", tmp_path)
    assert _layers(housing) == {"Security work orders"}  # its own orders, nothing else
    for xml in (analyst, housing):
        assert "authcfg='hardng1'" in xml and "hdn_" not in xml and "hds_" not in xml
        assert "url='http://127.0.0.1:8000/ogc'" in xml  # the configured API address
