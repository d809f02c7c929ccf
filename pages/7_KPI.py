"""The yearly performance dashboard: the report's published figures, charts and download."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from hardening.errors import HardeningError
from hardening.reports.html import render
from hardening.reports.kpi import compute
from hardening.reports.publish import publish, shown
from hardening.visits.options import form_options
from ui.session import as_actor, require_actor

actor = require_actor()
st.title("Yearly performance")
with as_actor(actor) as conn:
    areas = form_options(conn).areas
year = st.number_input("Year", 2020, date.today().year, date.today().year - 1, key="year")
area = st.selectbox(
    "Area", [None, *areas], key="area", format_func=lambda a: "all areas" if a is None else areas[a]
)
try:
    with as_actor(actor) as conn:
        figures = publish(compute(conn, int(year), area))
except HardeningError as exc:
    st.error(str(exc))
    st.stop()
st.caption(
    "Counts of people, households and cases under 10 show as <10; the rest are rounded to 5."
)
tiles = [
    ("Threats to life", figures["threats_to_life"]),
    ("Visits", figures["visits"]),
    ("Referrals", figures["referrals"]),
    ("Intelligence from visits", figures["intelligence"]["from_visits"]),
    ("Markers placed", figures["markers"]["placed"]),
    ("Marker reviews", figures["markers"]["reviews"]),
]
cols = st.columns(4)
cols[0].metric(
    "Active lines (end of year)",
    figures["lines"]["active_end"],
    figures["lines"]["active_end"] - figures["lines"]["active_start"],
    delta_color="inverse",
)
for i, (label, pair) in enumerate(tiles, start=1):
    delta = None if pair["change_pct"] is None else f"{pair['change_pct']:+.1f}%"
    cols[i % 4].metric(label, shown(pair["this"]), delta)
monthly = pd.DataFrame(figures["monthly"]).set_index("month")
st.subheader("Visits and referrals per month")
st.bar_chart(monthly.fillna(0))
st.subheader("Referrals by partner and service")
st.dataframe(pd.DataFrame(figures["referrals_by_partner_service"]).fillna("<10"), hide_index=True)
st.subheader("Awareness training")
st.dataframe(pd.DataFrame(figures["training"]), hide_index=True)
st.subheader("Works completed")
st.dataframe(pd.DataFrame(figures["works_by_measure"]).fillna("<10"), hide_index=True)
st.download_button(
    "Download the HTML report",
    render(figures, "All areas" if area is None else areas[area]),
    file_name=f"kpi-{int(year)}.html",
    mime="text/html",
    key="download",
)
