"""Control room: one search box (what the caller said, a UPRN, or a point), a status banner
(marker / block marker / nearby / none), the grading advice, the candidates when the address
is ambiguous, a small offline map of the block and recent events, and the review history.
Every search needs a reason and is audited."""

from __future__ import annotations

import re
from typing import Any

import pydeck as pdk
import streamlit as st

from hardening import layers
from hardening.errors import HardeningError
from hardening.markers.lookup import lookup
from ui.session import as_actor, require_actor

NUMBERS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")
BANNERS = {
    "marker": ("error", "SAFE MARKER ON THIS ADDRESS"),
    "block_marker": ("error", "SAFE MARKER ON THIS BLOCK"),
    "nearby_marker": ("warning", "SAFE marker at a neighbouring address"),
    "none": ("success", "No SAFE marker here"),
}
COLOURS = {
    "address": [200, 30, 30, 230],
    "block": [200, 30, 30, 230],
    "flat_in_block": [220, 80, 30, 230],
    "nearby": [240, 150, 30, 220],
}

CONTEXT_DEG = (0.012, 0.007)  # about 800 m each way around the look-up

actor = require_actor()
st.title("Control room look-up")


def target(query: str) -> dict[str, Any]:
    """A UPRN (digits), a point ("lon, lat" or BNG "x, y"), or the address as said."""
    text_value = query.strip()
    if text_value.isdigit() and len(text_value) <= 12:
        return {"uprn": int(text_value)}
    pair = NUMBERS.match(text_value)
    if pair:
        a, b = float(pair.group(1)), float(pair.group(2))
        if abs(a) <= 180 and abs(b) <= 90:
            return {"lon": a, "lat": b, "radius_m": radius}
        return {"x": a, "y": b, "radius_m": radius}
    return {"q": text_value}


with st.form("search"):
    query = st.text_input(
        "Address, UPRN or point",
        value=st.session_state.get("cr_query", ""),
        placeholder="flat 3, 12 ramsden st, barrow  |  990000000020  |  -3.2263, 54.1197",
    )
    reason = st.text_input("Reason (audited)", placeholder="e.g. 999 call: concern for welfare")
    radius = st.slider("Radius for a point (m)", 10, 500, 50, step=10)
    searched = st.form_submit_button("Look up", type="primary")

if searched:
    st.session_state["cr_query"] = query
    st.session_state["cr_reason"] = reason
picked = st.session_state.pop("cr_pick", None)
if picked is not None:
    st.session_state["cr_query"] = str(picked)
query = st.session_state.get("cr_query", "")
reason = st.session_state.get("cr_reason", "")
if not query.strip():
    st.caption("Type what the caller said, a UPRN, or a point; give the reason for looking.")
    st.stop()

try:
    with as_actor(actor) as conn:
        answer = lookup(conn, reason=reason, history=True, **target(query))
        centre = answer["centre"]
        # Streets for context: the map has no basemap (offline), so it draws its own.
        streets = (
            layers.roads(
                conn,
                layers.BBox(
                    centre["lon"] - CONTEXT_DEG[0],
                    centre["lat"] - CONTEXT_DEG[1],
                    centre["lon"] + CONTEXT_DEG[0],
                    centre["lat"] + CONTEXT_DEG[1],
                ),
            )
            if centre
            else []
        )
except HardeningError as exc:
    st.error(str(exc))
    st.stop()

kind, words = BANNERS[answer["status"]]
getattr(st, kind)(f"## {words}")

match = answer["match"]
if match and match["status"] != "matched":
    st.warning(
        f"Address {match['status'].replace('_', ' ')} "
        f"(confidence {match['confidence']:.0%}): confirm with the caller."
    )
    for c in match["candidates"]:
        flag = "⚠ marker" if c.get("has_marker") else ""
        label = f"{c['full_address']}  ({c['confidence']:.0%}) {flag}"
        if st.button(label, key=f"pick-{c['uprn']}"):
            st.session_state["cr_pick"] = c["uprn"]
            st.rerun()

