"""Housing works: the provider's queue with SLA clocks (escalated orders flagged; dates with
their year, UK local time), the best package of measures for each home or block within a cost
cap (the combined effect, on a map of the provider's homes), and the operatives' schedule, as
a Gantt chart per operative and as routes on an offline map (no basemap: streets drawn from
the database).

Everything runs as the signed-in user through the service layer (`hardening.works`): row-level
security keeps a provider to its own homes, orders and operatives. A plan is a proposal until
"Commit" writes it onto the orders; until then the chart shows what is committed already.
Planning is a job (the worker solves it): the page shows its progress, and a person may go to
another page and come back to the proposal.
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
from hardening.bbox import BBox
from hardening.errors import HardeningError
from hardening.works import board, orders, plan
from hardening.works.packages import DEFAULT_CAP_PENCE, Package, packages, unit_costs
from hardening.works.problem import LOCAL_TZ
from ui.jobs import ask, follow, put_aside
from ui.labels import day as day_words
from ui.labels import pounds, word
from ui.session import as_actor, require_actor

SLA_WORDS = {"overdue": "Overdue", "due_soon": "Due soon", "ok": "On time"}
CLOCK_COLOURS = {"Overdue": "#f8d0d0", "Due soon": "#fde7c2", "On time": "#d9f0dc"}
PRIORITY_COLOURS = {"emergency": "#c62828", "urgent": "#ef6c00", "routine": "#1f5fa8",
                    "planned": "#7b8794"}  # fmt: skip
ROUTE_COLOURS = [[31, 95, 168], [198, 40, 40], [46, 125, 50], [123, 31, 162], [239, 108, 0],
                 [0, 131, 143], [109, 76, 65], [173, 20, 87]]  # fmt: skip
BAND_COLOURS = {"very_high": [198, 40, 40, 230], "high": [239, 108, 0, 230],
                "medium": [249, 168, 37, 230], "low": [46, 125, 50, 230]}  # fmt: skip
LOCAL = ZoneInfo(LOCAL_TZ)
PLAN_KEY = "works_plan"  # the schedule job this visit follows (ui/jobs.py)

actor = require_actor()
st.title("Housing works")
if "housing" not in actor.roles or not actor.org_id:
    st.info("This page is for a housing provider's staff: sign in as one.")
    st.stop()
provider = actor.org_id


def _when(value: datetime) -> str:
    """A time as the provider's staff read it: "7 Dec 2026 17:00", UK local time."""
    local = value.astimezone(LOCAL)
    return f"{day_words(local)} {local:%H:%M}"


def _flag(reason: str | None) -> str:
    """ "alert" -> "⚠ Alert" (the service never says which alert: works.orders.ESCALATION)."""
    kind, _, what = (reason or "alert:").partition(":")
    source = {"marker": "SAFE marker", "incident": "Incident"}.get(kind, word(kind))
    return f"⚠ {source}: {word(what)}" if what else f"⚠ {source}"


def _late(minutes: int) -> str:
    return f"{board.span(minutes)} late" if minutes > 0 else "on time"


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
    escalated = sum(1 for r in rows if r.escalated)
    overdue = sum(1 for r in rows if r.sla_state == "overdue")
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
                    "order": r.work_order_id,
                    "flag": _flag(r.escalation_reason) if r.escalated else "",
                    "priority": word(r.priority),
                    "status": word(r.status),
                    "measure": word(r.measure_code),
                    "address": r.full_address,
                    "due": _when(r.due_at),
                    "SLA clock": r.sla_clock,
                    "state": SLA_WORDS[r.sla_state],
                }
                for r in rows
            ]
        )
        styled = frame.style.apply(
            lambda row: [f"background-color: {CLOCK_COLOURS[row['state']]}"] * len(row), axis=1
        )
        st.dataframe(styled, hide_index=True, width="stretch", key="queue")
        st.caption(
            "Times are UK local time. An order is escalated to an emergency when the police "
            "record an alert at its address or block; what the alert is, is not shown."
        )


