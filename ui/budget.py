"""The Planning page's section "One budget": new cameras, camera repairs and housing works
chosen together (hardening.budget), in words, as a table, on a map; saved and raised as far as
the planner's role may. Works are shown per provider and package, never per home. The plan is
a job (the worker solves it): progress while it runs, and it waits when a person leaves."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st

from hardening import layers as layers_api
from hardening.bbox import BBox
from hardening.budget.cli import pairs
from hardening.budget.inputs import BudgetParams
from hardening.budget.store import raise_plan
from hardening.coverage.summary import money
from hardening.db.engine import Actor
from hardening.errors import HardeningError
from ui.deck import fit_view, street_layers
from ui.jobs import ask, follow
from ui.session import as_actor

BASELINES = {
    "cameras only": "Cameras only",
    "works only": "Housing works only",
    "greedy": "Best value per pound first",
}
BUDGET_JOB = "budget_job"  # the budget plan this visit follows (ui/jobs.py)
EFFECTS = {"low": "weaker", "central": "expected", "high": "stronger"}


def _rows(doc: dict[str, Any], orgs: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for i in doc["items"]:
        what = (
            i["what"]
            if i["kind"] not in ("new camera", "camera repair")
            else ("New camera" if i["kind"] == "new camera" else "Repair a faulty camera")
        )
        rows.append(
            {
                "what": what,
                "where": i.get("place") or "homes of " + orgs.get(i["owner"], i["owner"]),
                "how many": "under 10" if i["count"] is None else f"{i['count']:,}",
                "paid by": orgs.get(i["owner"], i["owner"]),
                "cost": "withheld" if i["cost"] is None else money(i["cost"]),
                "takes off (homes' risk)": "withheld" if i["adds"] is None else f"{i['adds']:.2f}",
            }
        )
    return rows


def _uncertainty(doc: dict[str, Any]) -> list[str]:
    out = []
    for u in doc["uncertainty"]:
        said = (
            f"With {EFFECTS[u['effects']]} effects (x{u['scale']:g}) this plan takes "
            f"{u['plan_value']:.1f} homes' risk off"
        )
        if "changes" in u:
            c = u["changes"]
            said += (
                f"; the best plan then takes {u['best_value']:.1f} off and would change "
                f"{c['homes_changed']:,} homes' packages and {c['blocks_changed']:,} blocks', "
                f"add {len(c['cameras_added'])} camera(s) and drop {len(c['cameras_dropped'])}"
            )
        out.append(said + ".")
    return out


def budget_section(actor: Actor, area: str) -> None:
    st.subheader("One budget: cameras, repairs and housing works")
    st.caption(
        "New cameras, repairs of faulty cameras and each housing provider's door and entry "
        "works, chosen together for the most risk taken off within every budget."
    )
    with st.form("budget_plan"):
        total = st.number_input(
            "Total budget (£)",
            min_value=1,
            max_value=1_000_000_000,
            value=250_000,
            step=10_000,
            key="budget_total",
        )
        camera_cap = st.number_input(
            "Of which police may spend on cameras at most (£, 0 for no cap)",
            min_value=0,
            max_value=1_000_000_000,
            value=0,
            step=10_000,
            key="budget_police",
        )
        providers = st.text_input(
            "Providers' budgets (£), e.g. harbourlight-homes=50000, fellgate-housing=30000",
            key="budget_providers",
        )
        name = st.text_input("Save as (optional; needed to raise it)", key="budget_name")
        run = st.form_submit_button("Plan the budget")
    if run:
        try:
            caps = pairs(
                [p for p in providers.replace(";", ",").split(",") if p.strip()],
                "a provider's budget",
            )
            if camera_cap:
                caps = (("police", float(camera_cap)), *caps)
            params = BudgetParams(float(total), caps, time_limit_s=20.0)
            params.check()
            job = {"area": area, "name": name.strip() or None, **asdict(params)}
            ask(actor, BUDGET_JOB, "budget_plan", job)
        except HardeningError as exc:
            st.error(str(exc))
    done = follow(actor, BUDGET_JOB, ("budget_plan",))
    doc: dict[str, Any] | None = done.result if done is not None else None
    if not doc or doc["area_id"] != area:
        return
    orgs = doc["org_names"]
    st.success(doc["summary"])
    st.dataframe(
        pd.DataFrame(_rows(doc, orgs)), hide_index=True, width="stretch", key="budget_items"
    )
    spend = [
        f"{b['name']}: {money(b['spent'])}"
        + (f" of {money(b['budget'])}" if b["budget"] is not None else "")
        for b in doc["budgets"]
    ]
    st.write("Spent: " + "; ".join(spend) + ".")
    st.write(
        "The same money another way: "
        + "; ".join(
            f"{BASELINES[b['name']]} takes {b['objective']:.1f} off for {money(b['total_cost'])}"
            for b in doc["baselines"]
        )
        + "."
    )
    for line in _uncertainty(doc):
        st.caption(line)
    _map(actor, doc)
    if doc.get("plan_id") and st.button("Raise the plan", key="budget_raise"):
        try:
            with as_actor(actor) as conn:
                raised = raise_plan(conn, int(doc["plan_id"]))
            if raised.siting_plan_id:
                st.info(f"Camera sites saved as siting plan {raised.siting_plan_id}.")
            if raised.work_orders:
                st.info(f"{len(raised.work_orders):,} work orders raised.")
            for why in raised.not_raised:
                st.warning(f"Not raised: {why}.")
        except HardeningError as exc:
            st.error(str(exc))


def _map(actor: Actor, doc: dict[str, Any]) -> None:
    cams = [c | {"what": f"{c['kind']}, {money(c['cost'])}"} for c in doc["map"]["cameras"]]
    cells = [c | {"what": f"{c['homes']} homes with works"} for c in doc["map"]["works"]]
    points = [(p["lon"], p["lat"]) for p in cams + cells]
    layers = [
        pdk.Layer(
            "ScatterplotLayer",
            cells,
            id="budget_works",
            get_position="[lon, lat]",
            get_fill_color=[230, 140, 20, 120],
            get_radius=110,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            cams,
            id="budget_cameras",
            get_position="[lon, lat]",
            get_fill_color=[20, 170, 60, 230],
            get_radius=25,
            radius_min_pixels=5,
            pickable=True,
        ),
    ]
    view = fit_view(points, {"longitude": -3.22, "latitude": 54.12, "zoom": 12}, max_zoom=15)
    if points:  # streets around the plan for context (no basemap: offline)
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        box = BBox(min(lons) - 0.01, min(lats) - 0.006, max(lons) + 0.01, max(lats) + 0.006)
        with as_actor(actor) as conn:
            layers = street_layers(layers_api.roads(conn, box, simplify_m=2)) + layers
    st.pydeck_chart(
        pdk.Deck(
            layers=layers, initial_view_state=view, map_provider=None, tooltip={"text": "{what}"}
        ),
        key="budget_map",
    )
    st.caption(
        "Green: cameras to fit or repair. Orange: 250 m squares with homes getting works "
        "(squares under 10 homes not shown)."
    )
