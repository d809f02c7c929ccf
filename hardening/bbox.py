"""The one bbox of every spatial read (OGC items, `/v1/layers`, exports, the pages): WGS84
lon/lat (CRS84), minlon,minlat,maxlon,maxlat, as clients such as QGIS send it.

A client sends the box of whatever it is showing, zoomed out to the world or panned to
France: a box overlapping Great Britain is clipped to it, a box entirely elsewhere selects
nothing. Mistakes still fail loudly: not four (or six) numbers, NaN, beyond +-180 / +-90,
inverted or empty, and a box that only makes sense with latitude and longitude swapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hardening.errors import UserInputError
from hardening.geo import BNG, BNG_X, BNG_Y, GB_LAT, GB_LON, WGS84, transformer
from hardening.tiles.grid import BngBox

# Metres added around the box's BNG extent: its edges are curves there, sampled, not traced.
BNG_PAD_M = 100.0

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_NAMES = frozenset({CRS84, CRS84 + "h", "EPSG:4326", "OGC:CRS84", "CRS84"})

# The box's edges are densified before they are transformed, so curved edges in BNG follow it.
BBOX_BNG_SQL = (
    "ST_Transform(ST_Segmentize(ST_MakeEnvelope(CAST(:bbox_x0 AS float8), "
    "CAST(:bbox_y0 AS float8), CAST(:bbox_x1 AS float8), CAST(:bbox_y1 AS float8), 4326), "
    "0.01), 27700)"
)


def check_crs(crs: str) -> None:
    """Refuses a bbox-crs other than CRS84 (under any of its names)."""
    if crs.strip() not in CRS84_NAMES:
        raise UserInputError(f"bbox-crs {crs!r} is not supported: give the bbox in {CRS84}")


def _overlaps(x0: float, y0: float, x1: float, y1: float) -> bool:
    return x0 < GB_LON[1] and x1 > GB_LON[0] and y0 < GB_LAT[1] and y1 > GB_LAT[0]


@dataclass(frozen=True)
class BBox:
    """A valid lon/lat box; `clipped` is its part inside Great Britain (None: no overlap)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, value: str, crs: str | None = None) -> BBox:
        if crs is not None:
            check_crs(crs)
        parts = [p.strip() for p in value.split(",")]
        if len(parts) not in (4, 6):
            raise UserInputError(
                "bbox must be four numbers: minlon,minlat,maxlon,maxlat (or six, with heights)"
            )
        try:
            numbers = [float(p) for p in parts]
        except ValueError as exc:
            raise UserInputError(f"bbox {value!r} holds something that is not a number") from exc
        if not all(math.isfinite(n) for n in numbers):
            raise UserInputError("bbox numbers must be finite (got NaN or infinity)")
        if len(numbers) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights are ignored
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        return cls(*numbers)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.min_lon, self.min_lat, self.max_lon, self.max_lat
        if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
            raise UserInputError(
                f"bbox {self.as_text()} is not longitude/latitude: longitudes are within "
                "-180..180 and latitudes within -90..90"
            )
        if x0 >= x1 or y0 >= y1:
            raise UserInputError(
                f"bbox {self.as_text()} is inverted or empty: give minlon,minlat,maxlon,maxlat"
            )
        if not _overlaps(x0, y0, x1, y1) and _overlaps(y0, x0, y1, x1):
            raise UserInputError(
                f"bbox {self.as_text()} looks swapped: give longitude first (x), then latitude"
            )

    def as_text(self) -> str:
        return f"{self.min_lon:g},{self.min_lat:g},{self.max_lon:g},{self.max_lat:g}"

    @property
    def clipped(self) -> tuple[float, float, float, float] | None:
        if not _overlaps(self.min_lon, self.min_lat, self.max_lon, self.max_lat):
            return None
        return (
            max(self.min_lon, GB_LON[0]),
            max(self.min_lat, GB_LAT[0]),
            min(self.max_lon, GB_LON[1]),
            min(self.max_lat, GB_LAT[1]),
        )

    def sql_params(self) -> dict[str, Any]:
        """Parameters of BBOX_BNG_SQL (only for a box that overlaps Great Britain)."""
        box = self.clipped
        assert box is not None
        return dict(zip(("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"), box, strict=True))

    def bng_box(self) -> BngBox:
        """A BNG box holding the clipped box (for key ranges; `&&` then refines exactly)."""
        box = self.clipped
        assert box is not None
        x0, y0, x1, y1 = transformer(WGS84, BNG).transform_bounds(*box, densify_pts=64)
        return BngBox(
            max(x0 - BNG_PAD_M, BNG_X[0]),
            max(y0 - BNG_PAD_M, BNG_Y[0]),
            min(x1 + BNG_PAD_M, BNG_X[1]),
            min(y1 + BNG_PAD_M, BNG_Y[1]),
        )
