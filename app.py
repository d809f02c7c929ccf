"""Streamlit map: the town's addresses (aggregated to a BNG grid), stations, CCTV and ANPR sites
over street and boundary layers drawn from the database, opening on the user's busiest town.

There is no basemap (`map_provider=None`, no `map_style`): the page makes no outside request and
stays readable offline. The page asks for sign-in first (`ui.session`); data then comes only
through `hardening.tiles.mapdata` (over `hardening.layers`), in one transaction as the signed-in
user, so row-level security decides which cameras they see (address density is a
disclosure-controlled aggregate, read from the pre-counted grid so a million-address town
loads as fast as a small one). A large town's first view uses larger squares and, above a few
thousand street segments, main roads only; the sidebar changes both.
The first view draws lines and points only (deck.gl's PathLayer and ScatterplotLayer): in a
browser without a GPU each kind of layer costs seconds before the first frame, so the address
squares are wide lines, the areas are outlines over the chart's own background, and station
names are in their tooltips (labels when the sidebar asks for them). Each PathLayer costs such
a browser about as much as its kind, so streets and area outlines are one layer
(`ui.deck.context_layer`), and the QGIS download is built after the map is sent; see
docs/tiles.md.
The sidebar lists only the pages the signed-in user may use (`ui.session.usable_pages`), the
map first; nobody signed in gets the sign-in form and no menu.
Run: `streamlit run app.py --server.headless true`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pydeck as pdk
import streamlit as st

from hardening import layers
from hardening.db.engine import Actor
from hardening.errors import HardeningError
from hardening.qgisproject.project import AUTHCFG
from hardening.qgisproject.project import build as qgis_project
from hardening.settings import get_settings
from hardening.tiles import mapdata
from ui.deck import AREA_LINE, ROAD_CASING, CompactDeck, busiest_view, context_layer
from ui.session import PAGES, as_actor, current_actor, require_actor, usable_pages

BARROW = {"longitude": -3.22, "latitude": 54.12, "zoom": 12.2}  # when the user sees no squares
CELL_CHOICES = list(mapdata.MAP_CELLS)  # the pre-counted square sizes
CACHE_TTL_S = 60
Colour = list[int]

AREA_FILL: Colour = [250, 248, 242, 255]
STATION: Colour = [28, 58, 150, 255]
BUS_STATION: Colour = [0, 120, 130, 255]
ANPR: Colour = [128, 50, 170, 255]
CCTV_STATUS: dict[str, Colour] = {
    "working": [24, 150, 78, 255],
    "faulty": [214, 40, 40, 255],
    "planned": [80, 120, 220, 255],
    "removed": [130, 130, 130, 255],
}
# YlOrRd: few addresses pale yellow, many deep red.
DENSITY_RAMP: list[Colour] = [
    [255, 237, 160],
    [254, 217, 118],
    [254, 178, 76],
    [253, 141, 60],
    [240, 59, 32],
    [189, 0, 38],
]
LAYER_TOGGLES = {
    "areas": "Area boundaries",
    "roads": "Streets",
    "density": "Address density",
    "stations": "Stations",
    "labels": "Station names",
    "cctv": "CCTV",
    "anpr": "ANPR",
}
# Drawn only when asked for: a TextLayer's glyphs cost a software-rendered browser 1-3 s
# before the first frame, and every station's name is in its tooltip.
OFF_AT_FIRST = {"labels"}
METERS = '"meters"'  # a constant string for pydeck (see ui/deck.py)
SQUARE_GAP = 0.08  # the share of a square left between it and its neighbours


MapData = layers.MapLayers


# Signing in draws the map from these caches. What every user sees alike (mapdata.TownLayers)
# is loaded once for everyone: `_actor`, not hashed (the leading underscore), only runs the
# query. Camera sites are cached per organisation, the unit row-level security decides them
# by (mapdata.CameraLayers); the system actor (no user) has its own entry. Values are classes
# from importable modules: st.cache_data pickles them.
@st.cache_data(ttl=CACHE_TTL_S, show_spinner="Loading map layers...")
def load_town(_actor: Actor, cell_m: int, main_roads_only: bool) -> mapdata.TownLayers:
    with as_actor(_actor) as conn:
        return mapdata.town_layers(conn, cell_m, main_roads_only)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_cameras(org_id: str | None, system: bool, _actor: Actor) -> mapdata.CameraLayers:
    with as_actor(_actor) as conn:
        return mapdata.camera_layers(conn)


def load_map(actor: Actor, cell_m: int, main_roads_only: bool) -> MapData:
    """The layers as this user may see them."""
    town = load_town(actor, cell_m, main_roads_only)
    cameras = load_cameras(actor.org_id, actor.user_id is None, actor)
    return MapData(town.areas, town.roads, town.density, town.stations, cameras.cctv, cameras.anpr)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def first_view(_actor: Actor) -> tuple[int, int]:
    """The first view's square size and the number of street segments (a large town starts
    with bigger squares and main roads only, so its first render stays quick); the same for
    every user, like the town layers."""
    with as_actor(_actor) as conn:
        return mapdata.first_square(conn), mapdata.street_count(conn)


def _ramp(t: float) -> Colour:
    """Colour for t in 0..1 along DENSITY_RAMP, linear between its stops."""
    t = min(max(t, 0.0), 1.0) * (len(DENSITY_RAMP) - 1)
    i = min(int(t), len(DENSITY_RAMP) - 2)
    a, b = DENSITY_RAMP[i], DENSITY_RAMP[i + 1]
    return [round(x + (y - x) * (t - i)) for x, y in zip(a, b, strict=True)] + [190]


def _square_path(cell: layers.DensityCell) -> list[list[float]]:
    """The square as a line across its middle, west to east, short of the edges by half the
    gap: drawn as wide as the square (metres, flat caps) it covers the square. A PathLayer,
    like the streets', costs the browser no polygon pipelines of its own (see docs/tiles.md)."""
    sw, se, ne, nw = cell.ring[:4]
    west = [(a + b) / 2 for a, b in zip(sw, nw, strict=True)]
    east = [(a + b) / 2 for a, b in zip(se, ne, strict=True)]
    inset = SQUARE_GAP / 2
    return [
        [round(w + (e - w) * t, 5) for w, e in zip(west, east, strict=True)]
        for t in (inset, 1 - inset)
    ]


