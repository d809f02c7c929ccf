"""The Streamlit map page, run headless with AppTest against the committed map fixture, signed
in as the fixture's viewer (a planner whose agreement covers the fixture's area)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from engines import credentialed
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from streamlit.testing.v1 import AppTest
from test_app_layers import (
    AREA_BOX,
    AREA_ID,
    CCTV,
    ELSEWHERE_CCTV,
    STATIONS,
    Cell,
    MapFixture,
    committed_map_fixture,
    fixture_bng_points,
    grid_counts,
    published,
)

from hardening.db.engine import Actor
from hardening.geo import to_bng
from hardening.layers import DensityCell
from hardening.settings import PROJECT_ROOT, get_settings
from ui.deck import AREA_LINE, ROAD_CASING, ROAD_LINE, busiest_view

__all__ = ["committed_map_fixture"]  # a fixture, imported to be used here
APP = str(PROJECT_ROOT / "app.py")
# The first view: lines and points only (station names only when asked for), the streets and
# area outlines in one layer ("context").
ALL_LAYERS = {"density", "context", "cctv", "anpr", "stations"}
# What the viewer's agreement lets them see of camera sites (RLS: their area, or no area).
VISIBLE_SITES = f"(area_id IS NULL OR area_id = '{AREA_ID}')"


@pytest.fixture
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AppTest runs the page in this process: no data or engine left by an earlier test, and
    the project root importable (app.py imports ui.session, as `streamlit run` allows)."""
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def signed_in(actor: Actor, expires_in_s: float = 3600) -> AppTest:
    """The page as it runs for a session in which actor has signed in."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = credentialed(actor)
    at.session_state["actor_expires_at"] = time.time() + expires_in_s
    return at


@pytest.fixture
def app(
    test_db_url: URL, committed_map_fixture: MapFixture, fresh_caches: None
) -> Iterator[AppTest]:
    at = signed_in(committed_map_fixture.viewer).run()
    assert not at.exception, at.exception
    yield at


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


def map_density(owner_engine: Engine, cell_m: int) -> dict[Cell, int]:
    """What the whole map's density layer must show: publish_grid over a count made in Python
    (the fixture's points as computed here, any other address's point as stored)."""
    with owner_engine.connect() as conn:
        others = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM addresses "
                "WHERE property_type <> 'block' AND area_id IS DISTINCT FROM :area"
            ),
            {"area": AREA_ID},
        ).all()
    points = fixture_bng_points() + [(float(x), float(y)) for x, y in others]
    return published(grid_counts(points, cell_m))


def shown_density(at: AppTest, cell_m: int) -> dict[Cell, int]:
    """The density layer keyed by grid square, from the middle of each square's line."""
    squares: dict[Cell, int] = {}
    for cell in layers_by_id(at)["density"]["data"]:
        (x0, y0), (x1, y1) = (to_bng(*end) for end in cell["path"])
        square = (math.floor((x0 + x1) / 2 / cell_m), math.floor((y0 + y1) / 2 / cell_m))
        squares[square] = cell["count"]
    return squares


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
    # Names are in every station's tooltip; labels are drawn when asked for (they cost a
    # software-rendered browser seconds before the first frame).
    assert all(s["name"] in s["tip"] for s in stations)
    app.checkbox(key="layer_labels").check().run()
    labels = layers_by_id(app)["station-labels"]["data"]
    assert [s["name"] for s in labels] == [s["name"] for s in stations]
    cctv = {c["name"]: c for c in layers["cctv"]["data"] if inside_fixture(c["lon"], c["lat"])}
    assert set(cctv) == {name for _, name, status, _, _ in CCTV if status != "removed"}
    # The camera in the area next door is not the viewer's to see (row-level security).
    assert ELSEWHERE_CCTV[1] not in {c["name"] for c in layers["cctv"]["data"]}
    # Working and faulty cameras are told apart by colour.
    assert cctv["Hindpool Road"]["colour"] != cctv["Duke Street"]["colour"]
    anpr = [a for a in layers["anpr"]["data"] if inside_fixture(a["lon"], a["lat"])]
    assert len(anpr) == 2


def test_density_is_aggregated_to_the_chosen_square(app: AppTest, owner_engine: Engine) -> None:
    expected = map_density(owner_engine, 250)
    assert expected  # the tower (100 flats) at least
    assert shown_density(app, 250) == expected
    app.select_slider(key="cell").set_value(1000).run()
    assert not app.exception
    assert shown_density(app, 1000) == map_density(owner_engine, 1000)
    assert all("1000 m square" in c["tip"] for c in layers_by_id(app)["density"]["data"])


