"""The yearly performance dashboard: the report's published figures, its tables (the same
sections as the HTML report), charts and the HTML download."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from hardening.errors import HardeningError
from hardening.reports.html import render, tile_pairs
from hardening.reports.publish import LEGEND, published_kpi, shown
from hardening.reports.tables import sections
from hardening.visits.options import form_options
from ui.kpi import monthly_chart, nothing_to_draw
from ui.labels import cell_words
from ui.session import as_actor, require_actor

actor = require_actor()
st.title("Yearly performance")
with as_actor(actor) as conn:
    areas = form_options(conn).areas
year = st.number_input("Year", 2020, date.today().year, date.today().year - 1, key="year")
area = st.selectbox(
    "Area", [None, *areas], key="area", format_func=lambda a: "all areas" if a is None else areas[a]
)
# Coverage and the risk distribution at both ends of the year take a while: once per choice,
# per signed-in user (each counts what its own row-level security lets it see).
cache: dict[tuple[Any, ...], dict[str, Any]] = st.session_state.setdefault("kpi_cache", {})
asked = (actor, int(year), area)
if asked not in cache:
    try:
        with (
            st.spinner("Counting the year (coverage and risk take a while)..."),
            as_actor(actor) as conn,
        ):
            cache[asked] = published_kpi(conn, int(year), area)  # the API's rule: report roles only
    except HardeningError as exc:
        st.error(str(exc))
        st.stop()
figures = cache[asked]
st.caption(LEGEND)
cols = st.columns(4)
cols[0].metric(
    "Active lines (end of year)",
    figures["lines"]["active_end"],
    figures["lines"]["active_end"] - figures["lines"]["active_start"],
    delta_color="inverse",
)
for i, (label, pair) in enumerate(tile_pairs(figures), start=1):
    delta = None if pair["change_pct"] is None else f"{pair['change_pct']:+.1f}%"
    cols[i % 4].metric(label, shown(pair["this"]), delta)
st.subheader("Visits and referrals per month")
empty = nothing_to_draw(figures, int(year))
if empty is not None:
    st.info(empty)
else:
    st.altair_chart(monthly_chart(figures), key="monthly_chart")
    st.caption("A withheld month (a count under the disclosure threshold) has no bar.")
for section in sections(figures):
    st.subheader(section.title)
    st.dataframe(
        pd.DataFrame(
            [[cell_words(c) for c in row] for row in section.rows], columns=list(section.headers)
        ),
        hide_index=True,
        key=f"table_{section.key}",
    )
    if section.note:
        st.caption(section.note)
st.download_button(
    "Download the HTML report",
    render(figures, "All areas" if area is None else areas[area]),
    file_name=f"kpi-{int(year)}.html",
    mime="text/html",
    key="download",
)