def _records(items: list[Any], tip: str, keep: tuple[str, ...]) -> list[dict[str, Any]]:
    """Plain dicts for deck.gl with only the fields the map uses (thousands of cameras go to
    the browser), each with its tooltip (None shown as blank) and lon/lat to about a metre."""
    rows = [asdict(item) for item in items]
    return [
        {**{k: row[k] for k in keep}, "lon": round(row["lon"], 5), "lat": round(row["lat"], 5),
         "tip": tip.format(**{k: "" if v is None else v for k, v in row.items()})}
        for row in rows
    ]  # fmt: skip


def build_layers(data: MapData, show: dict[str, bool]) -> list[pdk.Layer]:
    out: list[pdk.Layer] = []
    if show["density"]:
        top = max((c.count for c in data.density), default=1)
        cells = [
            {"path": _square_path(c), "count": c.count, "fill": _ramp((c.count / top) ** 0.5),
             "tip": f"<b>{c.count}</b> address{'es' if c.count != 1 else ''} "
                    f"in this {c.cell_m} m square"}
            for c in data.density
        ]  # fmt: skip
        side = data.density[0].cell_m * (1 - SQUARE_GAP) if data.density else 0
        out.append(
            pdk.Layer("PathLayer", cells, id="density", get_path="path", get_color="fill",
                      get_width=side, width_units=METERS, cap_rounded=False, pickable=True)
        )  # fmt: skip
    if show["roads"] or show["areas"]:  # streets read on every colour: white over grey
        out.append(context_layer(data.roads if show["roads"] else [],
                                 data.areas if show["areas"] else []))  # fmt: skip
    hubs = _records(data.stations, "<b>{name}</b> {code}", ("key", "name"))
    for hub, station in zip(hubs, data.stations, strict=True):
        hub["colour"] = BUS_STATION if station.kind == "bus_station" else STATION
        hub["tip"] += "<br/>" + station.kind.replace("_", " ")
    if show["labels"]:
        # Labels go under every marker: a long name never hides a camera or a station.
        out.append(
            pdk.Layer("TextLayer", hubs, id="station-labels", get_position="[lon, lat]",
                      get_text="name", get_size=15, get_color=[20, 30, 70],
                      get_pixel_offset=[0, -24], font_weight=700, background=True,
                      font_family='"Source Sans Pro, Helvetica, Arial, sans-serif"',
                      get_background_color=[255, 255, 255, 230],
                      background_padding=[5, 2, 5, 2], pickable=False)
        )  # fmt: skip
    if show["cctv"]:
        cameras = _records(data.cctv, "<b>CCTV</b> {name}<br/>{status}", ("name",))
        for cam, site in zip(cameras, data.cctv, strict=True):
            cam["colour"] = CCTV_STATUS.get(site.status, CCTV_STATUS["removed"])
        out.append(
            pdk.Layer("ScatterplotLayer", cameras, id="cctv", get_position="[lon, lat]",
                      get_fill_color="colour", get_radius=25, radius_min_pixels=6,
                      radius_max_pixels=12, stroked=True, get_line_color=[255, 255, 255],
                      line_width_min_pixels=1.5, pickable=True)
        )  # fmt: skip
    if show["anpr"]:
        sites = _records(data.anpr, "<b>ANPR</b> {name}<br/>{road_name} {direction}", ("name",))
        out.append(
            pdk.Layer("ScatterplotLayer", sites, id="anpr", get_position="[lon, lat]",
                      get_fill_color=ANPR, get_radius=35, radius_min_pixels=6,
                      radius_max_pixels=14, stroked=True, get_line_color=[20, 20, 20],
                      line_width_min_pixels=2, pickable=True)
        )  # fmt: skip
    if show["stations"]:
        out.append(
            pdk.Layer("ScatterplotLayer", hubs, id="stations", get_position="[lon, lat]",
                      get_fill_color="colour", get_radius=70, radius_min_pixels=9,
                      radius_max_pixels=22, stroked=True, get_line_color=[255, 255, 255],
                      line_width_min_pixels=3, pickable=True)
        )  # fmt: skip
    return out


