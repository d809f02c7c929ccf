"""Record a vulnerability visit and its support package; see who to visit next."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st
from pydantic import ValidationError

from hardening import layers
from hardening.addresses.match import match
from hardening.bbox import BBox
from hardening.errors import HardeningError
from hardening.markers.records import REASONS
from hardening.visits.due import DueCase, who_to_visit_next
from hardening.visits.models import KIT_ITEMS, SERVICES, SIGNS, SUBJECT_TYPES, VisitInput
from hardening.visits.options import form_options
from hardening.visits.route import DayRoute, LonLat, Stop, TeamDay, day_list, town_of
from hardening.visits.service import RecordedVisit, may_record, record_visit
from ui.deck import PIXELS, CompactDeck, fit_view, street_layers
from ui.labels import day as day_label
from ui.labels import word
from ui.session import as_actor, require_actor

RESCORE_WORDS = {
    "done": "the address's risk score is updated",
    "deferred": "the address's risk score will be updated within a minute",
    "failed": "the risk score could not be updated now; it will be at the next scoring",
}
ROUTE_COLOUR = [31, 95, 168]
STOP_COLOUR = [224, 120, 0]
PAD_DEG = 0.004  # streets this far around the route
ROUTE_FALLBACK = {"longitude": -3.22, "latitude": 54.12, "zoom": 13}
DUE_KEY = "due_cases"  # (question, cases) of the last audited due list
ROUTE_LEGEND = (
    '<div style="font-size:0.85rem">'
    '<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
    'background:rgb(224,120,0);margin:0 4px 0 0;vertical-align:middle"></span>stop, in order '
    '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
    'background:rgb(20,30,70);margin:0 4px 0 14px;vertical-align:middle"></span>start and finish '
    '<span style="display:inline-block;width:26px;height:4px;background:rgb(31,95,168);'
    'margin:0 4px 0 14px;vertical-align:middle"></span>route</div>'
)

actor = require_actor()
st.title("Visits")
today = date.today()
with as_actor(actor) as conn:
    options = form_options(conn)
    may_record_visits = may_record(conn)
record_tab, due_tab = st.tabs(["Record a visit", "Who to visit next"])


def _reasons(codes: list[str]) -> str:
    return "; ".join(word(code) for code in codes)


def _saved_words(saved: RecordedVisit) -> str:
    """What the visit put in place, as a sentence."""
    parts = []
    if saved.marker_id is not None:
        parts.append(f"SAFE marker {saved.marker_id} placed")
    if saved.plan_id is not None:
        parts.append(f"protection plan {saved.plan_id} started")
    if saved.referral_ids:
        n = len(saved.referral_ids)
        parts.append(f"{n} referral{'s' if n != 1 else ''} made")
    parts.append(RESCORE_WORDS.get(saved.rescore, ""))
    text_value = "; ".join(p for p in parts if p)
    return _sentence(text_value) + "." if text_value else ""


def _sentence(text_value: str) -> str:
    return text_value[:1].upper() + text_value[1:]


def _route_deck(stops: list[Stop], base: LonLat) -> CompactDeck:
    """The day's route over the streets around it: the path out and back, the numbered stops
    and the base (no basemap: streets come from the database)."""
    path = [[base.lon, base.lat], *([r.lon, r.lat] for r in stops)]
    path.append([base.lon, base.lat])
    box = BBox(
        min(p[0] for p in path) - PAD_DEG,
        min(p[1] for p in path) - PAD_DEG,
        max(p[0] for p in path) + PAD_DEG,
        max(p[1] for p in path) + PAD_DEG,
    )
    try:
        with as_actor(actor) as conn:
            streets = layers.roads(conn, box, simplify_m=2)
    except HardeningError:  # the route still shows without its streets
        streets = []
    points = [
        {"lon": r.lon, "lat": r.lat, "label": str(r.stop),
         "tip": f"<b>{r.stop}. {r.arrive}-{r.leave}</b><br/>{r.full_address}"
                f"<br/>{_reasons(r.reasons)}"}
        for r in stops
    ]  # fmt: skip
    home = [{"lon": base.lon, "lat": base.lat, "tip": "<b>Start and finish</b>"}]
    return CompactDeck(
        layers=[
            *street_layers(streets),
            pdk.Layer("PathLayer", [{"path": path, "tip": "the day's route"}], id="route",
                      get_path="path", get_width=4, width_units=PIXELS,
                      get_color=ROUTE_COLOUR, joint_rounded=True, pickable=False),
            pdk.Layer("ScatterplotLayer", home, id="base", get_position="[lon, lat]",
                      get_fill_color=[20, 30, 70], get_radius=10, radius_min_pixels=7,
                      pickable=True),
            pdk.Layer("ScatterplotLayer", points, id="stops", get_position="[lon, lat]",
                      get_fill_color=STOP_COLOUR, get_radius=10, radius_min_pixels=11,
                      stroked=True, get_line_color=[255, 255, 255], line_width_min_pixels=2,
                      pickable=True),
            pdk.Layer("TextLayer", points, id="stop-numbers", get_position="[lon, lat]",
                      get_text="label", get_size=13, get_color=[255, 255, 255],
                      font_weight=700, pickable=False),
        ],
        initial_view_state=fit_view([(p[0], p[1]) for p in path], ROUTE_FALLBACK),
        map_provider=None,  # no basemap and no map_style: no outside request
        tooltip={"html": "{tip}", "style": {"fontSize": "13px"}},
    )  # fmt: skip


with record_tab:
    if not may_record_visits:
        st.info(
            "Recording visits needs the visit team role and a visits agreement; "
            "your organisation can see who to visit next."
        )
    else:
        address_text = st.text_input("Address (as given)", key="address")
        uprn: int | None = None
        if address_text.strip():
            with as_actor(actor) as conn:
                result = match(conn, address_text)
            if result.status == "matched" and result.best is not None:
                uprn = result.best.uprn
                st.success(f"Matched: {result.best.full_address} (UPRN {uprn})")
            elif result.candidates:
                pick = st.selectbox(
                    "Which address?",
                    [None, *[c.uprn for c in result.candidates]],
                    format_func=lambda u: (
                        "choose one"
                        if u is None
                        else next(c.full_address for c in result.candidates if c.uprn == u)
                    ),
                    key="address_pick",
                )
                uprn = pick
            else:
                st.warning("No address in the register matches; check the spelling or postcode.")
        visited_on = st.date_input(
            "Date of visit", value=today, key="visited_on", format="DD/MM/YYYY"
        )
        team = st.multiselect(
            "Team (officer and lived-experience worker)",
            list(options.team),
            format_func=lambda u: options.team[u],
            key="team",
        )
        subject_ref = (
            st.text_input("Subject reference (no names)", key="subject_ref").strip().upper()
        )
        subject_type = st.selectbox("Subject type", SUBJECT_TYPES, format_func=word, key="stype")
        signs = st.multiselect("Signs of cuckooing", SIGNS, format_func=word, key="signs")
        vulnerable = st.checkbox("Occupant vulnerable", key="vulnerable")
        outcome = st.text_area("Outcome", key="outcome")
        intel = st.number_input("Intelligence submissions", 0, 100, 0, key="intel")
        grading = st.text_input("Intelligence grading (e.g. 3x5x2)", key="grading").strip()
        st.subheader("Support package")
        calling_card = st.checkbox("Calling card left", key="card")
        marker: dict[str, Any] | None = None
        if st.checkbox("Place a SAFE marker", key="marker"):
            marker = {
                "reason_category": st.selectbox(
                    "Marker reason",
                    REASONS,
                    format_func=word,
                    key="marker_reason",
                ),
                "grading_advice": st.text_input(
                    "Grading advice for the control room", key="marker_advice"
                ),
                "review_due": st.date_input(
                    "Marker review",
                    today + timedelta(days=90),
                    key="marker_review",
                    format="DD/MM/YYYY",
                ).isoformat(),
            }
        plan: dict[str, Any] | None = None
        if st.checkbox("County lines protection plan", key="plan"):
            plan = {
                "visit_cadence_days": st.number_input(
                    "Visit every (days)", 1, 365, 14, key="cadence"
                ),
                "review_due": st.date_input(
                    "Plan review",
                    today + timedelta(days=90),
                    key="plan_review",
                    format="DD/MM/YYYY",
                ).isoformat(),
            }
        referrals = []
        for service in st.multiselect("Referrals", SERVICES, format_func=word, key="services"):
            partner = st.selectbox(
                f"Partner for {word(service).lower()}",
                list(options.partners),
                format_func=lambda o: options.partners[o],
                key=f"partner_{service}",
            )
            referrals.append({"partner_org_id": partner, "service": service})
        kit_columns = st.columns(len(KIT_ITEMS))
        kit = {
            item: int(col.number_input(word(item), 0, 500, 0, key=f"kit_{item}"))
            for item, col in zip(KIT_ITEMS, kit_columns, strict=True)
        }
        if st.button("Save visit", type="primary", key="save"):
            problems = []
            if uprn is None:
                problems.append("The visit needs an address matched to the register.")
            if visited_on > today:
                problems.append("The date of the visit cannot be in the future.")
            if len(set(team)) < 2:
                problems.append("A visit is made by a team of two: choose both team members.")
            for problem in problems:
                st.error(problem)
            if not problems:
                try:
                    visit = VisitInput.model_validate(
                        {
                            "uprn": uprn,
                            "visited_on": visited_on.isoformat(),
                            "team_user_ids": team,
                            "subject_ref": subject_ref,
                            "subject_type": subject_type,
                            "signs": signs,
                            "occupant_vulnerable": vulnerable,
                            "outcome": outcome or None,
                            "intelligence_count": intel,
                            "intelligence_grading": grading or None,
                            "calling_card": calling_card,
                            "marker": marker,
                            "protection_plan": plan,
                            "referrals": referrals,
                            "kit": {k: q for k, q in kit.items() if q > 0},
                        }
                    )
                    with as_actor(actor) as conn:
                        saved = record_visit(conn, visit)
                except ValidationError as exc:
                    for err in exc.errors():
                        st.error(f"{'.'.join(str(p) for p in err['loc']) or 'visit'}: {err['msg']}")
                except HardeningError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Visit {saved.visit_id} saved. {_saved_words(saved)}")
                    st.session_state.pop(DUE_KEY, None)  # the due list may have changed

with due_tab:
    due_day = st.date_input("Day", value=today, key="due_day", format="DD/MM/YYYY")
    area = st.selectbox(
        "Area",
        [None, *options.areas],
        format_func=lambda a: "all my areas" if a is None else options.areas[a],
        key="due_area",
    )
    why = st.text_input(
        "Reason (audited)", key="due_reason", placeholder="e.g. planning this week's visits"
    ).strip()
    cases: list[DueCase] = []
    if len(why) < 3:
        st.caption(
            "Give the reason you are looking: the list names vulnerable people's homes, and "
            "each look is recorded in the audit log."
        )
    else:
        # One audited read per question, kept for the session: reruns do not read again.
        question = (due_day, area, why)
        listed = st.session_state.get(DUE_KEY)
        if listed is not None and listed[0] == question:
            cases = listed[1]
        else:
            try:
                with as_actor(actor) as conn:
                    cases = who_to_visit_next(conn, due_day, area, reason=why)
            except HardeningError as exc:
                st.error(str(exc))
                st.stop()
            st.session_state[DUE_KEY] = (question, cases)
    towns: dict[str, int] = {}  # most pressing town first
    for case in cases:
        towns[town_of(case)] = towns.get(town_of(case), 0) + 1
    town = st.selectbox(
        "Town (a day's route stays in one)",
        list(towns),
        format_func=lambda t: f"{t} ({towns[t]} due)",
        key="due_town",
    )
    stops = st.slider("Cases to route", 1, 20, 8, key="stops")
    hours = st.slider("Working hours", 6, 22, (9, 17), key="hours")
    visit_minutes = st.slider("Minutes per visit", 15, 120, 45, step=5, key="visit_minutes")
    team_day = TeamDay(hours[0] * 60, hours[1] * 60, visit_minutes)
    asked = (due_day, area, town, stops, team_day, why)
    # The scheduler searches for a second: only when asked, not on every rerun.
    if st.button("Plan the day's route", key="plan_route", disabled=len(why) < 3):
        try:
            with as_actor(actor) as conn:
                planned_now = day_list(conn, due_day, area, stops, team_day, town=town, reason=why)
        except HardeningError as exc:
            st.error(str(exc))
        else:
            st.session_state["route"] = (asked, planned_now)
    planned = st.session_state.get("route")
    route: DayRoute | None = planned[1] if planned is not None and planned[0] == asked else None
    route_stops = route.stops if route else []
    if route is not None and route.town is None:
        st.caption(f"{len(cases)} due; nothing to route.")
    elif route is not None:
        late = route.starts != f"{hours[0]:02d}:00"
        st.caption(
            f"{len(cases)} due; the route in {route.town} "
            f"{'starts now, at' if late else 'starts at'} {route.starts} and visits "
            f"{len(route_stops)} of its {len(route_stops) + len(route.left_out)} most "
            f"pressing ({route.travel_m / 1000:.1f} km straight-line, back to base included)."
        )
    elif len(why) >= 3:
        st.caption(f"{len(cases)} due.")
    if route is not None and route.base is not None and route_stops:
        st.table(  # a short list, all of it on screen (and on paper)
            pd.DataFrame(
                {
                    "Stop": s.stop,
                    "Arrive": s.arrive,
                    "Leave": s.leave,
                    "Address": s.full_address,
                    "Why": _reasons(s.reasons),
                    "Due since": day_label(s.due_on),
                    "Leg (m)": round(s.leg_m),
                }
                for s in route_stops
            ).set_index("Stop")
        )
        st.pydeck_chart(_route_deck(route_stops, route.base), height=480, key="route_map")
        st.markdown(ROUTE_LEGEND, unsafe_allow_html=True)
    if route is not None and route.left_out:
        st.warning(f"{len(route.left_out)} case(s) do not fit in the day:")
        st.dataframe(
            pd.DataFrame(
                {
                    "Address": c.full_address,
                    "Why left out": _sentence(c.why),
                    "Why due": _reasons(c.reasons),
                    "Due since": day_label(c.due_on),
                }
                for c in route.left_out
            ),
            hide_index=True,
        )
    st.subheader("Everything due")
    st.dataframe(
        pd.DataFrame(
            {
                "Address": c.full_address,
                "Town": town_of(c),
                "Why due": _reasons(c.reasons),
                "Due since": day_label(c.due_on),
                "Last visit": day_label(c.last_visit) or "never",
                "UPRN": str(c.uprn),
            }
            for c in cases
        ),
        hide_index=True,
    )
