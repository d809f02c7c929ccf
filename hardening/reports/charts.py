"""PNG charts for the report, returned as base64 so the HTML page carries them inline.
They draw published (suppressed) figures only; a suppressed value is left as a gap."""

from __future__ import annotations

import base64
import io
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in tests
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


MONTHLY_SERIES = (("visits", "Visits"), ("referrals", "Referrals"))


def month_label(month: Any) -> str:
    """A month as people write it, with its year: "Jan 2025" (from a date or "2025-01-01")."""
    value = month if isinstance(month, date) else date.fromisoformat(str(month)[:10])
    return f"{value:%b %Y}"


def monthly_rows(published: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per month and series (visits, referrals) for a bar per month: the month's label,
    its place in the year and the count (a withheld month is left out, not drawn as 0)."""
    return [
        {"month": month_label(r["month"]), "order": i, "series": label, "count": r[key]}
        for i, r in enumerate(published["monthly"])
        for key, label in MONTHLY_SERIES
        if r[key] is not None
    ]


NOTHING_TO_DRAW = "No month to draw: every month is withheld (fewer than 10) or had none"


def monthly_figure(published: dict[str, Any]) -> Any:
    """Bars per month, counted in whole numbers; a sentence instead when no month has a
    published count (an empty chart on a 0.0-0.05 axis says nothing)."""
    months = [month_label(r["month"]) for r in published["monthly"]]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.set_title("Visits and referrals per month (withheld months not drawn)")
    if not monthly_rows(published) or not any(r["count"] for r in monthly_rows(published)):
        ax.text(0.5, 0.5, NOTHING_TO_DRAW, transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    xs = range(len(months))
    for (key, label), offset, colour in zip(
        MONTHLY_SERIES, (-0.2, 0.2), ("#1f5fa8", "#e08a00"), strict=True
    ):
        heights = [r[key] if r[key] is not None else 0 for r in published["monthly"]]
        ax.bar([x + offset for x in xs], heights, width=0.4, label=label, color=colour)
    ax.set_xticks(list(xs), months, rotation=45, ha="right", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


def monthly_chart(published: dict[str, Any]) -> str:
    return _png(monthly_figure(published))


def referrals_chart(published: dict[str, Any]) -> str:
    """Referrals per service this year and last, from the published service totals."""
    rows = published["referrals_by_service"]
    services = [str(r["service"]) for r in rows]
    fig, ax = plt.subplots(figsize=(8, 3))
    ys = range(len(services))
    for offset, key, label, colour in (
        (0.2, "previous", "previous year", "#9aa5b1"),
        (-0.2, "this", "this year", "#1f5fa8"),
    ):
        ax.barh(
            [y + offset for y in ys],
            [r[key] or 0 for r in rows],
            height=0.4,
            label=label,
            color=colour,
        )
    ax.set_yticks(list(ys), [s.replace("_", " ") for s in services])
    ax.set_title("Referrals by service (withheld totals not drawn)")
    ax.legend()
    return _png(fig)


def risk_chart(published: dict[str, Any]) -> str:
    """Addresses per risk band on 1 January and 31 December (suppressed bands left out)."""
    bands = published["risk_distribution"]["bands"]
    fig, ax = plt.subplots(figsize=(6, 2.5))
    xs = range(len(bands))
    for offset, key, label, colour in (
        (-0.2, "start", "1 January", "#9aa5b1"),
        (0.2, "end", "31 December", "#c0392b"),
    ):
        ax.bar(
            [x + offset for x in xs],
            [b[key] or 0 for b in bands],
            width=0.4,
            label=label,
            color=colour,
        )
    ax.set_xticks(list(xs), [b["band"].replace("_", " ") for b in bands])
    ax.set_yscale("symlog")  # 'low' dwarfs the bands that matter
    ax.set_title("Addresses per risk band (withheld bands not drawn)")
    ax.legend()
    return _png(fig)


def training_chart(published: dict[str, Any]) -> str:
    rows = published["training"]
    fig, ax = plt.subplots(figsize=(6, 2.5))
    labels = [str(r["partner_type"]).replace("_", " ") for r in rows]
    ax.bar(labels, [r["attendees"] for r in rows], color="#2e8540")
    ax.tick_params(axis="x", labelrotation=35, labelsize=8)
    ax.set_title("Awareness training: attendees by partner type")
    return _png(fig)