def build_deck(data: MapData, show: dict[str, bool]) -> pdk.Deck:
    return CompactDeck(
        layers=build_layers(data, show),
        initial_view_state=busiest_view(data.density, BARROW),
        map_provider=None,  # no basemap and no map_style: no outside request
        tooltip={"html": "{tip}", "style": {"fontSize": "13px"}},
    )


def _legend() -> str:
    def rgb(colour: Colour) -> str:
        return "rgb({},{},{})".format(*colour[:3])

    def swatch(style: str, label: str) -> str:
        return (
            f'<span style="display:inline-block;vertical-align:middle;margin:0 4px 0 14px;'
            f'{style}"></span>{label}'
        )

    dot = "width:11px;height:11px;border-radius:50%;background:"
    ramp = ",".join(rgb(c) for c in DENSITY_RAMP)
    items = [
        swatch(dot + rgb(STATION), "rail station"),
        swatch(dot + rgb(BUS_STATION), "bus station"),
        swatch(dot + rgb(CCTV_STATUS["working"]), "CCTV working"),
        swatch(dot + rgb(CCTV_STATUS["faulty"]), "CCTV faulty"),
        swatch(dot + rgb(ANPR), "ANPR"),
        swatch(f"width:60px;height:10px;background:linear-gradient(90deg,{ramp})", "addresses"),
        swatch(f"width:26px;height:4px;background:#fff;border:1px solid {rgb(ROAD_CASING)}",
               "street"),
        swatch(f"width:26px;height:0;border-top:2px solid {rgb(AREA_LINE)}", "area boundary"),
    ]  # fmt: skip
    hint = "<br/>Point at a square, station, camera, street or boundary for its count or name."
    return f'<div style="font-size:0.85rem">{"".join(items)}{hint}</div>'


QGIS_PROJECT = "qgis_project_bytes"  # (username, the .qgz) for this session