def _homes_map(items: list[Package]) -> pdk.Deck | None:
    """The packages' homes on an offline map with streets, opened on the provider's homes."""
    spots = [(i, i.lon, i.lat) for i in items if i.lon is not None and i.lat is not None]
    if not spots:
        return None
    lons, lats = [lon for _, lon, _ in spots], [lat for _, _, lat in spots]
    pad = 0.003
    box = BBox(min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad)
    streets = _run(layers.roads, box, simplify_m=2) or []
    context = [{"path": r.path, "what": r.name or word(r.road_class)} for r in streets]
    homes = [
        {"lon": lon, "lat": lat, "what": f"{i.address}: {i.words}",
         "colour": BAND_COLOURS.get(i.band, [90, 90, 90, 220])}
        for i, lon, lat in spots
    ]  # fmt: skip
    view = pdk.data_utils.compute_view([[lon, lat] for _, lon, lat in spots])
    view.zoom = min(16.0, max(11.0, float(view.zoom) - 0.4))
    return pdk.Deck(
        layers=[
            pdk.Layer(
                "PathLayer",
                id="streets",
                data=context,
                get_path="path",
                get_color=[175, 175, 175, 200],
                width_min_pixels=1,
                pickable=True,
            ),
            pdk.Layer(
                "ScatterplotLayer",
                id="homes",
                data=homes,
                get_position=["lon", "lat"],
                get_fill_color="colour",
                get_radius=12,
                radius_min_pixels=5,
                stroked=True,
                get_line_color=[255, 255, 255],
                pickable=True,
            ),
        ],
        initial_view_state=view,
        tooltip={"text": "{what}"},
        map_provider=None,
    )


