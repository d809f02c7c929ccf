"""Planning: what CCTV sees (walls applied), where uncovered risk lies (published cells only),
and where new CCTV or ANPR sites should go; saved scenarios compared side by side."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st

from hardening.coverage.anpr import plan_anpr
from hardening.coverage.cctv import CctvParams, plan_cctv
from hardening.coverage.data import planning_areas
from hardening.coverage.plans import compare_plans, list_plans, save_plan
from hardening.coverage.report import camera_views_lonlat, coverage_report
from hardening.errors import HardeningError
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


def _cell_ring(c: dict[str, Any]) -> list[list[float]]:
    # Cell centres come in lon/lat; half a 250 m cell is ~0.0019 deg lon, ~0.0011 deg lat here.
    dx, dy = 0.0019 * c["cell_m"] / 250, 0.00112 * c["cell_m"] / 250
    lon, lat = c["lon"], c["lat"]
    return [[lon - dx, lat - dy], [lon + dx, lat - dy], [lon + dx, lat + dy], [lon - dx, lat + dy]]


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
cols[2].metric("Weighted demand covered", f"{report['covered']['weight_share']:.1%}")
cols[3].metric("Households covered", f"{report['covered']['household_share']:.1%}")
if report["note"]:
    st.info(report["note"])

plan: dict[str, Any] | None = st.session_state.get("coverage_plan")
with st.form("run_plan"):
    kind = st.radio("Plan", ["cctv", "anpr"], horizontal=True)
    mode = st.radio("Limit by", ["new sites", "budget"], horizontal=True)
    k = st.number_input("New sites", min_value=0, max_value=200, value=10)
    budget = st.number_input("Budget (new site = 1, repair = 0.4)", min_value=0.0, value=5.0)
    backup = st.slider("Backup coverage weight", 0.0, 1.0, 0.0, 0.1)
    name = st.text_input("Save as (optional)")
    run = st.form_submit_button("Run")
if run:
    with st.status("Optimising...", expanded=False) as status:
        try:
            with as_actor(actor) as conn:
                if kind == "cctv":
                    params = CctvParams(
                        new_sites=int(k) if mode == "new sites" else None,
                        budget=float(budget) if mode == "budget" else None,
                        backup_weight=float(backup),
                        visibility=visibility,
                        time_limit_s=60.0,
                    )
                    plan = plan_cctv(conn, area, params, progress=status.write)
                else:
                    plan = plan_anpr(conn, area, int(k), progress=status.write)
                if name.strip():
                    plan["plan_id"] = save_plan(conn, name, plan, {"k": int(k), "mode": mode})
            st.session_state["coverage_plan"] = plan
            status.update(label="Done", state="complete")
        except HardeningError as exc:
            status.update(label="Failed", state="error")
            st.error(str(exc))

layers = [
    pdk.Layer(
        "PolygonLayer",
        [
            {"polygon": _cell_ring(c), "n": c["households"]}
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
            {"polygon": s["ring"], "colour": STATUS_COLOUR[s["status"]], "name": s["name"]}
            for s in sectors
        ],
        id="sectors",
        get_polygon="polygon",
        get_fill_color="colour",
        get_line_color=[20, 60, 120, 200],
        line_width_min_pixels=1,
        pickable=True,
    ),
]
if plan:
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            plan["chosen"],
            id="chosen",
            get_position="[lon, lat]",
            get_fill_color=[20, 170, 60, 230],
            get_radius=25,
            radius_min_pixels=5,
            pickable=True,
        )
    )
centre = sectors[0]["ring"][0] if sectors else [-3.22, 54.12]
st.pydeck_chart(
    pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=13),
        map_provider=None,
        tooltip={"text": "{name}"},
    )
)
st.caption(
    "Blue/orange: working/faulty camera views; red: published cells of uncovered homes "
    "(counts under 10 suppressed); green: chosen sites."
)

if plan:
    st.subheader(f"Result: {plan['status']}, gap {plan['gap']}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "method": "HiGHS",
                    "objective": plan["objective"],
                    "bound": plan["bound"],
                    "seconds": plan["seconds"],
                },
                {
                    "method": "greedy",
                    "objective": plan["greedy"]["objective"],
                    "bound": None,
                    "seconds": plan["greedy"]["seconds"],
                },
            ]
        )
    )
    st.dataframe(pd.DataFrame(plan["chosen"]))

st.subheader("Faulty cameras: what a repair restores")
st.dataframe(pd.DataFrame(report["repairs"]))

with as_actor(actor) as conn:
    saved = list_plans(conn, area)
if len(saved) >= 2:
    st.subheader("Compare scenarios")
    labels = {p["plan_id"]: f"{p['plan_id']}: {p['name']} ({p['kind']})" for p in saved}
    a = st.selectbox("A", list(labels), format_func=labels.__getitem__, index=1)
    b = st.selectbox("B", list(labels), format_func=labels.__getitem__, index=0)
    with as_actor(actor) as conn:
        cmp = compare_plans(conn, int(a), int(b))
    st.dataframe(pd.DataFrame([cmp["a"], cmp["b"]]))
