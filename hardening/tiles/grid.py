"""Tile arithmetic: z/x/y of the Web Mercator (EPSG:3857) tile pyramid, the part of a tile that
lies over Great Britain as a British National Grid box, and the grid square used at each zoom.

Everything here is plain arithmetic and pyproj: the database gets numbers, never a tile it
would have to reproject across the globe (a Transverse Mercator like BNG is meaningless far
from Britain, so tiles outside it are answered as empty without a query).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from hardening.errors import NotFoundError
from hardening.geo import BNG, BNG_X, BNG_Y, GB_LAT, GB_LON, transformer

MAX_ZOOM: Final = 22
WEB_MERCATOR: Final = 3857
HALF_WORLD: Final = 20037508.342789244  # metres from the origin to the edge of the pyramid
EARTH_RADIUS: Final = 6378137.0
# The grid squares (metres of BNG) addresses and risk scores are pre-counted in (the SQL
# function tile_cells_of in sql/012_tiles.sql holds the same list), and the square a tile uses
# at each zoom: 6 to 30 squares across a tile, never finer than 50 m (larger than a house plot).
CELL_LADDER: Final = (50, 250, 1000, 5000, 25000, 100000)
# Points (one feature per address) appear from this zoom, for actors who may see addresses:
# a z16 tile is about 370 m across at 54 degrees north.
POINT_ZOOM: Final = 16
# Below this zoom the other point layers (cameras, markers, works) are gathered per grid square:
# a zoom-11 tile spans about 11 km, where a county's markers would be thousands of points.
CLUSTER_ZOOM: Final = 12


@dataclass(frozen=True)
class BngBox:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def grown(self, metres: float) -> BngBox:
        return BngBox(self.x0 - metres, self.y0 - metres, self.x1 + metres, self.y1 + metres)


@dataclass(frozen=True)
class TileId:
    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not 0 <= self.z <= MAX_ZOOM:
            raise NotFoundError(f"no tiles at zoom {self.z}: zoom runs 0..{MAX_ZOOM}")
        last = (1 << self.z) - 1
        if not (0 <= self.x <= last and 0 <= self.y <= last):
            raise NotFoundError(
                f"no tile {self.z}/{self.x}/{self.y}: at zoom {self.z} x and y run 0..{last}"
            )

    @property
    def span(self) -> float:
        """Width of the tile in Web Mercator metres."""
        return 2 * HALF_WORLD / (1 << self.z)

    def bounds(self) -> tuple[float, float, float, float]:
        """xmin, ymin, xmax, ymax in EPSG:3857 (y counts down from the top, as in XYZ)."""
        xmin = -HALF_WORLD + self.x * self.span
        ymax = HALF_WORLD - self.y * self.span
        return xmin, ymax - self.span, xmin + self.span, ymax

    def cell_m(self) -> int:
        """Grid square for aggregated layers at this zoom: 1 km at 10-11, 250 m at 12-13,
        50 m from 14; a size coarser for every two zooms below 10."""
        step = min(max((15 - self.z) // 2, 0), len(CELL_LADDER) - 1)
        return CELL_LADDER[step]

    def bng_box(self) -> BngBox | None:
        """The BNG box covering the part of the tile over Great Britain, or None."""
        gx0, gy0 = _mercator(GB_LON[0], GB_LAT[0])
        gx1, gy1 = _mercator(GB_LON[1], GB_LAT[1])
        xmin, ymin, xmax, ymax = self.bounds()
        xmin, ymin, xmax, ymax = max(xmin, gx0), max(ymin, gy0), min(xmax, gx1), min(ymax, gy1)
        if xmin >= xmax or ymin >= ymax:
            return None
        # The box's edges, densified: straight in Mercator, curved in BNG.
        steps = 8
        xs = [xmin + (xmax - xmin) * i / steps for i in range(steps + 1)]
        ys = [ymin + (ymax - ymin) * i / steps for i in range(steps + 1)]
        edge = (
            [(x, ymin) for x in xs]
            + [(x, ymax) for x in xs]
            + [(xmin, y) for y in ys]
            + [(xmax, y) for y in ys]
        )
        east, north = transformer(WEB_MERCATOR, BNG).transform(
            [x for x, _ in edge], [y for _, y in edge]
        )
        x0, x1 = max(min(east), BNG_X[0]), min(max(east), BNG_X[1])
        y0, y1 = max(min(north), BNG_Y[0]), min(max(north), BNG_Y[1])
        if x0 >= x1 or y0 >= y1:
            return None
        return BngBox(x0, y0, x1, y1)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    x = math.radians(lon) * EARTH_RADIUS
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * EARTH_RADIUS
    return x, y


def tile_for(lon: float, lat: float, z: int) -> TileId:
    """The tile holding a WGS84 point at zoom z (for tests, benchmarks and TileJSON centres)."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return TileId(z, min(max(x, 0), n - 1), min(max(y, 0), n - 1))
