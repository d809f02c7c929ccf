"""What the Streamlit map draws, fast over a large register: address squares of the sizes
read from the pre-counted grid (sql/012_tiles.sql, through `hardening.layers.address_density`,
the path `/v1/layers/address-density` takes too), and only the main roads first when the street
network is large.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, text

from hardening import layers
from hardening.geo import BNG_X, BNG_Y
from hardening.tiles.grid import CELL_LADDER

# Above this many street segments the first view shows main roads only (the user may add the
# rest): a million-address town has ~20,000, megabytes of paths for the browser.
FULL_STREETS_LIMIT: Final = 5000
MAP_CELLS: Final = tuple(c for c in CELL_LADDER if c <= layers.CELL_MAX_M)  # pre-counted
# The first view uses the smallest square (250 m or more) that gives at most this many squares:
# the browser draws a few thousand polygons in well under a second, not tens of thousands.
FIRST_VIEW_SQUARES: Final = 2000


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


# Five decimals of a degree are about a metre: plenty for a town map, and a sixth less JSON.
MAP_DECIMALS: Final = 5


@dataclass(frozen=True)
class TownLayers:
    """What every signed-in user sees alike: areas, roads and stations have no row-level
    security, and the address squares come from the pre-counted grid that
    address_cell_counts gives any signed-in user (sql/012_tiles.sql), published the same way
    for all. A page may compute them once and show them to everyone."""

    areas: list[layers.Area]
    roads: list[layers.Road]
    density: list[layers.DensityCell]
    stations: list[layers.Station]


@dataclass(frozen=True)
class CameraLayers:
    """Camera sites as one organisation may see them: the read_sites policy filters by the
    organisation's agreement (its data classes and areas), not by user or role."""

    cctv: list[layers.CctvSite]
    anpr: list[layers.AnprSite]


def town_layers(conn: Connection, cell_m: int, main_roads_only: bool) -> TownLayers:
    return TownLayers(
        areas=layers.areas(conn, simplify_m=10, decimals=MAP_DECIMALS),
        roads=layers.roads(conn, main_only=main_roads_only, simplify_m=2, decimals=MAP_DECIMALS),
        density=layers.address_density(conn, cell_m, decimals=MAP_DECIMALS),
        stations=layers.stations(conn, areas_only=True),
    )


def camera_layers(conn: Connection) -> CameraLayers:
    return CameraLayers(
        cctv=layers.cctv_sites(conn, areas_only=True),
        anpr=layers.anpr_sites(conn, areas_only=True),
    )


def map_layers(conn: Connection, cell_m: int, main_roads_only: bool) -> layers.MapLayers:
    """Everything the main map draws, as this user may see it (RLS for the camera sites)."""
    town, cameras = town_layers(conn, cell_m, main_roads_only), camera_layers(conn)
    return layers.MapLayers(
        areas=town.areas,
        roads=town.roads,
        density=town.density,
        stations=town.stations,
        cctv=cameras.cctv,
        anpr=cameras.anpr,
    )
