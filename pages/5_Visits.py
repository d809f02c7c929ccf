"""Record a vulnerability visit and its support package; see who to visit next."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st
from pydantic import ValidationError

from hardening.addresses.match import match
from hardening.errors import HardeningError
from hardening.markers.records import REASONS
from hardening.visits.due import who_to_visit_next
from hardening.visits.models import KIT_ITEMS, SERVICES, SIGNS, SUBJECT_TYPES, VisitInput
from hardening.visits.options import form_options
from hardening.visits.rescore import rescore_committed
from hardening.visits.route import TeamDay, day_list
from hardening.visits.service import may_record, record_visit
from ui.session import as_actor, engine, require_actor

actor = require_actor()
st.title("Visits")
today = date.today()
with as_actor(actor) as conn:
    options = form_options(conn)
    may_record_visits = may_record(conn)
record_tab, due_tab = st.tabs(["Record a visit", "Who to visit next"])


def _label(value: str) -> str:
    return value.replace("_", " ")


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
        visited_on = st.date_input("Date of visit", value=today, key="visited_on")
        team = st.multiselect(
            "Team (officer and lived-experience worker)",
            list(options.team),
            format_func=lambda u: options.team[u],
            key="team",
        )
        subject_ref = (
            st.text_input("Subject reference (no names)", key="subject_ref").strip().upper()
        )
        subject_type = st.selectbox("Subject type", SUBJECT_TYPES, format_func=_label, key="stype")
        signs = st.multiselect("Signs of cuckooing", SIGNS, format_func=_label, key="signs")
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
                    format_func=_label,
                    key="marker_reason",
                ),
                "grading_advice": st.text_input(
                    "Grading advice for the control room", key="marker_advice"
                ),
                "review_due": st.date_input(
                    "Marker review", today + timedelta(days=90), key="marker_review"
                ).isoformat(),
            }
        plan: dict[str, Any] | None = None
        if st.checkbox("County lines protection plan", key="plan"):
            plan = {
                "visit_cadence_days": st.number_input(
                    "Visit every (days)", 1, 365, 14, key="cadence"
                ),
                "review_due": st.date_input(
                    "Plan review", today + timedelta(days=90), key="plan_review"
                ).isoformat(),
            }
        referrals = []
        for service in st.multiselect("Referrals", SERVICES, format_func=_label, key="services"):
            partner = st.selectbox(
                f"Partner for {_label(service)}",
                list(options.partners),
                format_func=lambda o: options.partners[o],
                key=f"partner_{service}",
            )
            referrals.append({"partner_org_id": partner, "service": service})
        kit_columns = st.columns(len(KIT_ITEMS))
        kit = {
            item: int(col.number_input(_label(item), 0, 500, 0, key=f"kit_{item}"))
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
                    if saved.rescore == "deferred":  # committed: re-score as the system
                        saved.rescore, saved.rescored = rescore_committed(engine(), saved.visit_id)
                except ValidationError as exc:
                    for err in exc.errors():
                        st.error(f"{'.'.join(str(p) for p in err['loc']) or 'visit'}: {err['msg']}")
                except HardeningError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Visit {saved.visit_id} saved: {saved.as_dict()}")

with due_tab:
    day = st.date_input("Day", value=today, key="due_day")
    area = st.selectbox(
        "Area",
        [None, *options.areas],
        format_func=lambda a: "all my areas" if a is None else options.areas[a],
        key="due_area",
    )
    stops = st.slider("Cases to route", 1, 20, 8, key="stops")
    hours = st.slider("Working hours", 6, 22, (9, 17), key="hours")
    visit_minutes = st.slider("Minutes per visit", 15, 120, 45, step=5, key="visit_minutes")
    team_day = TeamDay(hours[0] * 60, hours[1] * 60, visit_minutes)
    asked = (day, area, stops, team_day)
    try:
        with as_actor(actor) as conn:
            cases = who_to_visit_next(conn, day, area)
            # The scheduler searches for a second: only when asked, not on every rerun.
            if st.button("Plan the day's route", key="plan_route"):
                st.session_state["route"] = (asked, day_list(conn, day, area, stops, team_day))
    except HardeningError as exc:
        st.error(str(exc))
        st.stop()
    planned = st.session_state.get("route")
    route = planned[1] if planned is not None and planned[0] == asked else None
    route_stops = route["stops"] if route else []
    if route is not None:
        st.caption(
            f"{len(cases)} due; the day's route visits {len(route_stops)} of the "
            f"{len(route_stops) + len(route['left_out'])} most pressing "
            f"({route['travel_m'] / 1000:.1f} km straight-line, back to base included)."
        )
    else:
        st.caption(f"{len(cases)} due.")
    if route is not None and route_stops:
        frame = pd.DataFrame(route_stops)
        st.dataframe(
            frame[["stop", "arrive", "leave", "full_address", "reasons", "due_on", "leg_m"]],
            hide_index=True,
        )
        base = route["base"]
        path = [[base["lon"], base["lat"]], *([r["lon"], r["lat"]] for r in route_stops)]
        path.append([base["lon"], base["lat"]])
        st.pydeck_chart(
            pdk.Deck(
                layers=[
                    pdk.Layer(
                        "PathLayer",
                        [{"path": path}],
                        get_path="path",
                        get_width=4,
                        width_units="pixels",
                        get_color=[31, 95, 168],
                    ),
                    pdk.Layer(
                        "ScatterplotLayer",
                        frame,
                        get_position=["lon", "lat"],
                        get_radius=30,
                        get_fill_color=[224, 138, 0],
                        pickable=True,
                    ),
                ],
                initial_view_state=pdk.ViewState(
                    latitude=float(frame.lat.mean()), longitude=float(frame.lon.mean()), zoom=12
                ),
                map_provider=None,
                tooltip={"text": "{stop}. {arrive} {full_address}"},
            )
        )
    if route is not None and route["left_out"]:
        st.warning(f"{len(route['left_out'])} case(s) do not fit in the day:")
        st.dataframe(
            pd.DataFrame(route["left_out"])[["full_address", "reasons", "due_on", "why"]],
            hide_index=True,
        )
    st.subheader("Everything due")
    st.dataframe(pd.DataFrame([c.as_dict() for c in cases]), hide_index=True)