def qgis_download(actor: Actor) -> None:
    """The user's layers as a ready QGIS project (no secret in it: QGIS keeps the token)."""
    st.header("QGIS")
    server = get_settings().api_public_url
    # Built once a session, not on every run of the map: the layers a user may see change
    # with their role or agreements, which a new sign-in picks up.
    built = st.session_state.get(QGIS_PROJECT)
    if built is None or built[0] != actor.username:
        try:
            with as_actor(actor) as conn:
                built = (actor.username, qgis_project(conn, server, actor.username))
        except HardeningError as exc:
            st.caption(f"No QGIS project: {exc}")
            return
        st.session_state[QGIS_PROJECT] = built
    data = built[1]
    st.download_button(
        "Download QGIS project",
        data,
        file_name=f"hardening-{actor.username}.qgz",
        mime="application/zip",
        key="qgis_project",
    )
    st.caption(
        f"Every layer you may see, styled like this map, read from {server}. In QGIS, add a "
        f"Basic authentication configuration with id {AUTHCFG}: your username, and an API "
        "token (from an administrator) as the password. Markers and work orders need a token "
        "with a standing purpose. See docs/ogc.md."
    )


def main() -> None:
    actor = require_actor()  # the sign-in form, and a stop, when nobody is signed in
    ground = "rgb({},{},{})".format(*AREA_FILL[:3])  # the areas' ground: no polygons to draw
    st.markdown(
        f"<style>[data-testid='stDeckGlJsonChart']{{background:{ground};border-radius:6px}}"
        "</style>",
        unsafe_allow_html=True,
    )
    st.title("Target hardening map")
    with st.sidebar:
        st.header("Layers")
        show = {key: st.checkbox(label, value=key not in OFF_AT_FIRST, key=f"layer_{key}")
                for key, label in LAYER_TOGGLES.items()}  # fmt: skip
        try:
            first_cell, streets = first_view(actor)
        except HardeningError:  # the map's own load below says what is wrong
            first_cell, streets = layers.CELL_DEFAULT_M, 0
        many = streets > mapdata.FULL_STREETS_LIMIT
        main_only = st.checkbox("Main roads only", value=many, key="main_roads_only")
        if many and main_only:
            st.caption(f"{streets:,} street segments: untick to draw them all (slower).")
        cell_m = st.select_slider(
            "Grid square (m)", options=CELL_CHOICES, value=first_cell, key="cell"
        )
        st.caption(
            "No basemap: streets and boundaries come from the database, so the map works "
            "offline. Addresses are counted per square of the British National Grid; squares "
            "with fewer than 10 are not shown and counts are rounded to 5 (disclosure control)."
        )
    try:
        data = load_map(actor, int(cell_m), main_only)
    except HardeningError as exc:
        st.error(f"Map data unavailable: {exc}")
        st.stop()
    working = sum(c.status == "working" for c in data.cctv)
    cols = st.columns(5)
    cols[0].metric("Addresses", f"{sum(c.count for c in data.density):,}")
    cols[1].metric("Stations", len(data.stations))
    cols[2].metric("CCTV working", working)
    cols[3].metric("CCTV faulty", sum(c.status == "faulty" for c in data.cctv))
    cols[4].metric("ANPR sites", len(data.anpr))
    st.pydeck_chart(build_deck(data, show), height=640, key="map")
    st.markdown(_legend(), unsafe_allow_html=True)
    with st.sidebar:  # after the map: the browser starts on the map while this is built
        qgis_download(actor)


def navigate() -> None:
    """The menu: the user's pages, the map first. Signed out, every page is known (a link to
    one survives signing in) but none is listed, and the sign-in form shows instead."""
    actor = current_actor()
    pages = [
        st.Page(main, title=rule.title, default=True)
        if not rule.script
        else st.Page(rule.script, title=rule.title, url_path=rule.slug)
        for rule in (usable_pages(actor) if actor is not None else PAGES)
    ]
    chosen = st.navigation(pages, position="sidebar" if actor is not None else "hidden")
    st.set_page_config(page_title=chosen.title, layout="wide")  # maps and tables need the room
    if actor is None:
        require_actor()  # the sign-in form, then a stop
    chosen.run()


navigate()
