"""`hardening area add NAME --boundary FILE` on the sample database: the area lands in BNG, the
named partners' agreements cover it, and reports can be filtered by it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import app_role_engine
from sqlalchemy import text
from sqlalchemy.engine import URL
from test_report_kpi import sample_url
from typer.testing import CliRunner

from hardening.areas_cli import app as area_app
from hardening.db.engine import Actor, transaction
from hardening.reports.kpi import compute
from hardening.settings import get_settings

__all__ = ["sample_url"]  # a fixture, imported to be used here

SQUARE = [[-3.60, 54.60], [-3.50, 54.60], [-3.50, 54.66], [-3.60, 54.66], [-3.60, 54.60]]


@pytest.fixture
def on_sample(sample_url: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    monkeypatch.setenv("HARDENING_DATABASE_URL", sample_url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield sample_url
    monkeypatch.delenv("HARDENING_DATABASE_URL")
    get_settings.cache_clear()


def _geojson(path: Path, coords: list[list[float]]) -> Path:
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_area_add_with_partners(on_sample: URL, tmp_path: Path) -> None:
    boundary = _geojson(tmp_path / "area.geojson", SQUARE)
    res = CliRunner().invoke(
        area_app,
        [
            "add",
            "Test Workington",
            "--boundary",
            str(boundary),
            "--partner",
            "lakes-borders-nhs",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["area_id"] == "test-workington" and out["agreements"] == {"lakes-borders-nhs": 1}
    assert 40 < out["km2"] < 50  # ~6.4 km x 6.7 km
    engine = app_role_engine(on_sample, pool_size=1)
    try:
        with transaction(engine, Actor.system()) as conn:
            x, y = conn.execute(
                text(
                    "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM areas "
                    "WHERE area_id = 'test-workington'"
                )
            ).one()
            assert 290_000 < x < 310_000 and 520_000 < y < 535_000  # BNG, near Workington
            kpi = compute(conn, 2025, "test-workington")
            assert kpi.visits["this"] == 0 and kpi.lines_active_start == 0
            conn.execute(text("DELETE FROM agreement_areas WHERE area_id = 'test-workington'"))
            conn.execute(text("DELETE FROM areas WHERE area_id = 'test-workington'"))
    finally:
        engine.dispose()


def test_area_add_refuses_bad_input(on_sample: URL, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(area_app, ["add", "X area", "--boundary", str(tmp_path / "no.json")])
    assert missing.exit_code != 0 and "cannot read boundary" in str(missing.exception)
    boundary = _geojson(tmp_path / "a.geojson", SQUARE)
    unknown = runner.invoke(
        area_app, ["add", "Y area", "--boundary", str(boundary), "--partner", "nobody"]
    )
    assert unknown.exit_code != 0 and "no sharing agreement" in str(unknown.exception)
    swapped = _geojson(tmp_path / "s.geojson", [[lat, lon] for lon, lat in SQUARE])
    bad = runner.invoke(area_app, ["add", "Z area", "--boundary", str(swapped)])
    assert bad.exit_code != 0 and "outside Great Britain" in str(bad.exception)
