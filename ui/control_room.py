"""What the control-room page shows (pages/2_Control_room.py asks, these draw): the
candidates and the street listing of a look-up that is not checked, the markers, the risk
band, the offline map and the review history, in words (ui.labels), never codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import pydeck as pdk
import streamlit as st

from ui.labels import day, word

Pick = Callable[[int], None]  # look a picked address up by its UPRN
WHERE: Final = {  # a marker with no distance is on the address or its block
    "address": "On this address",
    "block": "On its block",
    "flat_in_block": "On a flat in this block",
}
COLOURS: Final = {
    "address": [200, 30, 30, 230],
    "block": [200, 30, 30, 230],
    "flat_in_block": [220, 80, 30, 230],
    "nearby": [240, 150, 30, 220],
}
PROPERTY: Final = {"block": "Block of flats"}  # word("block") is the relation "Its block"
COUNTS: Final = {2: "Two", 3: "Three", 4: "Four", 5: "Five"}


def kind_of(property_type: str) -> str:
    return PROPERTY.get(property_type) or word(property_type)


def fit_words(candidates: list[dict[str, Any]]) -> str:
    """How the candidates fit, in the operator's words: follows the real margin."""
    best = candidates[0]
    if len(candidates) == 1:
        return (
            f"One address partly fits ({best['confidence']:.0%}): **{best['full_address']}**. "
            "Confirm it with the caller before you pick it."
        )
    runner = candidates[1]
    if best["confidence"] >= 0.8 and runner["confidence"] <= best["confidence"] / 2:
        return (
            f"Most likely **{best['full_address']}** ({best['confidence']:.0%}); the next "
            f"fits far less ({runner['confidence']:.0%}). Confirm it with the caller, then "
            "pick it below."
        )
    close = [c for c in candidates if best["confidence"] - c["confidence"] < 0.15]
    if len(close) >= 2 and best["confidence"] >= 0.5:
        count = COUNTS.get(len(close), str(len(close)))
        shares = ", ".join(f"{c['confidence']:.0%}" for c in close)
        return f"{count} addresses fit ({shares}): confirm which with the caller."
    return (
        f"No address fits well (best {best['confidence']:.0%}): confirm the address with the "
        "caller. The nearest guesses:"
    )


def show_candidates(candidates: list[dict[str, Any]], pick: Pick) -> None:
    st.markdown(fit_words(candidates))
    head = st.columns([6, 2, 1, 2])
    titles = ("Address (pick to look it up)", "Town", "Fit", "Marker")
    for column, label in zip(head, titles, strict=True):
        column.caption(label)
    for c in candidates:
        address, town, fit, flag = st.columns([6, 2, 1, 2])
        address.button(c["full_address"], key=f"pick-{c['uprn']}", on_click=pick, args=(c["uprn"],))
        town.write(c.get("town") or "")
        fit.write(f"{c['confidence']:.0%}")
        flag.markdown(":red[**⚠ SAFE marker**]" if c.get("has_marker") else "no marker")


def show_street(street: dict[str, Any], pick: Pick) -> None:
    for i, s in enumerate(street["streets"]):
        st.subheader(f"{s['street']}, {s['town']}" if s["town"] else s["street"])
        n, total = s["marked"], s["addresses"]
        if n:
            st.error(
                f"**{n} of {total} addresses on {s['street']} "
                f"{'has' if n == 1 else 'have'} a SAFE marker**"
            )
        else:
            st.info(
                f"No SAFE marker on the {total} address{'' if total == 1 else 'es'} on "
                f"{s['street']}: the caller's address is still not checked."
            )
        if s["blocks"]:
            st.caption("Blocks on the street")
            st.dataframe(
                [
                    {
                        "block": b["full_address"],
                        "flats": b["flats"],
                        "flats with a marker": b["marked_flats"],
                        "marker on the block": "yes" if b["block_markers"] else "no",
                    }
                    for b in s["blocks"]
                ],
                hide_index=True,
                width="stretch",
            )
        rows = [
            {
                "address": a["full_address"],
                "SAFE marker": (
                    word(a["reason_category"]) + ("" if a["markers"] else " (on its block)")
                    if a["has_marker"]
                    else ""
                ),
                "type": kind_of(a["property_type"]),
            }
            for a in s["listed"]
        ]
        st.caption(
            f"Addresses on {s['street']}, marked first"
            + (f" (the first {len(rows)} of {total})" if s["truncated"] else "")
        )
        st.dataframe(rows, hide_index=True, width="stretch", height=min(36 * len(rows) + 38, 400))
        names = {a["uprn"]: a["full_address"] for a in s["listed"]}
        chosen = st.selectbox(
            f"The caller's address on {s['street']}",
            list(names),
            index=None,
            format_func=names.__getitem__,
            key=f"street-pick-{i}",
            placeholder="Pick it once the caller confirms it",
        )
        if chosen is not None:
            st.button("Look up this address", key=f"street-go-{i}", on_click=pick, args=(chosen,))


