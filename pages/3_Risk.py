"""Risk: the address risk layer (aggregated cells, never a point per household) and the
explanation panel for one address, minimised by what the signed-in user may see."""

from __future__ import annotations

from typing import Any

import pydeck as pdk
import streamlit as st

from hardening.errors import HardeningError
from hardening.risk import explain as explaining
from hardening.risk import layer
from ui.session import as_actor, require_actor

POLICE = {"control_room", "visit_team", "analyst", "admin"}
BAND_COLOUR = {
    "low": [60, 160, 90, 90],
    "medium": [240, 190, 40, 130],
    "high": [235, 120, 30, 170],
    "very_high": [200, 30, 30, 200],
}
HALF_CELL_DEG = (0.0019 / 250, 0.00112 / 250)  # degrees per metre of half a cell, lon and lat

actor = require_actor()
st.title("Address risk")
police = bool(POLICE & set(actor.roles))
cell_m = st.sidebar.select_slider("Cell size (m)", [100, 250, 500, 1000], value=250)


def _ring(c: dict[str, Any]) -> list[list[float]]:
    dx, dy = HALF_CELL_DEG[0] * c["cell_m"], HALF_CELL_DEG[1] * c["cell_m"]
    lon, lat = c["lon"], c["lat"]
    return [[lon - dx, lat - dy], [lon + dx, lat - dy], [lon + dx, lat + dy], [lon - dx, lat + dy]]


try:
    with as_actor(actor) as conn:
        cells = layer.grid(conn, int(cell_m), scores=police)
except HardeningError as exc:
    st.error(str(exc))
    st.stop()

if not cells:
    st.info("No risk scores you may see (run `hardening risk score`, or ask for the risk band).")
else:
    records = [c | {"polygon": _ring(c), "colour": BAND_COLOUR[c["band"]]} for c in cells]
    tip = "{dwellings} dwellings, {high} high or very high" + (
        ", max score {max_score}" if police else ""
    )
    deck = pdk.Deck(
        layers=[
            pdk.Layer(
                "PolygonLayer",
                records,
                id="risk-cells",
                get_polygon="polygon",
                get_fill_color="colour",
                stroked=False,
                pickable=True,
            )
        ],
        initial_view_state=pdk.ViewState(
            longitude=sum(c["lon"] for c in cells) / len(cells),
            latitude=sum(c["lat"] for c in cells) / len(cells),
            zoom=12,
        ),
        map_provider=None,
        tooltip={"text": tip},
    )
    st.pydeck_chart(deck)
    st.caption(f"{sum(c['dwellings'] for c in cells):,} dwellings in {len(cells):,} cells.")

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
    band = view["band"].replace("_", " ")
    score = f" (score {view['score']:.1f})" if "score" in view else ""
    st.markdown(f"**Band: {band}**{score} - model `{view['model_version']}`")
    for sentence in view.get("top_reasons", []):
        st.markdown(f"- {sentence}")
    if view.get("contributions"):
        st.bar_chart({c["factor"]: c["contribution"] for c in view["contributions"]})
    if view.get("note"):
        st.info(view["note"])
    if view.get("recommended_measures"):
        st.markdown("**Measures that would lower it most**")
        st.table(view["recommended_measures"])
