"""Risk: the address risk layer (aggregated cells, never a point per household) over the
streets and area boundaries (there is no basemap), and the explanation panel for one address,
minimised by what the signed-in user may see.

The map opens on the busiest place of the chosen area (the areas' cells together span towns
tens of kilometres apart: their plain average is an empty hillside)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pydeck as pdk
import streamlit as st

from hardening import layers
from hardening.bbox import BBox
from hardening.errors import HardeningError, UserInputError
from hardening.reports.risk_fairness import risk_fairness
from hardening.risk import explain as explaining
from hardening.risk import layer
from hardening.security import access
from hardening.visits.options import form_options
from ui.deck import (
    CompactDeck,
    area_fill_layer,
    area_outline_layer,
    busiest_point,
    street_layers,
)
from ui.fairness import fairness_view
from ui.labels import word
from ui.risk import measure_rows
from ui.session import as_actor, require_actor

BANDS = ("low", "medium", "high", "very_high")
BAND_COLOUR = {
    "low": [110, 180, 110, 120],
    "medium": [245, 195, 50, 170],
    "high": [238, 118, 28, 200],
    "very_high": [200, 30, 30, 220],
}
BARROW = {"longitude": -3.22, "latitude": 54.12, "zoom": 12.5}  # when no cell is shown
PAD_DEG = 0.01  # streets this far beyond the outermost cells

actor = require_actor()
st.title("Address risk")
with as_actor(actor) as conn:
    areas = form_options(conn).areas
    police = access.may(conn, "app_reads_risk_factors")  # scores and factors, with a reason
with st.sidebar:
    area = st.selectbox(
        "Area",
        [None, *areas],
        format_func=lambda a: "all my areas" if a is None else areas[a],
        key="risk_area",
    )
    bands = st.multiselect("Bands shown", BANDS, default=BANDS, format_func=word, key="bands")
    cell_m = st.select_slider("Cell size (m)", [100, 250, 500, 1000], value=250, key="cell_m")


def _context(cells: list[layer.RiskCell]) -> tuple[list[layers.Area], list[layers.Road]]:
    """Area outlines and streets around the cells shown (main roads only when a wide view
    would carry too many streets)."""
    box = BBox(
        min(c.lon for c in cells) - PAD_DEG,
        min(c.lat for c in cells) - PAD_DEG,
        max(c.lon for c in cells) + PAD_DEG,
        max(c.lat for c in cells) + PAD_DEG,
    )
    with as_actor(actor) as conn:
        outlines = layers.areas(conn, box, simplify_m=10)
        try:
            streets = layers.roads(conn, box, simplify_m=2)
        except UserInputError:  # too many for one view
            streets = layers.roads(conn, box, main_only=True, simplify_m=5)
    return outlines, streets


def _legend() -> str:
    def swatch(style: str, label: str) -> str:
        return (
            f'<span style="display:inline-block;vertical-align:middle;margin:0 4px 0 14px;'
            f'{style}"></span>{label}'
        )

    items = [
        swatch("width:14px;height:14px;background:rgba({},{},{},{:.2f})".format(
            *BAND_COLOUR[b][:3], BAND_COLOUR[b][3] / 255), word(b))
        for b in BANDS
    ] + [
        swatch("width:26px;height:4px;background:#fff;border:1px solid #969ca8", "street"),
        swatch("width:26px;height:0;border-top:2px solid #3c405c", "area boundary"),
    ]  # fmt: skip
    return f'<div style="font-size:0.85rem">{"".join(items)}</div>'


try:
    with as_actor(actor) as conn:
        cells = layer.grid(conn, int(cell_m), area_id=area)
except HardeningError as exc:
    st.error(str(exc))
    st.stop()

shown = [c for c in cells if c.band in bands]
if not cells:
    st.info("No risk scores you may see (run `hardening risk score`, or ask for the risk band).")
elif not shown:
    st.info("No cells in the bands chosen: choose more bands in the sidebar.")
else:
    records = []
    for c in shown:
        tip = (
            f"<b>{word(c.band)}</b><br/>{c.dwellings} dwelling"
            f"{'s' if c.dwellings != 1 else ''}, {c.high} high or very high"
        )
        if c.max_score is not None:  # police (sql/034 gives scores to those who read factors)
            tip += f"<br/>highest score {c.max_score:.1f}"
        records.append(
            c.as_dict() | {"polygon": layer.cell_ring(c), "colour": BAND_COLOUR[c.band], "tip": tip}
        )
    try:
        outlines, streets = _context(shown)
    except HardeningError:  # the cells still show without their context
        outlines, streets = [], []
    deck = CompactDeck(
        layers=[
            area_fill_layer(outlines),
            pdk.Layer(
                "PolygonLayer",
                records,
                id="risk-cells",
                get_polygon="polygon",
                get_fill_color="colour",
                stroked=False,
                pickable=True,
            ),
            *street_layers(streets),
            area_outline_layer(outlines),
        ],
        initial_view_state=busiest_point([(c.lon, c.lat, c.dwellings) for c in shown], BARROW),
        map_provider=None,  # no basemap and no map_style: no outside request
        tooltip={"html": "{tip}", "style": {"fontSize": "13px"}},
    )  # fmt: skip
    st.pydeck_chart(deck, height=560, key="risk_map")
    st.markdown(_legend(), unsafe_allow_html=True)
    where = "all your areas" if area is None else areas[area]
    dwellings = sum(c.dwellings for c in shown)
    st.caption(
        f"{dwellings:,} dwelling{'s' if dwellings != 1 else ''} in {len(shown):,} "
        f"cell{'s' if len(shown) != 1 else ''} of {int(cell_m)} m in {where}."
    )

st.subheader("Why is an address at risk?")
with st.form("explain"):
    uprn = st.number_input("UPRN", min_value=1, step=1, format="%d")
    reason = st.text_input("Reason (logged)", disabled=not police)
    asked = st.form_submit_button("Explain")
if asked:
    try:
        with as_actor(actor) as conn:
            view = explaining.explain(conn, int(uprn), reason or None)
    except HardeningError as exc:
        st.error(str(exc))
        st.stop()
    band = word(view["band"])
    score = f" (score {view['score']:.1f})" if "score" in view else ""
    st.markdown(f"**Band: {band}**{score} - risk model {view['model_version']}")
    for sentence in view.get("top_reasons", []):
        st.markdown(f"- {sentence}")
    if view.get("contributions"):
        st.bar_chart({word(c["factor"]): c["contribution"] for c in view["contributions"]})
    if view.get("note"):
        st.info(view["note"])
    if view.get("recommended_measures"):
        st.markdown("**Measures that would lower it most**")
        st.table(pd.DataFrame(measure_rows(view["recommended_measures"])).set_index("Measure"))

st.subheader("Is the ranking fair?")
if not {"analyst", "admin"} & set(actor.roles):
    st.caption("The fairness audit of the ranking is for analysts and admins.")
    st.stop()
with st.form("fairness"):
    year = st.number_input(
        "Year", min_value=2000, max_value=2100, value=date.today().year - 1, step=1, format="%d"
    )
    audited = st.form_submit_button("Audit the ranking")
if audited:
    with st.spinner("Scoring every home as of 1 January and counting the year's reports..."):
        try:
            with as_actor(actor) as conn:
                result = risk_fairness(conn, int(year), area)
            st.session_state["fairness_audit"] = (int(year), area, result)
        except HardeningError as exc:
            st.error(str(exc))
            st.stop()
if "fairness_audit" in st.session_state:
    audit_year, audit_area, audit = st.session_state["fairness_audit"]
    fairness_view(audit, audit_year, "all your areas" if audit_area is None else areas[audit_area])