def show_not_checked(answer: dict[str, Any], pick: Pick) -> None:
    candidates = (answer["match"] or {}).get("candidates", [])
    street = answer.get("street")
    marked = [c for c in candidates if c.get("has_marker")]
    if marked:
        listed = "; ".join(c["full_address"] for c in marked)
        st.error(
            f"### ⚠ SAFE marker on {len(marked)} of the {len(candidates)} addresses that "
            f"fit\n{listed}"
        )
    if street and street["marked"]:
        where = "these streets"
        if len(street["streets"]) == 1:
            only = street["streets"][0]
            where = ", ".join(p for p in (only["street"], only["town"]) if p)
        st.error(
            f"### ⚠ {street['marked']} of {street['addresses']} addresses on {where} "
            f"{'has' if street['marked'] == 1 else 'have'} a SAFE marker"
        )
    said = (answer["query"] or {}).get("text", "")
    if candidates:
        show_candidates(candidates, pick)
    if street:
        if len(street["streets"]) > 1:
            towns = ", ".join(s["town"] or "no town" for s in street["streets"])
            st.markdown(f"A street of that name is in more than one town ({towns}): ask which.")
        show_street(street, pick)
    if not candidates and not street:
        st.subheader("No address found")
        st.markdown(
            f"Nothing in the register fits “{said}”. Ask for the house number or name, the "
            "street and the town, or the postcode."
        )


def risk_words(answer: dict[str, Any]) -> tuple[str, str]:
    risk, address = answer["risk"], answer["address"]
    if risk:
        basis = "highest of its flats" if risk.get("basis") == "highest_flat" else ""
        return word(risk["band"]), basis
    if address and address["property_type"] in ("block", "commercial"):
        return "Not scored", "not a home"
    return "Not scored", "" if address else "no address"


def show_markers(markers: list[dict[str, Any]]) -> None:
    st.dataframe(
        [
            {
                "where": f"{word(m['relation'])}, {m['metres']:.0f} m away"
                if m["metres"] is not None
                else WHERE.get(m["relation"], word(m["relation"])),
                "address": m["full_address"],
                "reason": word(m["reason_category"]),
                "state": word(m["state"]),
                "review due": day(m["review_due"]),
            }
            for m in markers
        ],
        hide_index=True,
        width="stretch",
    )


def show_map(answer: dict[str, Any], centre: dict[str, float], roads: list[Any]) -> None:
    events = answer["incidents"]
    address = answer["address"]
    listed = [a for s in (answer.get("street") or {}).get("streets", []) for a in s["listed"]]
    deck_layers = [
        pdk.Layer(
            "PathLayer",
            id="streets",
            data=[{"path": r.path, "what": r.name or r.road_class} for r in roads],
            get_path="path",
            get_color=[170, 170, 170, 200],
            width_min_pixels=2,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="near_repeat",
            data=[centre] if answer["centre"] else [],
            get_position=["lon", "lat"],
            get_radius=events["radius_m"],
            filled=False,
            stroked=True,
            get_line_color=[90, 90, 90, 160],
            line_width_min_pixels=1,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="incidents",
            data=[{**e, "what": word(e["category"])} for e in events["items"]],
            get_position=["lon", "lat"],
            get_fill_color=[60, 90, 200, 160],
            get_radius=8,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="street_addresses",
            data=[
                {
                    "lon": a["lon"],
                    "lat": a["lat"],
                    "what": a["full_address"],
                    "colour": [200, 30, 30, 230] if a["has_marker"] else [90, 90, 90, 200],
                }
                for a in listed
            ],
            get_position=["lon", "lat"],
            get_fill_color="colour",
            get_radius=7,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="markers",
            data=[
                {**m, "colour": COLOURS[m["relation"]], "what": word(m["reason_category"])}
                for m in answer["markers"]
            ],
            get_position=["lon", "lat"],
            get_fill_color="colour",
            get_radius=12,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="address",
            data=[{"lon": address["lon"], "lat": address["lat"], "what": "here"}]
            if address
            else [],
            get_position=["lon", "lat"],
            get_fill_color=[20, 20, 20, 255],
            get_line_color=[255, 255, 255, 255],
            stroked=True,
            line_width_min_pixels=2,
            get_radius=6,
        ),
    ]
    st.pydeck_chart(
        pdk.Deck(
            layers=deck_layers,
            initial_view_state=pdk.ViewState(
                longitude=centre["lon"], latitude=centre["lat"], zoom=14.6
            ),
            tooltip={"text": "{what}"},
            map_provider=None,
        ),
        height=380,
    )


def show_reviews(answer: dict[str, Any]) -> None:
    reviews = answer.get("reviews") or {}
    st.subheader("Review history")
    for m in answer["markers"]:
        history = reviews.get(str(m["marker_id"]), [])
        with st.expander(
            f"Marker {m['marker_id']}: {word(m['reason_category'])} "
            f"since {day(m['created_at'])}, {len(history)} review(s)"
        ):
            st.write(m["grading_advice"])
            if history:
                st.dataframe(
                    [
                        {
                            "when": day(r["reviewed_at"]),
                            "decision": word(r["decision"]),
                            "reason": r["reason"],
                            "next review": day(r["new_review_due"]),
                        }
                        for r in history
                    ],
                    hide_index=True,
                    width="stretch",
                )
