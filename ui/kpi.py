"""The KPI page's monthly chart: a pair of bars (visits, referrals) per month on an axis of
whole numbers, or a sentence when no month has a count to draw. Counts under 10 are withheld
(disclosure control); a year where every month is withheld or zero would otherwise draw an
empty chart whose axis reads 0.000000."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from hardening.reports.charts import MONTHLY_SERIES, monthly_rows

SERIES = [label for _, label in MONTHLY_SERIES]


def nothing_to_draw(figures: dict[str, Any], year: int) -> str | None:
    """The sentence shown instead of the chart when no month has a count above zero to draw;
    None when there is a chart."""
    if any(row["count"] for row in monthly_rows(figures)):
        return None
    withheld = any(r[key] is None for r in figures["monthly"] for key, _ in MONTHLY_SERIES)
    if withheld:
        return (
            f"No chart for {year}: every month's visits and referrals are withheld or none. "
            "Counts under 10 are withheld to protect the people counted; the year's totals "
            "are in the tables below."
        )
    return f"No visits or referrals were recorded in {year}."


def monthly_chart(figures: dict[str, Any]) -> alt.Chart:
    """One pair of bars per month, labelled with the month and year; counts of people are
    whole numbers, so is every tick of the axis."""
    rows = pd.DataFrame(monthly_rows(figures), columns=["month", "order", "series", "count"])
    months = list(dict.fromkeys(rows.sort_values("order")["month"]))
    chart: alt.Chart = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("month:N", sort=months, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("series:N", sort=SERIES),
            y=alt.Y(
                "count:Q",
                title="per month",
                axis=alt.Axis(format="d", tickMinStep=1),
                scale=alt.Scale(domainMin=0),
            ),
            color=alt.Color(
                "series:N",
                sort=SERIES,
                scale=alt.Scale(range=["#1f5fa8", "#e08a00"]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=["month", "series", "count"],
        )
    )
    return chart
