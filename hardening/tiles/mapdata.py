"""What the Streamlit map draws, fast over a large register: address squares read from the
pre-counted grid (sql/012_tiles.sql) rather than counted from every address on each load, and
only the main roads first when the street network is large.

Squares get the same disclosure control as `hardening.layers.address_density`
(`publish_grid`: under 10 left out, the rest rounded to 5, secondary suppression), so the map
shows exactly what it showed when it counted every address itself.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from sqlalchemy import Connection, text

from hardening import layers
from hardening.errors import UserInputError
from hardening.geo import BNG, BNG_X, BNG_Y, WGS84, transformer
from hardening.security.disclosure import publish_grid
from hardening.tiles.grid import CELL_LADDER

# Above this many street segments the first view shows main roads only (the user may add the
# rest): a million-address town has ~20,000, megabytes of paths for the browser.
FULL_STREETS_LIMIT: Final = 5000
MAP_CELLS: Final = tuple(c for c in CELL_LADDER if c <= 5000)
# The first view uses the smallest square (250 m or more) that gives at most this many squares:
# the browser draws a few thousand polygons in well under a second, not tens of thousands.
FIRST_VIEW_SQUARES: Final = 2000


def address_squares(conn: Connection, cell_m: int) -> list[layers.DensityCell]:
    """Published address counts per BNG square of cell_m metres, with each square's ring and
    centre in WGS84 (computed here, in bulk, not per square in the database)."""
    if cell_m not in MAP_CELLS:
        sizes = ", ".join(map(str, MAP_CELLS))
        raise UserInputError(f"square size must be one of {sizes} metres, not {cell_m}")
    counted = conn.execute(
        text("SELECT ix, iy, n FROM address_cell_counts(:c, :x0, :y0, :x1, :y1) ORDER BY iy, ix"),
        {"c": cell_m, "x0": BNG_X[0], "y0": BNG_Y[0], "x1": BNG_X[1], "y1": BNG_Y[1]},
    ).all()
    published = publish_grid({(ix, iy): n for ix, iy, n in counted}).cells
    rows = [(ix, iy, n) for ix, iy, _ in counted if (n := published[(ix, iy)]) is not None]
    if len(rows) > layers.MAX_FEATURES:
        raise UserInputError(f"more than {layers.MAX_FEATURES} squares: choose larger squares")
    if not rows:
        return []
    cells = np.array([(ix, iy) for ix, iy, _ in rows], dtype=np.float64)
    # Corners (0,0) (1,0) (1,1) (0,1) and the centre of every square, transformed at once;
    # 5 decimals of a degree is about a metre.
    offsets = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])
    points = (cells[:, None, :] + offsets[None, :, :]) * cell_m
    lon, lat = transformer(BNG, WGS84).transform(points[..., 0].ravel(), points[..., 1].ravel())
    coords = np.round(np.stack([lon, lat], axis=-1).reshape(len(rows), 5, 2), 5)
    rings = coords[:, [0, 1, 2, 3, 0], :].tolist()
    centres = coords[:, 4, :].tolist()
    return [
        layers.DensityCell(lon=centre[0], lat=centre[1], ix=int(ix), iy=int(iy), cell_m=cell_m,
                           count=int(n), ring=ring)
        for (ix, iy, n), ring, centre in zip(rows, rings, centres, strict=True)
    ]  # fmt: skip


def first_square(conn: Connection, preferred: int = layers.CELL_DEFAULT_M) -> int:
    """The square size for a first view: `preferred`, or the next larger one while that would
    mean more than FIRST_VIEW_SQUARES squares (a count of the pre-counted squares, cheap)."""
    sizes = [c for c in MAP_CELLS if c >= preferred]
    counts: dict[int, int] = dict(
        conn.execute(
            text(
                "SELECT s.c, (SELECT count(*) FROM address_cell_counts(s.c, :x0, :y0, :x1, :y1)) "
                "FROM unnest(CAST(:sizes AS integer[])) AS s(c)"
            ),
            {"sizes": sizes, "x0": BNG_X[0], "y0": BNG_Y[0], "x1": BNG_X[1], "y1": BNG_Y[1]},
        ).all()
    )
    return next((c for c in sizes if counts[c] <= FIRST_VIEW_SQUARES), sizes[-1])


def street_count(conn: Connection) -> int:
    """Street segments in the register (roads hold no personal data: no row-level security)."""
    return int(conn.execute(text("SELECT count(*) FROM roads")).scalar_one())


def map_layers(conn: Connection, cell_m: int, main_roads_only: bool) -> layers.MapLayers:
    """Everything the main map draws, as this user may see it (RLS for the camera sites)."""
    return layers.MapLayers(
        areas=layers.areas(conn, simplify_m=10),
        roads=layers.roads(conn, main_only=main_roads_only, simplify_m=2),
        density=address_squares(conn, cell_m),
        stations=layers.stations(conn, areas_only=True),
        cctv=layers.cctv_sites(conn, areas_only=True),
        anpr=layers.anpr_sites(conn, areas_only=True),
    )
