"""Housing works: the provider's queue with SLA clocks (escalated orders flagged), the measures
worth raising as orders, and the operatives' schedule, as a Gantt chart per operative and as
routes on an offline map (no basemap: streets drawn from the database).

Everything runs as the signed-in user through the service layer (`hardening.works`): row-level
security keeps a provider to its own homes, orders and operatives. A plan is a proposal until
"Commit" writes it onto the orders; until then the chart shows what is committed already.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import pydeck as pdk
import streamlit as st

from hardening import layers
from hardening.errors import HardeningError
from hardening.works import board, orders, plan
from hardening.works.problem import LOCAL_TZ
from hardening.works.recommend import recommend
from ui.session import as_actor, require_actor

CLOCK_COLOURS = {"overdue": "#f8d0d0", "due_soon": "#fde7c2", "ok": "#d9f0dc"}
PRIORITY_COLOURS = {"emergency": "#c62828", "urgent": "#ef6c00", "routine": "#1f5fa8",
                    "planned": "#7b8794"}  # fmt: skip
ROUTE_COLOURS = [[31, 95, 168], [198, 40, 40], [46, 125, 50], [123, 31, 162], [239, 108, 0],
                 [0, 131, 143], [109, 76, 65], [173, 20, 87]]  # fmt: skip
LOCAL = ZoneInfo(LOCAL_TZ)
PLAN_KEY = "works_plan"

actor = require_actor()
st.title("Housing works")
if "housing" not in actor.roles or not actor.org_id:
    st.info("This page is for a housing provider's staff: sign in as one.")
    st.stop()
provider = actor.org_id


def _label(value: str) -> str:
    return value.replace("_", " ")


def _run(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A service call as the signed-in user; a domain error is shown, not raised."""
    try:
        with as_actor(actor) as conn:
            return call(conn, *args, **kwargs)
    except HardeningError as exc:
        st.error(str(exc))
        return None


queue_tab, recommend_tab, schedule_tab = st.tabs(["Queue", "Recommendations", "Schedule"])

with queue_tab:
    rows = _run(board.queue, provider) or []
    escalated = sum(1 for r in rows if r["escalated"])
    overdue = sum(1 for r in rows if r["sla_state"] == "overdue")
    cols = st.columns(3)
    cols[0].metric("Open orders", len(rows))
    cols[1].metric("Overdue", overdue)
    cols[2].metric("Escalated", escalated)
    if not rows:
        st.info("No open orders: raise some from the recommendations.")
    else:
        frame = pd.DataFrame(
            [
                {
                    "order": r["work_order_id"],
                    "flag": ("⚠ " + _label(r["escalation_reason"] or "escalated"))
                    if r["escalated"]
                    else "",
                    "priority": r["priority"],
                    "status": _label(r["status"]),
                    "measure": _label(r["measure_code"]),
                    "address": r["full_address"],
                    "due": r["due_at"].astimezone(LOCAL).strftime("%a %d %b %H:%M"),
                    "SLA clock": r["sla_clock"],
                    "state": r["sla_state"],
                }
                for r in rows
            ]
        )
        styled = frame.style.apply(
            lambda row: [f"background-color: {CLOCK_COLOURS[row['state']]}"] * len(row), axis=1
        )
        st.dataframe(styled, hide_index=True, width="stretch", key="queue")

with recommend_tab:
    limit = st.slider("How many", 5, 100, 20, key="rec_limit")
    recs = _run(recommend, provider, limit) or []
    if not recs:
        st.info("Nothing to recommend: every home has what would lower its risk, or is on order.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "uprn": r["uprn"],
                        "measure": _label(r["measure_code"]),
                        "scope": r["scope"],
                        "band": r.get("band"),
                        "score reduction": r["score_reduction"],
                        "typical cost (£)": round(r["typical_cost_pence"] / 100),
                    }
                    for r in recs
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        keys = [f"{r['uprn']}:{r['measure_code']}" for r in recs]
        chosen = st.multiselect(
            "Raise orders for",
            keys,
            format_func=lambda k: f"UPRN {k.split(':')[0]}: {_label(k.split(':')[1])}",
            key="rec_pick",
        )
        if st.button("Raise order(s)", type="primary", key="raise", disabled=not chosen):
            made = []
            try:
                with as_actor(actor) as conn:
                    for key in chosen:
                        uprn, measure = key.split(":")
                        made.append(orders.create(conn, int(uprn), measure, provider))
            except HardeningError as exc:
                st.error(f"Nothing raised: {exc}")
            else:
                ids = ", ".join(f"#{o['work_order_id']} ({o['priority']})" for o in made)
                st.success(f"Raised {len(made)} order(s): {ids}")


def _gantt(visits: list[dict[str, Any]]) -> Any:
    frame = pd.DataFrame(
        [
            {
                "operative": v["operative"],
                "start": v["start"].replace(tzinfo=None),  # wall-clock time on the axis
                "end": v["end"].replace(tzinfo=None),
                "order": v["work_order_id"],
                "priority": v["priority"],
                "late (min)": v["late_minutes"],
            }
            for v in visits
        ]
    )
    return (
        alt.Chart(frame)
        .mark_bar(cornerRadius=2)
        .encode(
            x=alt.X("start:T", title="local time", axis=alt.Axis(format="%H:%M")),
            x2="end:T",
            y=alt.Y("operative:N", title=None),
            color=alt.Color(
                "priority:N",
                scale=alt.Scale(
                    domain=list(PRIORITY_COLOURS), range=list(PRIORITY_COLOURS.values())
                ),
            ),
            tooltip=["order", "priority", "start:T", "end:T", "late (min)"],
        )
    )