with recommend_tab:
    st.caption(
        "For each home (or block) the best package of measures within the cost cap, its effect "
        "worked out with the measures together: door measures overlap (a spy hole and a chain "
        "guard the same door), so together they are worth less than counted separately, "
        "which is shown beside it."
    )
    c1, c2 = st.columns(2)
    cap = c1.number_input(
        "Spend up to (£) per home or block", min_value=1, max_value=1_000_000,
        value=DEFAULT_CAP_PENCE // 100, step=25, key="rec_cap",
    )  # fmt: skip
    limit = c2.slider("How many homes or blocks", 5, 100, 20, key="rec_limit")
    catalogue = _run(unit_costs) or []
    costs: dict[str, int] = {}
    with st.expander("Unit costs (£): the catalogue's typical costs unless you change them"):
        for m in catalogue:
            chosen_cost = st.number_input(
                m.name, min_value=0, max_value=1_000_000,
                value=m.typical_cost_pence // 100, key=f"cost_{m.measure_code}",
            )  # fmt: skip
            if int(chosen_cost) * 100 != m.typical_cost_pence:
                costs[m.measure_code] = int(chosen_cost) * 100
    recs: list[Package] = _run(packages, provider, int(cap) * 100, int(limit), costs) or []
    if not recs:
        st.info(
            "Nothing to recommend within this cap: every home has what would lower its risk, "
            "it is on order, or it costs more than the cap."
        )
    else:
        spend = sum(r.cost_pence for r in recs) / 100
        st.markdown(
            f"**{len(recs)} {'home or block' if len(recs) == 1 else 'homes or blocks'}, "
            f"{pounds(spend)} in all:** the packages would "
            f"lower their risk scores by {sum(r.reduction for r in recs):.1f} points together "
            f"({sum(r.separate for r in recs):.1f} if each measure were counted on its own)."
            f" First: {recs[0].address}, {recs[0].words} for "
            f"{pounds(recs[0].cost_pence / 100)}."
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "address": r.address,
                        "for": "whole block" + (f" ({r.flats} flats)" if r.flats > 1 else "")
                        if r.scope == "block"
                        else "this home",
                        "risk band": word(r.band),
                        "cost": pounds(r.cost_pence / 100),
                        "risk lowered by (points)": round(r.reduction, 1),
                        "counted separately": round(r.separate, 1),
                        "package": r.words,
                    }
                    for r in recs
                ]
            ),
            hide_index=True,
            width="stretch",
            key="rec_table",
        )
        deck = _homes_map(recs)
        if deck is not None:
            st.pydeck_chart(deck, height=380, key="rec_map")
        by_uprn = {str(r.uprn): r for r in recs}
        chosen = st.multiselect(
            "Raise orders for",
            list(by_uprn),
            format_func=lambda k: f"{by_uprn[k].address}: {by_uprn[k].words}",
            key="rec_pick",
            select_all=False,  # the first row of the list is a home, never "select all"
        )
        if st.button("Raise order(s)", type="primary", key="raise", disabled=not chosen):
            made = []
            try:
                with as_actor(actor) as conn:
                    for key in chosen:
                        for measure in by_uprn[key].measures:
                            made.append(orders.create(conn, int(key), measure, provider))
            except HardeningError as exc:
                st.error(f"Nothing raised: {exc}")
            else:
                ids = ", ".join(f"#{o.work_order_id} ({word(o.priority)})" for o in made)
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
                "late": _late(v["late_minutes"]),
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
            tooltip=[
                "order",
                "priority",
                alt.Tooltip("start:T", format="%H:%M"),
                alt.Tooltip("end:T", format="%H:%M"),
                "late",
            ],
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
    box = BBox(min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad)
    streets = _run(layers.roads, box, simplify_m=2) or []
    stops = [
        {**v, "what": f"#{v['work_order_id']} {word(v['priority'])} {v['start']:%H:%M}"}
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
        params = {"start": start, "days": days, "seconds": seconds}
        try:
            ask(actor, PLAN_KEY, "works_schedule", params)
        except HardeningError as exc:
            st.error(str(exc))
    # A proposal belongs to this session (page changes keep it): one from an earlier session
    # may have been committed since, so it is not picked up again.
    job = follow(actor, PLAN_KEY, ("works_schedule",), pick_up=False)
    proposal = plan.from_json(job.result) if job is not None else None
    if proposal is not None:
        m = proposal["metrics"]
        asked = job.params if job is not None else {}
        st.caption(
            f"Proposed plan for {asked.get('days')} day(s) from {day_words(asked.get('start'))} "
            f"({proposal['solver']}, travel by {proposal['travel']}, times "
            f"{proposal['timezone']}): {int(m['scheduled'])} visits, {int(m['unscheduled'])} left "
            f"out, {int(m['travel_minutes'])} min travel."
        )
        for u in proposal["unscheduled"]:
            st.warning(f"Order #{u['work_order_id']} left out: {word(u['reason'])}")
        left, right = st.columns(2)
        if left.button("Commit this plan to the orders", key="commit"):
            written = _run(plan.commit_visits, proposal)
            if written is not None:
                st.success(f"{written} order(s) scheduled.")
                put_aside(PLAN_KEY)
                proposal = None
        if proposal is not None and right.button("Discard", key="discard"):
            put_aside(PLAN_KEY)
            proposal = None
    shown = proposal or _run(board.committed, provider, start, days)
    if shown is not None:
        if not shown["visits"]:
            st.info("No visits in these days yet: plan the open orders.")
        else:
            horizon = sorted({v["start"].date() for v in shown["visits"]})
            day = st.selectbox(
                "Day", horizon, format_func=lambda d: f"{d:%a} {day_words(d)}", key="plan_day"
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
                            "priority": word(v["priority"]),
                            "due": _when(v["due"]),
                            "late": _late(v["late_minutes"]),
                        }
                        for v in sorted(todays, key=lambda v: (v["operative"], v["start"]))
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