address = answer["address"]
if address:
    confidence = f" — match {match['confidence']:.0%}" if match else ""
    st.subheader(address["full_address"] + confidence)
    details = [f"UPRN {address['uprn']}", address["property_type"]]
    if address["block_address"]:
        details.append(f"in block {address['block_address']}")
    if address["flats"]:
        details.append(f"{address['flats']} flats")
    st.caption(" · ".join(details))
else:
    st.subheader("No address found")

for advice in answer["grading_advice"]:
    st.markdown(f"**Grading advice:** {advice}")

left, middle, right = st.columns(3)
left.metric("Markers in force", len(answer["markers"]))
middle.metric("Risk band", (answer["risk"] or {}).get("band", "—"))
events = answer["incidents"]
right.metric(f"Incidents, {events['radius_m']:.0f} m / {events['days']} days", events["count"])
if events["by_category"]:
    st.caption(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in events["by_category"].items()))

if answer["markers"]:
    st.dataframe(
        [
            {
                "relation": m["relation"].replace("_", " "),
                "address": m["full_address"],
                "metres": m["metres"],
                "reason": m["reason_category"].replace("_", " "),
                "state": m["state"].replace("_", " "),
                "review due": m["review_due"],
            }
            for m in answer["markers"]
        ],
        hide_index=True,
        width="stretch",
    )

if centre:
    streets_layer = pdk.Layer(
        "PathLayer",
        id="streets",
        data=[{"path": r.path, "what": r.name or r.road_class} for r in streets],
        get_path="path",
        get_color=[170, 170, 170, 200],
        width_min_pixels=2,
        pickable=True,
    )
    events_layer = pdk.Layer(
        "ScatterplotLayer",
        id="incidents",
        data=[{**e, "what": e["category"]} for e in events["items"]],
        get_position=["lon", "lat"],
        get_fill_color=[60, 90, 200, 160],
        get_radius=8,
        pickable=True,
    )
    markers_layer = pdk.Layer(
        "ScatterplotLayer",
        id="markers",
        data=[
            {**m, "colour": COLOURS[m["relation"]], "what": m["reason_category"]}
            for m in answer["markers"]
        ],
        get_position=["lon", "lat"],
        get_fill_color="colour",
        get_radius=12,
        pickable=True,
    )
    here = [{"lon": address["lon"], "lat": address["lat"], "what": "here"}] if address else []
    here_layer = pdk.Layer(
        "ScatterplotLayer",
        id="address",
        data=here,
        get_position=["lon", "lat"],
        get_fill_color=[20, 20, 20, 255],
        get_line_color=[255, 255, 255, 255],
        stroked=True,
        line_width_min_pixels=2,
        get_radius=6,
    )
    ring = pdk.Layer(
        "ScatterplotLayer",
        id="near_repeat",
        data=[centre],
        get_position=["lon", "lat"],
        get_radius=events["radius_m"],
        filled=False,
        stroked=True,
        get_line_color=[90, 90, 90, 160],
        line_width_min_pixels=1,
    )
    st.pydeck_chart(
        pdk.Deck(
            layers=[streets_layer, ring, events_layer, markers_layer, here_layer],
            initial_view_state=pdk.ViewState(
                longitude=centre["lon"], latitude=centre["lat"], zoom=14.6
            ),
            tooltip={"text": "{what}"},
            map_provider=None,
        ),
        height=380,
    )

reviews = answer.get("reviews") or {}
if answer["markers"]:
    st.subheader("Review history")
    for m in answer["markers"]:
        history = reviews.get(str(m["marker_id"]), [])
        with st.expander(
            f"Marker {m['marker_id']}: {m['reason_category'].replace('_', ' ')} "
            f"since {str(m['created_at'])[:10]}, {len(history)} review(s)"
        ):
            st.write(m["grading_advice"])
            if history:
                st.dataframe(
                    [
                        {
                            "when": str(r["reviewed_at"])[:16],
                            "decision": r["decision"],
                            "reason": r["reason"],
                            "next review": r["new_review_due"],
                        }
                        for r in history
                    ],
                    hide_index=True,
                    width="stretch",
                )