def _routes(result: dict[str, Any], day: date) -> list[dict[str, Any]]:
    """One path per operative for the day: base, the visits in order, back to base."""
    bases = {o["operative_id"]: o for o in result["operatives"]}
    paths = []
    for i, op_id in enumerate(sorted({v["operative_id"] for v in result["visits"]})):
        stops = [v for v in result["visits"]
                 if v["operative_id"] == op_id and v["start"].date() == day]  # fmt: skip
        if not stops:
            continue
        base = bases.get(op_id)
        ends = [[base["lon"], base["lat"]]] if base else []
        path = ends + [[v["lon"], v["lat"]] for v in sorted(stops, key=lambda v: v["start"])]
        colour = ROUTE_COLOURS[i % len(ROUTE_COLOURS)]
        paths.append(
            {"operative": stops[0]["operative"], "path": path + ends, "colour": colour,
             "stops": len(stops)}
        )  # fmt: skip
    return paths


def _map(result: dict[str, Any], day: date) -> pdk.Deck | None:
    paths = _routes(result, day)
    if not paths:
        return None
    lons = [p[0] for r in paths for p in r["path"]]
    lats = [p[1] for r in paths for p in r["path"]]
    pad = 0.004
    box = layers.BBox(min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad)
    streets = _run(layers.roads, box, simplify_m=2) or []
    stops = [
        {**v, "what": f"#{v['work_order_id']} {v['priority']} {v['start']:%H:%M}"}
        for v in result["visits"]
        if v["start"].date() == day
    ]
    context = [{"path": r.path, "what": r.name or r.road_class} for r in streets]
    deck_layers = [
        pdk.Layer("PathLayer", id="streets", data=context, get_path="path",
                  get_color=[175, 175, 175, 200], width_min_pixels=1),
        pdk.Layer("PathLayer", id="routes", data=paths, get_path="path", get_color="colour",
                  width_min_pixels=3, pickable=True),
        pdk.Layer("ScatterplotLayer", id="visits", data=stops, get_position=["lon", "lat"],
                  get_fill_color=[20, 20, 20, 230], get_radius=25, pickable=True),
    ]  # fmt: skip
    view = pdk.data_utils.compute_view([p for r in paths for p in r["path"]])
    view.zoom = max(1.0, float(view.zoom) - 0.6)  # its fit is tight: keep the ends in view
    return pdk.Deck(
        layers=deck_layers,
        initial_view_state=view,
        tooltip={"text": "{operative} {what}"},
        map_provider=None,
    )


with schedule_tab:
    today = datetime.now(LOCAL).date()
    c1, c2, c3 = st.columns(3)
    start = c1.date_input("From", value=today, key="plan_start")
    days = int(c2.number_input("Days", 1, 14, 5, key="plan_days"))
    seconds = float(c3.number_input("Search seconds", 1, 20, 3, key="plan_seconds"))
    if st.button("Plan the open orders", type="primary", key="plan"):
        result = _run(plan.schedule, provider, start, days, seconds)
        if result is not None:
            st.session_state[PLAN_KEY] = result
    proposal = st.session_state.get(PLAN_KEY)
    if proposal is not None:
        m = proposal["metrics"]
        st.caption(
            f"Proposed plan ({proposal['solver']}, travel by {proposal['travel']}, times "
            f"{proposal['timezone']}): {int(m['scheduled'])} visits, {int(m['unscheduled'])} left "
            f"out, {int(m['travel_minutes'])} min travel."
        )
        for u in proposal["unscheduled"]:
            st.warning(f"Order #{u['work_order_id']} left out: {u['reason']}")
        left, right = st.columns(2)
        if left.button("Commit this plan to the orders", key="commit"):
            written = _run(plan.commit_visits, proposal)
            if written is not None:
                st.success(f"{written} order(s) scheduled.")
                st.session_state.pop(PLAN_KEY, None)
                proposal = None
        if proposal is not None and right.button("Discard", key="discard"):
            st.session_state.pop(PLAN_KEY, None)
            proposal = None
    shown = proposal or _run(board.committed, provider, start, days)
    if shown is not None:
        if not shown["visits"]:
            st.info("No visits in these days yet: plan the open orders.")
        else:
            horizon = sorted({v["start"].date() for v in shown["visits"]})
            day = st.selectbox(
                "Day", horizon, format_func=lambda d: f"{d:%a %d %b}", key="plan_day"
            )
            todays = [v for v in shown["visits"] if v["start"].date() == day]
            st.altair_chart(_gantt(todays), width="stretch")
            deck = _map(shown, day)
            if deck is not None:
                st.pydeck_chart(deck, height=420)
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "operative": v["operative"],
                            "start": f"{v['start']:%H:%M}",
                            "end": f"{v['end']:%H:%M}",
                            "order": v["work_order_id"],
                            "priority": v["priority"],
                            "late (min)": v["late_minutes"],
                        }
                        for v in sorted(todays, key=lambda v: (v["operative"], v["start"]))
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