def test_metrics_match_the_database(app: AppTest, owner_engine: Engine) -> None:
    def n(sql: str) -> int:
        return count(owner_engine, sql)

    working = "SELECT count(*) FROM cctv_sites WHERE status = 'working'"
    assert {m.label: m.value for m in app.metric} == {
        # Addresses as published: small squares left out, the rest rounded.
        "Addresses": f"{sum(map_density(owner_engine, 250).values()):,}",
        "Stations": str(n("SELECT count(*) FROM transport_hubs")),
        "CCTV working": str(n(f"{working} AND {VISIBLE_SITES}")),
        "CCTV faulty": str(n(f"SELECT count(*) FROM cctv_sites WHERE status = 'faulty' AND "
                             f"{VISIBLE_SITES}")),
        "ANPR sites": str(n(f"SELECT count(*) FROM anpr_sites WHERE status <> 'removed' AND "
                            f"{VISIBLE_SITES}")),
    }  # fmt: skip
    assert n(working) > n(f"{working} AND {VISIBLE_SITES}")  # the camera next door


def street_tips(at: AppTest) -> set[str]:
    """The tips of the context layer's white street lines inside the fixture's area."""
    return {
        r["tip"]
        for r in layers_by_id(at)["context"]["data"]
        if r["colour"] == ROAD_LINE and inside_fixture(*r["path"][0])
    }


def test_sidebar_toggles_layers(app: AppTest) -> None:
    app.checkbox(key="layer_cctv").uncheck().run()
    app.checkbox(key="layer_roads").uncheck().run()
    assert set(layers_by_id(app)) == ALL_LAYERS - {"cctv"}
    assert street_tips(app) == set()
    assert all(r["colour"] == AREA_LINE for r in layers_by_id(app)["context"]["data"])
    app.checkbox(key="layer_areas").uncheck().run()
    assert set(layers_by_id(app)) == ALL_LAYERS - {"cctv", "context"}
    app.checkbox(key="layer_cctv").check().run()
    assert "cctv" in layers_by_id(app)


def test_context_layer_draws_casings_then_streets_then_outlines(app: AppTest) -> None:
    rows = layers_by_id(app)["context"]["data"]
    order = {ROAD_CASING[0]: 0, ROAD_LINE[0]: 1, AREA_LINE[0]: 2}
    kinds = [order[r["colour"][0]] for r in rows]
    assert kinds == sorted(kinds) and set(kinds) == {0, 1, 2}
    casings = [r for r in rows if r["colour"] == ROAD_CASING]
    lines = [r for r in rows if r["colour"] == ROAD_LINE]
    # Each casing is its street's line, 2 px wider, with the same tip.
    assert [(r["path"], r["width"] - 2, r["tip"]) for r in casings] == [
        (r["path"], r["width"], r["tip"]) for r in lines
    ]
    assert "Test Barrow" in {r["tip"] for r in rows if r["colour"] == AREA_LINE}


def test_main_roads_only(app: AppTest) -> None:
    assert street_tips(app) == {"A590 Abbey Road", "Test Street"}
    app.checkbox(key="main_roads_only").check().run()
    assert street_tips(app) == {"A590 Abbey Road"}


def test_database_down_shows_an_error_not_a_traceback(
    test_db_url: URL, fresh_caches: None, committed_map_fixture: MapFixture
) -> None:
    try:
        with pytest.MonkeyPatch.context() as env:
            at = signed_in(committed_map_fixture.viewer)
            env.setenv("HARDENING_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
            get_settings.cache_clear()
            at.run()
    finally:
        get_settings.cache_clear()
        st.cache_resource.clear()  # the engine that points nowhere
    assert not at.exception
    assert "Map data unavailable" in at.error[0].value
    assert not at.get("deck_gl_json_chart")


def test_the_map_opens_on_the_users_busiest_town() -> None:
    def square(lon: float, lat: float, count: int) -> DensityCell:
        return DensityCell(lon, lat, ix=0, iy=0, cell_m=250, count=count, ring=[])

    barrow = [square(-3.22, 54.12, 500), square(-3.23, 54.11, 300)]
    carlisle = [square(-2.93, 54.89, 900), square(-2.94, 54.90, 100)]
    fallback = {"longitude": -3.0, "latitude": 54.5, "zoom": 12.2}
    view = busiest_view(barrow + carlisle, fallback)  # the fullest square is in Carlisle
    assert view.longitude == pytest.approx(-2.931) and view.latitude == pytest.approx(54.891)
    assert view.zoom == 12.2
    view = busiest_view(barrow, fallback)
    assert view.longitude == pytest.approx(-3.22375) and view.latitude == pytest.approx(54.11625)
    view = busiest_view([], fallback)
    assert (view.longitude, view.latitude) == (-3.0, 54.5)
