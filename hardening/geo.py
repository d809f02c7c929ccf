"""Coordinates: WGS84 <-> British National Grid (always_xy) and loud validation of inputs.

Store and measure in BNG (EPSG:27700, metres); take and show WGS84 lon/lat (GeoJSON order).
"""

from __future__ import annotations

import math
from functools import lru_cache

from pyproj import CRS, Transformer

from hardening.errors import UserInputError

BNG = 27700
WGS84 = 4326
# Great Britain and its islands, generously: anything outside is a mistake, not a place.
GB_LON = (-9.0, 2.5)
GB_LAT = (49.5, 61.5)
BNG_X = (0.0, 700_000.0)
BNG_Y = (0.0, 1_300_000.0)


@lru_cache(maxsize=16)
def transformer(source: int | str, target: int | str) -> Transformer:
    return Transformer.from_crs(
        CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True
    )


def parse_crs(value: str | int) -> int:
    """EPSG code from 'EPSG:27700', '27700' or 27700; a clear error otherwise."""
    text = str(value).strip().upper().removeprefix("EPSG:")
    if not text.isdigit():
        raise UserInputError(f"unknown CRS {value!r}: give an EPSG code such as EPSG:4326")
    code = int(text)
    try:
        CRS.from_epsg(code)
    except Exception as exc:
        raise UserInputError(f"unknown CRS EPSG:{code}") from exc
    return code


def _finite(*values: float) -> None:
    if not all(math.isfinite(v) for v in values):
        raise UserInputError("coordinates must be finite numbers (got NaN or infinity)")


def check_lon_lat(lon: float, lat: float) -> None:
    """Raise unless (lon, lat) is in Great Britain; names the swapped-axes mistake."""
    _finite(lon, lat)
    in_gb = GB_LON[0] <= lon <= GB_LON[1] and GB_LAT[0] <= lat <= GB_LAT[1]
    if in_gb:
        return
    if GB_LON[0] <= lat <= GB_LON[1] and GB_LAT[0] <= lon <= GB_LAT[1]:
        raise UserInputError(
            f"longitude {lon} / latitude {lat} look swapped: "
            "give longitude first (x), then latitude"
        )
    raise UserInputError(f"longitude {lon} / latitude {lat} is outside Great Britain")


def check_bng(x: float, y: float) -> None:
    _finite(x, y)
    if not (BNG_X[0] <= x <= BNG_X[1] and BNG_Y[0] <= y <= BNG_Y[1]):
        if BNG_X[0] <= y <= BNG_X[1] and BNG_Y[0] <= x <= BNG_Y[1] and y < x:
            raise UserInputError(f"easting {x} / northing {y} look swapped: give easting first")
        raise UserInputError(f"easting {x} / northing {y} is outside the British National Grid")


def to_bng(x: float, y: float, crs: int = WGS84) -> tuple[float, float]:
    """Validate a point given in crs and return it in BNG metres."""
    if crs == BNG:
        check_bng(x, y)
        return x, y
    _finite(x, y)
    if crs == WGS84:
        check_lon_lat(x, y)
    east, north = transformer(crs, BNG).transform(x, y)
    check_bng(east, north)
    return float(east), float(north)


def to_lon_lat(east: float, north: float) -> tuple[float, float]:
    lon, lat = transformer(BNG, WGS84).transform(east, north)
    return float(lon), float(lat)


def point_ewkt(east: float, north: float) -> str:
    """EWKT of a BNG point, the form bulk loads hand to COPY."""
    return f"SRID={BNG};POINT({east:.2f} {north:.2f})"
