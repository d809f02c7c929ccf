"""PNG charts for the report, returned as base64 so the HTML page carries them inline.
They draw published (suppressed) figures only; a suppressed value is left as a gap."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in tests
import matplotlib.pyplot as plt


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def monthly_chart(published: dict[str, Any]) -> str:
    months = [str(r["month"])[:7] for r in published["monthly"]]
    fig, ax = plt.subplots(figsize=(8, 3))
    xs = range(len(months))
    for offset, key, colour in ((-0.2, "visits", "#1f5fa8"), (0.2, "referrals", "#e08a00")):
        heights = [r[key] if r[key] is not None else 0 for r in published["monthly"]]
        ax.bar([x + offset for x in xs], heights, width=0.4, label=key, color=colour)
    ax.set_xticks(list(xs), months, rotation=45, ha="right", fontsize=8)
    ax.set_title("Visits and referrals per month (months under 10 not shown)")
    ax.legend()
    return _png(fig)


def referrals_chart(published: dict[str, Any]) -> str:
    this: dict[str, int] = defaultdict(int)
    prev: dict[str, int] = defaultdict(int)
    for r in published["referrals_by_partner_service"]:
        this[r["service"]] += r["this"] or 0
        prev[r["service"]] += r["previous"] or 0
    services = sorted(set(this) | set(prev))
    fig, ax = plt.subplots(figsize=(8, 3))
    ys = range(len(services))
    ax.barh(
        [y + 0.2 for y in ys],
        [prev[s] for s in services],
        height=0.4,
        label="previous year",
        color="#9aa5b1",
    )
    ax.barh(
        [y - 0.2 for y in ys],
        [this[s] for s in services],
        height=0.4,
        label="this year",
        color="#1f5fa8",
    )
    ax.set_yticks(list(ys), [s.replace("_", " ") for s in services])
    ax.set_title("Referrals by service (published cells only)")
    ax.legend()
    return _png(fig)


def training_chart(published: dict[str, Any]) -> str:
    rows = published["training"]
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.bar([r["partner_type"] for r in rows], [r["attendees"] for r in rows], color="#2e8540")
    ax.set_title("Awareness training: attendees by partner type")
    return _png(fig)
