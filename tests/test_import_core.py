"""The importers' shared pieces: coordinate validation, line numbers, column maps, postcodes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from hardening import geo
from hardening.errors import UserInputError
from hardening.importers.codepoint import normalise_postcode
from hardening.importers.core import RowRejected, csv_rows, csv_with_header, number
from hardening.importers.roads import road_class
from hardening.importers.spatial import geometries_to_bng, points_to_bng
from hardening.importers.tabular import parse_map

coords = st.floats(allow_nan=True, allow_infinity=True, width=64)
gb_lon = st.floats(min_value=-7.5, max_value=1.7)
gb_lat = st.floats(min_value=50.0, max_value=60.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(coords, coords), min_size=1, max_size=20))
def test_vectorised_check_agrees_with_geo_to_bng(points: list[tuple[float, float]]) -> None:
    """Whatever the input, a point is accepted exactly when hardening.geo accepts it, and
    lands on the same BNG coordinates."""
    east, north, bad = points_to_bng([p[0] for p in points], [p[1] for p in points], geo.WGS84)
    for i, (x, y) in enumerate(points):
        try:
            expected = geo.to_bng(x, y)
        except UserInputError as exc:
            assert bad[i] == str(exc)
        else:
            assert i not in bad
            assert (east[i], north[i]) == pytest.approx(expected, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(gb_lon, gb_lat)
def test_swapped_lon_lat_is_named(lon: float, lat: float) -> None:
    _, _, bad = points_to_bng([lat], [lon], geo.WGS84)
    assert "look swapped" in bad[0]
    east, north, none_bad = points_to_bng([lon], [lat], geo.WGS84)
    assert not none_bad
    back = geo.to_lon_lat(float(east[0]), float(north[0]))
    assert back == pytest.approx((lon, lat), abs=1e-7)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([math.nan, math.inf, -math.inf]), gb_lat, st.booleans())
def test_non_finite_coordinates_are_rejected(bad_value: float, lat: float, first: bool) -> None:
    xs, ys = ([bad_value], [lat]) if first else ([-3.0], [bad_value])
    for crs in (geo.WGS84, geo.BNG):
        _, _, bad = points_to_bng(xs, ys, crs)
        assert "NaN or infinity" in bad[0]


def test_number_reasons() -> None:
    assert number(" 1.5 ", "x") == 1.5
    for value, reason in [
        ("", "x is empty"),
        ("abc", "x 'abc' is not a number"),
        ("nan", "x is NaN"),
        ("-inf", "x is infinite"),
        (math.nan, "x is NaN"),
    ]:
        with pytest.raises(RowRejected, match=reason):
            number(value, "x")


def test_csv_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    """A quoted field spanning lines and blank lines do not shift later line numbers."""
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,"two\nlines"\n\n3,4\n', encoding="utf-8")
    assert list(csv_rows(path)) == [(1, ["a", "b"]), (2, ["1", "two\nlines"]), (5, ["3", "4"])]


def test_csv_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n\xff\xfe\x00,1\n")
    with pytest.raises(UserInputError, match="not UTF-8"):
        list(csv_rows(path))
    with pytest.raises(UserInputError, match="no such file"):
        list(csv_rows(tmp_path / "missing.csv"))


def test_parse_map() -> None:
    assert parse_map(["x=lon", " id = cam "], ("id", "x", "y")) == {"x": "lon", "id": "cam"}
    for bad, reason in [
        (["x"], "target=column"),
        (["q=lon"], "unknown target 'q'"),
        (["x=a", "x=b"], "mapped twice"),
    ]:
        with pytest.raises(UserInputError, match=reason):
            parse_map(bad, ("id", "x", "y"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CA1 1AA", "CA1 1AA"),
        ("ca11aa", "CA1 1AA"),
        ("CA101AB", "CA10 1AB"),
        ("LA14  2AB", "LA14 2AB"),
        ("EC1A1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
    ],
)
def test_postcodes_are_normalised(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["", "CA1", "1AA CA1", "CA1 1A", "CAA1 1AA"])
def test_bad_postcodes_are_rejected(raw: str) -> None:
    with pytest.raises(RowRejected):
        normalise_postcode(raw or None)


def test_road_classes_from_osm_highway() -> None:
    assert [
        road_class(t)
        for t in (
            "motorway_link",
            "trunk",
            "primary_link",
            "living_street",
            "road",
            None,
            "Tertiary",
        )
    ] == ["motorway", "trunk", "primary", "residential", "other", "other", "tertiary"]


def test_geometry_problems_are_named() -> None:
    wgs84 = CRS.from_epsg(geo.WGS84)
    geoms = shapely.from_wkt(
        [
            "POLYGON ((-3.2 54.1, -3.1 54.1, -3.1 54.2, -3.2 54.2, -3.2 54.1))",
            "POLYGON ((-3.2 54.1, -3.1 54.2, -3.1 54.1, -3.2 54.2, -3.2 54.1))",  # bow-tie
            "POLYGON EMPTY",
            "POINT (-3.2 54.1)",
            "POLYGON ((54.1 -3.2, 54.1 -3.1, 54.2 -3.1, 54.1 -3.2))",  # lat/lon swapped
            "POINT (0 0)",
        ]
    )
    with np.errstate(invalid="ignore"):
        geoms[5] = shapely.Polygon([(-3.2, 54.1), (-3.1, math.nan), (-3.1, 54.2), (-3.2, 54.1)])
    out, bad = geometries_to_bng(geoms, wgs84, ("Polygon", "MultiPolygon"))
    assert 0 not in bad
    assert out[0].bounds[0] > 300_000  # metres now
    assert bad[1].startswith("invalid geometry: Self-intersection")
    assert bad[2] == "geometry is empty"
    assert bad[3] == "geometry is a Point, expected Polygon or MultiPolygon"
    assert "look swapped" in bad[4]
    assert "NaN" in bad[5]


def test_empty_csv_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="the file is empty"):
        csv_with_header(path)
