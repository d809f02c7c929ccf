"""Planning: what CCTV sees (walls applied), where uncovered risk lies (published cells only),
and where new CCTV or ANPR sites should go within a number of sites or a budget in pounds;
saved scenarios compared side by side. Results are in words: each site by its street and
junction, its cost, what it adds, coverage before and after, and why fewer sites came back
than were asked for. The optimiser's figures sit in an expander for analysts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st

from hardening import layers as layers_api
from hardening.bbox import BBox
from hardening.coverage.cctv import CctvParams
from hardening.coverage.data import planning_areas
from hardening.coverage.plans import compare_plans, list_plans
from hardening.coverage.report import camera_views_lonlat, coverage_report
from hardening.coverage.summary import (
    UnitCosts,
    anpr_sentence,
    cctv_sentence,
    homes,
    money,
    percent,
    place_names,
)
from hardening.db.engine import Actor
from hardening.errors import HardeningError
from hardening.geo import to_bng
from hardening.jobs.store import Job
from hardening.risk.layer import cell_ring
from ui.budget import budget_section
from ui.jobs import ask, follow
from ui.labels import word
from ui.session import as_actor, require_actor

actor = require_actor()
st.title("Planning: CCTV and ANPR")
with as_actor(actor) as conn:
    names = dict(planning_areas(conn))
if not names:
    st.warning("Your account may not plan in any area.")
    st.stop()
area = st.sidebar.selectbox("Area", list(names), format_func=names.__getitem__)
visibility = st.sidebar.checkbox("Walls block views", value=True)
STATUS_COLOUR = {"working": [30, 140, 220, 70], "faulty": [230, 120, 20, 70]}
KINDS = {"cctv": "New CCTV cameras", "anpr": "ANPR cameras"}
PLAN_JOB = "planning_job"  # the plan this visit asked for (ui/jobs.py)
STREET_SPAN_DEG = (0.06, 0.035)  # streets drawn around the area's cameras (about 4 km x 4 km)


def _streets(centre: list[float]) -> list[dict[str, Any]]:
    """Streets around the area for the offline map (no basemap)."""
    (lon, lat), (dx, dy) = centre, STREET_SPAN_DEG
    box = BBox(lon - dx, lat - dy, lon + dx, lat + dy)
    with as_actor(actor) as conn:
        roads = layers_api.roads(conn, box, simplify_m=2)
    return [{"path": r.path, "what": r.name or word(r.road_class)} for r in roads]


def _plan_of(actor: Actor, job: Job | None) -> dict[str, Any] | None:
    """A finished plan job's result, with what the page shows beside it: costs in pounds, the
    number of sites asked for, and each chosen site's street."""
    if job is None:
        return None
    plan: dict[str, Any] = dict(job.result)
    asked = job.params
    plan["asked"], plan["unit_costs"] = asked.get("asked"), asked["unit_costs"]
    if plan["kind"] == "cctv":
        plan["cost_pounds"] = plan["cost"]
        points = [to_bng(c["lon"], c["lat"]) for c in plan["chosen"]]
    else:
        plan["cost_pounds"] = len(plan["chosen"]) * asked["unit_costs"]["anpr"]
        points = [(c["x"], c["y"]) for c in plan["chosen"]]
    with as_actor(actor) as conn:
        plan["places"] = place_names(conn, points)
    return plan


