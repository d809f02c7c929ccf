"""`hardening area add NAME --boundary FILE` refuses what is not a boundary: bow-tie,
unclosed, degenerate and empty polygons, NaN, infinity or 1e400 coordinates, lat/lon swapped,
50,000 vertices crossing themselves. Exit code 1, one `error: ...` line, nothing written; a
valid 50,000-vertex boundary goes in whole.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fuzzkit import examples, fuzz_settings, gb_box, polygon_ring
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from typer.testing import CliRunner
from world import World

from hardening.cli import app as cli
from hardening.db.engine import Actor, transaction

FUZZ = fuzz_settings(examples(25))


def feature_collection(geometry: Any) -> str:
    return json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                    "geometry": geometry}]}
    )  # fmt: skip


@st.composite
def bad_boundary(draw: st.DrawFn) -> str:
    """GeoJSON text of a boundary the CLI must refuse."""
    x0, y0, x1, y1 = draw(gb_box())
    kind = draw(
        st.sampled_from(
            ["bow-tie", "unclosed", "empty", "non-finite", "swapped", "big bow-tie", "degenerate"]
        )
    )
    square = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    if kind == "bow-tie":  # corners in crossing order
        return feature_collection(
            {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
        )
    if kind == "unclosed":
        return feature_collection({"type": "Polygon", "coordinates": [square[:-1]]})
    if kind == "empty":
        return draw(
            st.sampled_from(
                [
                    feature_collection({"type": "Polygon", "coordinates": []}),
                    feature_collection({"type": "MultiPolygon", "coordinates": []}),
                    feature_collection(None),
                    json.dumps({"type": "FeatureCollection", "features": []}),
                ]
            )
        )
    if kind == "non-finite":
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"]))
        corner, axis = draw(st.integers(0, 3)), draw(st.integers(0, 1))
        marked: list[list[Any]] = [list(p) for p in square]
        marked[corner][axis] = "__number__"
        text_ = feature_collection({"type": "Polygon", "coordinates": [marked]})
        return text_.replace('"__number__"', token)
    if kind == "swapped":
        return feature_collection({"type": "Polygon", "coordinates": [[[y, x] for x, y in square]]})
    if kind == "big bow-tie":  # 50,000 vertices, crossing itself once
        ring = polygon_ring(50_000, x0, y0, 0.05)
        half = len(ring) // 2
        ring = ring[:half][::-1] + ring[half:-1] + [ring[half - 1]]
        return feature_collection({"type": "Polygon", "coordinates": [ring]})
    return feature_collection({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x0, y0]]]})


def area_rows(owner_engine: Engine) -> list[tuple[Any, ...]]:
    with transaction(owner_engine, Actor.system()) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT a.area_id, a.name, md5(ST_AsBinary(a.geom)), "
                    "(SELECT count(*) FROM agreement_areas g WHERE g.area_id = a.area_id) "
                    "FROM areas a ORDER BY 1"
                )
            )
        ]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # one `error:` line is all the user sees
def test_area_add_refuses_bad_boundaries(owner_engine: Engine, world: World) -> None:
    runner = CliRunner()
    before = area_rows(owner_engine)

    @FUZZ
    @given(boundary=bad_boundary())
    def check(boundary: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "boundary.geojson"
            path.write_text(boundary)
            result = runner.invoke(
                cli,
                ["area", "add", "Fuzz Area", "--boundary", str(path), "--partner", "t-police"],
            )
        assert result.exit_code == 1, (result.exit_code, result.output, boundary[:300])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "Traceback" not in result.output
        assert area_rows(owner_engine) == before

    check()


def test_area_add_takes_a_valid_50000_vertex_boundary(owner_engine: Engine, world: World) -> None:
    """The size alone is no reason to refuse: a fine-drawn valid boundary goes in whole."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fine.geojson"
        path.write_text(
            feature_collection({"type": "Polygon", "coordinates": [polygon_ring(50_000)]})
        )
        result = CliRunner().invoke(
            cli, ["area", "add", "Fuzz Fine", "--boundary", str(path), "--json"]
        )
    try:
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["area_id"] == "fuzz-fine"
        # A circle of radius 0.01 degrees at 54.1N: about 0.715 km x 1.11 km x pi.
        assert 2.0 < out["km2"] < 2.8, out
        with transaction(owner_engine, Actor.system()) as conn:
            points = conn.execute(
                text("SELECT ST_NPoints(geom) FROM areas WHERE area_id = 'fuzz-fine'")
            ).scalar_one()
        assert points == 50_001
    finally:
        with transaction(owner_engine, Actor.system()) as conn:
            conn.execute(text("DELETE FROM areas WHERE area_id = 'fuzz-fine'"))
