"""The Streamlit map page, run headless with AppTest against the committed map fixture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from streamlit.testing.v1 import AppTest
from test_app_layers import AREA_BOX, CCTV, STATIONS, committed_map_fixture, expected_density

from hardening.settings import PROJECT_ROOT, get_settings

__all__ = ["committed_map_fixture"]  # a fixture, imported to be used here
APP = str(PROJECT_ROOT / "app.py")
ALL_LAYERS = {
    "areas", "density", "road-casing", "roads", "area-outline", "cctv", "anpr", "stations",
    "station-labels",
}  # fmt: skip


@pytest.fixture
def app(test_db_url: URL, committed_map_fixture: None) -> Iterator[AppTest]:
    st.cache_data.clear()  # AppTest shares the process: no data cached by an earlier test
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    yield at
    st.cache_data.clear()


def deck(at: AppTest) -> dict[str, Any]:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    spec: dict[str, Any] = json.loads(charts[0].proto.json)
    return spec


def layers_by_id(at: AppTest) -> dict[str, dict[str, Any]]:
    return {layer["id"]: layer for layer in deck(at)["layers"]}


def inside_fixture(lon: float, lat: float) -> bool:
    return AREA_BOX[0] <= lon <= AREA_BOX[2] and AREA_BOX[1] <= lat <= AREA_BOX[3]


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_map_has_every_layer_over_barrow_with_no_basemap(app: AppTest) -> None:
    spec = deck(app)
    assert set(layers_by_id(app)) == ALL_LAYERS
    view = spec["initialViewState"]
    assert view["longitude"] == pytest.approx(-3.22, abs=0.05)
    assert view["latitude"] == pytest.approx(54.12, abs=0.05)
    assert 11 <= view["zoom"] <= 13
    # Nothing that would make the browser fetch a basemap or anything else from outside.
    assert not spec.get("mapProvider")
    raw = app.get("deck_gl_json_chart")[0].proto.json
    assert "http" not in raw and "mapbox://" not in raw


def test_points_are_the_fixture_rows(app: AppTest, owner_engine: Engine) -> None:
    layers = layers_by_id(app)
    stations = layers["stations"]["data"]
    assert len(stations) == count(owner_engine, "SELECT count(*) FROM transport_hubs")
    by_key = {s["key"]: s for s in stations}
    for key, name, _, lon, lat in STATIONS:
        assert by_key[key]["name"] == name
        assert (by_key[key]["lon"], by_key[key]["lat"]) == pytest.approx((lon, lat), abs=1e-5)
    # Bus and rail stations are told apart by colour.
    assert by_key["test-app:bus:BARROW"]["colour"] != by_key["test-app:rail:ROO"]["colour"]
    assert [s["name"] for s in layers["station-labels"]["data"]] == [s["name"] for s in stations]
    cctv = {c["name"]: c for c in layers["cctv"]["data"] if inside_fixture(c["lon"], c["lat"])}
    assert set(cctv) == {name for _, name, status, _, _ in CCTV if status != "removed"}
    # Working and faulty cameras are told apart by colour.
    assert cctv["Hindpool Road"]["colour"] != cctv["Duke Street"]["colour"]
    anpr = [a for a in layers["anpr"]["data"] if inside_fixture(a["lon"], a["lat"])]
    assert len(anpr) == 2


def test_density_is_aggregated_to_the_chosen_square(app: AppTest) -> None:
    def fixture_counts(at: AppTest) -> list[int]:
        cells = layers_by_id(at)["density"]["data"]
        return sorted(c["count"] for c in cells if inside_fixture(*c["polygon"][0]))

    assert fixture_counts(app) == sorted(expected_density(250).values())
    app.select_slider(key="cell").set_value(1000).run()
    assert not app.exception
    assert fixture_counts(app) == sorted(expected_density(1000).values())
    assert all("1000 m square" in c["tip"] for c in layers_by_id(app)["density"]["data"])


def test_metrics_match_the_database(app: AppTest, owner_engine: Engine) -> None:
    def n(sql: str) -> int:
        return count(owner_engine, sql)

    addresses = n("SELECT count(*) FROM addresses WHERE property_type <> 'block'")
    assert {m.label: m.value for m in app.metric} == {
        "Addresses": f"{addresses:,}",
        "Stations": str(n("SELECT count(*) FROM transport_hubs")),
        "CCTV working": str(n("SELECT count(*) FROM cctv_sites WHERE status = 'working'")),
        "CCTV faulty": str(n("SELECT count(*) FROM cctv_sites WHERE status = 'faulty'")),
        "ANPR sites": str(n("SELECT count(*) FROM anpr_sites WHERE status <> 'removed'")),
    }


def test_sidebar_toggles_layers(app: AppTest) -> None:
    app.checkbox(key="layer_cctv").uncheck().run()
    app.checkbox(key="layer_roads").uncheck().run()
    assert set(layers_by_id(app)) == ALL_LAYERS - {"cctv", "roads", "road-casing"}
    app.checkbox(key="layer_cctv").check().run()
    assert "cctv" in layers_by_id(app)


def test_main_roads_only(app: AppTest) -> None:
    def fixture_roads(at: AppTest) -> set[str]:
        return {
            r["tip"] for r in layers_by_id(at)["roads"]["data"] if inside_fixture(*r["path"][0])
        }

    assert fixture_roads(app) == {"A590 Abbey Road", "Test Street"}
    app.checkbox(key="main_roads_only").check().run()
    assert fixture_roads(app) == {"A590 Abbey Road"}


def test_database_down_shows_an_error_not_a_traceback(
    test_db_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARDENING_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert not at.exception
    assert "Map data unavailable" in at.error[0].value
    assert not at.get("deck_gl_json_chart")