def _site_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per chosen site in words: where, what, cost, what it adds."""
    unit = plan["unit_costs"]
    rows = []
    for c, place in zip(plan["chosen"], plan["places"], strict=True):
        if plan["kind"] == "anpr":
            what, cost = "New ANPR camera", unit["anpr"]
            adds = f"reads {100 * c['adds_share']:.0f}% more of the journeys to high-risk places"
            if c.get("adds_entry_routes"):
                adds += f", on {c['adds_entry_routes']} route(s) in from outside"
        else:
            repair = c["kind"] == "repair"
            what = "Repair a faulty camera" if repair else "New CCTV camera"
            cost = unit["cctv_repair"] if repair else unit["new_cctv"]
            adds = (
                f"sees {homes(c['adds_households'], more=True)}, "
                f"{percent(c['adds_share'], 1)} of the area's risk"
            )
        rows.append({"where": place, "what": what, "cost": money(cost), "adds": adds})
    return rows


try:
    with as_actor(actor) as conn:
        report = coverage_report(conn, area, visibility=visibility)
        sectors = camera_views_lonlat(conn, area, visibility=visibility)
except HardeningError as exc:
    st.error(str(exc))
    st.stop()

cols = st.columns(4)
cols[0].metric("Working cameras", report["cameras"]["working"])
cols[1].metric("Faulty cameras", report["cameras"]["faulty"])
cols[2].metric("Share of the risk cameras see", percent(report["covered"]["weight_share"]))
cols[3].metric("Homes cameras see", percent(report["covered"]["household_share"]))
if report["note"]:
    st.info(report["note"])

plan: dict[str, Any] | None = st.session_state.get("coverage_plan")
with st.form("run_plan"):
    kind = st.radio(
        "Plan", list(KINDS), format_func=KINDS.__getitem__, horizontal=True, key="plan_kind"
    )
    mode = st.radio("Limit by", ["number of sites", "budget"], horizontal=True, key="plan_mode")
    k = st.number_input("New sites", min_value=0, max_value=200, value=10, key="plan_sites")
    budget = st.number_input(
        "Budget (£)", min_value=0, max_value=100_000_000, value=60_000, step=1_000,
        key="plan_budget",
    )  # fmt: skip
    with st.expander("Unit costs (£): indicative; put in your own quotes"):
        defaults = UnitCosts()
        new_cost = st.number_input("New CCTV camera", 1, 10_000_000, int(defaults.new_cctv))
        repair_cost = st.number_input(
            "Repair of a faulty CCTV camera", 1, 10_000_000, int(defaults.cctv_repair)
        )
        anpr_cost = st.number_input("New ANPR camera", 1, 10_000_000, int(defaults.anpr))
    name = st.text_input("Save as (optional)")
    run = st.form_submit_button("Run")
if run:
    costs = UnitCosts(float(new_cost), float(repair_cost), float(anpr_cost))
    asked = int(k) if mode == "number of sites" else None
    try:
        costs.check()
        common = {
            "area": area,
            "name": name.strip() or None,
            "asked": asked,
            "unit_costs": {"new_cctv": costs.new_cctv, "cctv_repair": costs.cctv_repair,
                           "anpr": costs.anpr},
        }  # fmt: skip
        if kind == "cctv":
            params = CctvParams(
                new_sites=asked,
                budget=float(budget) if mode == "budget" else None,
                new_cost=costs.new_cctv,
                repair_cost=costs.cctv_repair,
                visibility=visibility,
                time_limit_s=60.0,
            )
            ask(actor, PLAN_JOB, "cctv_plan", common | asdict(params))
        else:
            sites = asked if asked is not None else int(budget // costs.anpr)
            anpr = {"new_sites": sites, "destinations": 20, "time_limit_s": 60.0}
            ask(actor, PLAN_JOB, "anpr_plan", common | anpr)
    except HardeningError as exc:
        st.error(str(exc))

plan = _plan_of(actor, follow(actor, PLAN_JOB, ("cctv_plan", "anpr_plan")))
if plan and plan["area_id"] != area:
    st.caption(
        f"Your latest plan is for {names.get(plan['area_id'], plan['area_id'])}: choose that "
        "area to see it."
    )
    plan = None

if plan:
    area_name = names.get(plan["area_id"], plan["area_id"])
    st.subheader("What the plan buys")
    if plan["kind"] == "cctv":
        st.success(cctv_sentence(plan, area_name))
    else:
        st.success(anpr_sentence(plan, area_name))
    if plan.get("asked") is not None and len(plan["chosen"]) < plan["asked"]:
        st.info(
            f"You asked for {plan['asked']} sites; {len(plan['chosen'])} came back because "
            f"{plan.get('shortfall') or 'no further site would add anything'}."
        )
    elif not plan["chosen"] and plan.get("shortfall"):
        st.info(f"No site came back: {plan['shortfall']}.")
    st.dataframe(pd.DataFrame(_site_rows(plan)), hide_index=True, width="stretch", key="chosen")

centre = sectors[0]["ring"][0] if sectors else [-3.22, 54.12]
streets = _streets(centre)
layers = [
    pdk.Layer("PathLayer", id="streets", data=streets, get_path="path",
              get_color=[160, 160, 160, 220], width_min_pixels=1, pickable=True),
    pdk.Layer(
        "PolygonLayer",
        [
            {"polygon": cell_ring(c), "what": f"{c['households']} homes no camera sees"}
            for c in report["uncovered_cells"]
            if c["households"] is not None
        ],
        id="uncovered",
        get_polygon="polygon",
        get_fill_color=[200, 30, 30, 60],
        stroked=False,
        pickable=True,
    ),
    pdk.Layer(
        "PolygonLayer",
        [
            {"polygon": s["ring"], "colour": STATUS_COLOUR[s["status"]],
             "what": f"{s['name'] or 'CCTV camera'} ({word(s['status'])})"}
            for s in sectors
        ],
        id="sectors",
        get_polygon="polygon",
        get_fill_color="colour",
        get_line_color=[20, 60, 120, 200],
        line_width_min_pixels=1,
        pickable=True,
    ),
]  # fmt: skip
if plan:
    chosen = [c | {"what": place} for c, place in zip(plan["chosen"], plan["places"], strict=True)]
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            chosen,
            id="chosen",
            get_position="[lon, lat]",
            get_fill_color=[20, 170, 60, 230],
            get_radius=25,
            radius_min_pixels=5,
            pickable=True,
        )
    )
st.pydeck_chart(
    pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=13),
        map_provider=None,
        tooltip={"text": "{what}"},
    )
)
st.caption(
    "Grey: streets. Blue/orange: what working/faulty cameras see; red: areas with homes no "
    "camera sees (counts under 10 not shown); green: the chosen sites."
)
if plan:
    with st.expander("Technical detail (for analysts)"):
        st.write(
            f"Optimiser status {plan['status']}, objective {plan['objective']}, bound "
            f"{plan['bound']}, gap {plan['gap']}, {plan['seconds']} s; greedy objective "
            f"{plan['greedy']['objective']}. Weight basis: {plan['weight_basis']}."
        )
        st.json({k: v for k, v in plan.items() if k not in ("existing",)}, expanded=False)

st.subheader("Faulty cameras: what a repair brings back")
if report["repairs"]:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "camera": r["name"] or f"camera {r['site_id']}",
                    "homes it would see again": homes(r["restored_households"]),
                    "share of the area's risk": percent(r["restored_share"], 2),
                }
                for r in report["repairs"]
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("No faulty cameras in this area.")

with as_actor(actor) as conn:
    saved = list_plans(conn, area)
if len(saved) >= 2:
    st.subheader("Compare scenarios")
    labels = {p.plan_id: f"{p.plan_id}: {p.name} ({p.kind})" for p in saved}
    a = st.selectbox("A", list(labels), format_func=labels.__getitem__, index=1)
    b = st.selectbox("B", list(labels), format_func=labels.__getitem__, index=0)
    with as_actor(actor) as conn:
        cmp = compare_plans(conn, int(a), int(b))
    st.dataframe(pd.DataFrame([cmp.a.as_dict(), cmp.b.as_dict()]))

budget_section(actor, area)
