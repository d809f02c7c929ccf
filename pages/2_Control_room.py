"""Control room: one search box (what the caller said, a UPRN, or a point), a status banner
(marker / block marker / nearby / none, or NOT CHECKED when what the caller said fits no single
address), the grading advice, the candidates to confirm with the caller, a street's addresses
when only a street was said, a small offline map, and the review history.

Every look-up needs a reason and is audited once: the answer is kept for the session and only
a new look-up (the button, or picking a candidate) asks again. The search box has a widget
key and nothing writes its value back, so each look-up shows its own answer."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from hardening import layers
from hardening.bbox import BBox
from hardening.errors import HardeningError
from hardening.markers.lookup import lookup
from ui.control_room import (
    kind_of,
    risk_words,
    show_map,
    show_markers,
    show_not_checked,
    show_reviews,
)
from ui.labels import word
from ui.session import as_actor, require_actor

NUMBERS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")
BANNERS = {
    "marker": ("error", "SAFE MARKER ON THIS ADDRESS"),
    "block_marker": ("error", "SAFE MARKER ON THIS BLOCK"),
    "nearby_marker": ("warning", "SAFE marker at a neighbouring address"),
    "none": ("success", "No SAFE marker here"),
    "not_checked": ("warning", "NOT CHECKED: confirm the address with the caller"),
}
CONTEXT_DEG = (0.012, 0.007)  # about 800 m each way around the look-up

actor = require_actor()
st.title("Control room look-up")


def target(query: str, radius: float) -> dict[str, Any]:
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


def ask(query: str, reason: str, radius: float) -> None:
    """A new look-up: the next run asks the service (once) and shows its answer."""
    seq = int(st.session_state.get("cr_seq", 0)) + 1
    st.session_state["cr_seq"] = seq
    st.session_state["cr_request"] = {
        "seq": seq,
        "query": query,
        "reason": reason,
        "radius": radius,
    }


def pick(uprn: int) -> None:
    """A candidate picked: look it up by UPRN, with the reason given for the search."""
    asked = st.session_state.get("cr_request") or {}
    st.session_state["cr_text"] = str(uprn)  # a callback runs before the widget is drawn
    ask(str(uprn), asked.get("reason", ""), asked.get("radius", 50))


def street_centre(street: dict[str, Any] | None) -> dict[str, float] | None:
    """Where to centre the map of a street listing: its marked addresses, else all of it."""
    if not street:
        return None
    first = street["streets"][0]
    points = [a for a in first["listed"] if a["has_marker"]] or first["listed"]
    if not points:
        return None
    return {
        "lon": sum(a["lon"] for a in points) / len(points),
        "lat": sum(a["lat"] for a in points) / len(points),
    }


def answer_for(request: dict[str, Any]) -> dict[str, Any]:
    """The service's answer (and the streets for the map), or the error it gave."""
    try:
        with as_actor(actor) as conn:
            answer = lookup(
                conn,
                reason=request["reason"],
                history=True,
                **target(request["query"], request["radius"]),
            )
            centre = answer["centre"] or street_centre(answer.get("street"))
            streets = (
                layers.roads(
                    conn,
                    BBox(
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
        return {"seq": request["seq"], "error": str(exc)}
    return {"seq": request["seq"], "answer": answer, "centre": centre, "streets": streets}


def show_address(answer: dict[str, Any], radius: float) -> None:
    address, match = answer["address"], answer["match"]
    if not address:
        st.subheader(f"No address within {radius:.0f} m of this point")
        return
    confidence = f" — match {match['confidence']:.0%}" if match else ""
    st.subheader(address["full_address"] + confidence)
    details = [f"UPRN {address['uprn']}", kind_of(address["property_type"])]
    if address["block_address"]:
        details.append(f"in block {address['block_address']}")
    if address["flats"]:
        details.append(f"{address['flats']} flats")
    st.caption(" · ".join(details))


with st.form("search"):
    query = st.text_input(
        "Address, UPRN or point",
        key="cr_text",
        placeholder="flat 3, 12 ramsden st, barrow  |  990000000020  |  -3.2263, 54.1197",
    )
    reason = st.text_input(
        "Reason (audited)", key="cr_reason", placeholder="e.g. 999 call: concern for welfare"
    )
    radius = st.slider("Radius for a point (m)", 10, 500, 50, step=10, key="cr_radius")
    searched = st.form_submit_button("Look up", type="primary")

if searched:
    ask(query, reason, radius)
request = st.session_state.get("cr_request")
if not request or not request["query"].strip():
    st.caption("Type what the caller said, a UPRN, or a point; give the reason for looking.")
    st.stop()
result = st.session_state.get("cr_result")
if not result or result["seq"] != request["seq"]:
    result = answer_for(request)
    st.session_state["cr_result"] = result
if "error" in result:
    st.error(result["error"])
    st.stop()

answer = result["answer"]
kind, words = BANNERS[answer["status"]]
if answer["status"] == "none" and answer["query"]["by"] == "point":
    words = f"No SAFE marker within {request['radius']:.0f} m of this point"
getattr(st, kind)(f"## {words}")

if answer["status"] == "not_checked":
    show_not_checked(answer, pick)
else:
    show_address(answer, request["radius"])

for advice in answer["grading_advice"]:
    st.markdown(f"**Grading advice:** {advice}")

if answer["status"] != "not_checked":
    left, middle, right = st.columns(3)
    left.metric("Markers in force", len(answer["markers"]))
    band, basis = risk_words(answer)
    middle.metric("Risk band", band)
    if basis:
        middle.caption(basis)
    events = answer["incidents"]
    right.metric(f"Incidents, {events['radius_m']:.0f} m / {events['days']} days", events["count"])
    if events["by_category"]:
        st.caption(", ".join(f"{word(k)} {v}" for k, v in events["by_category"].items()))
    if answer["markers"]:
        show_markers(answer["markers"])

if result["centre"]:
    show_map(answer, result["centre"], result["streets"])

if answer["markers"]:
    show_reviews(answer)
