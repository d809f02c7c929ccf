"""pydeck for the pages: a Deck whose JSON is compact, the opening view, and the context layers
(area outlines, streets) every map draws for itself since it has no basemap.

pydeck serialises with `indent=2`; for a map of a million-address town that doubles what the
browser downloads and parses (about 5 MB instead of 2.4 MB) for nothing.

pydeck reads every string argument of a layer as a JavaScript expression: a constant string
(`width_units`, `font_family`) must carry its own quotes ('"pixels"'), or deck.gl gets an
accessor where it wants a word (a route drawn metres wide: a solid blue map).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Final

import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from hardening.layers import MAIN_ROAD_CLASSES, Area, DensityCell, Road

TOWN_KM: Final = 5.0  # the opening view gathers the squares this close to the fullest one
PIXELS: Final = '"pixels"'  # a constant string for pydeck (see above)
Colour = list[int]
AREA_FILL: Final[Colour] = [246, 244, 238, 255]
AREA_LINE: Final[Colour] = [60, 64, 92, 255]
ROAD_LINE: Final[Colour] = [255, 255, 255, 255]
ROAD_CASING: Final[Colour] = [150, 156, 168, 255]


class CompactDeck(pdk.Deck):  # type: ignore[misc]  # pydeck is untyped
    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def busiest_point(
    points: Sequence[tuple[float, float, float]], fallback: dict[str, Any]
) -> pdk.ViewState:
    """The busiest place among (lon, lat, weight) points at the fallback's zoom: the
    weight-weighted centre of the points within TOWN_KM of the heaviest one (a map of several
    towns opens on the biggest, not on the empty fells between them)."""
    if not points:
        return pdk.ViewState(**fallback)
    top_lon, top_lat, _ = max(points, key=lambda p: p[2])
    dlat = TOWN_KM / 111.2
    dlon = dlat / math.cos(math.radians(top_lat))
    near = [p for p in points if abs(p[1] - top_lat) <= dlat and abs(p[0] - top_lon) <= dlon]
    weights = [max(p[2], 1) for p in near]
    return pdk.ViewState(
        longitude=sum(p[0] * w for p, w in zip(near, weights, strict=True)) / sum(weights),
        latitude=sum(p[1] * w for p, w in zip(near, weights, strict=True)) / sum(weights),
        zoom=fallback["zoom"],
    )


def busiest_view(cells: Sequence[DensityCell], fallback: dict[str, Any]) -> pdk.ViewState:
    """The user's busiest place at the fallback's zoom: the count-weighted centre of the squares
    within TOWN_KM of the fullest one they may see (a Carlisle planner opens on Carlisle, and a
    county-wide one on its biggest town, not on the empty fells between towns)."""
    return busiest_point([(c.lon, c.lat, c.count) for c in cells], fallback)


def fit_view(
    points: Sequence[tuple[float, float]],
    fallback: dict[str, Any],
    width_px: int = 800,
    height_px: int = 480,
    max_zoom: float = 16.0,
) -> pdk.ViewState:
    """A view that shows every (lon, lat) point with a margin, in a map of about that size."""
    if not points:
        return pdk.ViewState(**fallback)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon, lat = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    span_lon = max(max(lons) - min(lons), 1e-4)
    span_lat = max(max(lats) - min(lats), 1e-4) / math.cos(math.radians(lat))
    zoom = math.log2(min(width_px / span_lon, height_px / span_lat) * 360 / 256) - 0.4
    return pdk.ViewState(longitude=lon, latitude=lat, zoom=round(min(zoom, max_zoom), 2))


def area_fill_layer(areas: Sequence[Area]) -> pdk.Layer:
    """The areas' ground, under everything else."""
    polygons = [{"polygon": polygon} for area in areas for polygon in area.polygons]
    return pdk.Layer("PolygonLayer", polygons, id="area-fill", get_polygon="polygon",
                     get_fill_color=AREA_FILL, stroked=False, pickable=False)  # fmt: skip


def area_outline_layer(areas: Sequence[Area]) -> pdk.Layer:
    outlines = [
        {"path": ring, "name": area.name}
        for area in areas
        for polygon in area.polygons
        for ring in polygon
    ]
    return pdk.Layer(
        "PathLayer", outlines, id="area-outline", get_path="path", get_color=AREA_LINE,
        get_width=2, width_units=PIXELS, pickable=False,
    )  # fmt: skip


def street_layers(roads: Sequence[Road], pickable: bool = False) -> list[pdk.Layer]:
    """Streets as white lines over a grey casing (main roads wider): they read over any fill.
    pickable: the white line shows the street's name ("tip") under the pointer."""
    main = set(MAIN_ROAD_CLASSES)
    casing = [{"path": r.path, "width": 3.5 if r.road_class in main else 1.5} for r in roads]
    # Only the white line is picked: the casing goes without names (less for the browser).
    lines = [
        {**c, "tip": " ".join(filter(None, [r.ref, r.name])) or r.road_class.replace("_", " ")}
        for c, r in zip(casing, roads, strict=True)
    ]
    return [
        pdk.Layer("PathLayer", paths, id=layer_id, get_path="path", get_color=colour,
                  get_width=f"width + {extra}", width_units=PIXELS, cap_rounded=True,
                  joint_rounded=True, pickable=pickable and layer_id == "roads")
        for layer_id, paths, colour, extra in (("road-casing", casing, ROAD_CASING, 2),
                                               ("roads", lines, ROAD_LINE, 0))
    ]  # fmt: skip


def context_layer(roads: Sequence[Road], areas: Sequence[Area]) -> pdk.Layer:
    """Streets and area outlines as one pickable PathLayer ("context"), drawn in data order:
    the streets' grey casings, their white lines, then the outlines. The map's first view
    draws this instead of street_layers + area_outline_layer: in a browser without a GPU each
    PathLayer costs its own time before the first frame, whatever it holds (docs/tiles.md).
    Every row has a tip (a street's name, an area's), so the pointer names what it is on."""
    main = set(MAIN_ROAD_CLASSES)
    streets = [
        (r.path, 3.5 if r.road_class in main else 1.5,
         " ".join(filter(None, [r.ref, r.name])) or r.road_class.replace("_", " "))
        for r in roads
    ]  # fmt: skip
    rows = [
        *({"path": p, "colour": ROAD_CASING, "width": w + 2, "tip": t} for p, w, t in streets),
        *({"path": p, "colour": ROAD_LINE, "width": w, "tip": t} for p, w, t in streets),
        *(
            {"path": ring, "colour": AREA_LINE, "width": 2, "tip": area.name}
            for area in areas
            for polygon in area.polygons
            for ring in polygon
        ),
    ]
    return pdk.Layer(
        "PathLayer", rows, id="context", get_path="path", get_color="colour", get_width="width",
        width_units=PIXELS, cap_rounded=True, joint_rounded=True, pickable=True,
    )  # fmt: skip
