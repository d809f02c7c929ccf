"""The self-contained HTML report: one file, inline CSS and base64 PNG charts, no outside
requests, so it can be e-mailed or opened offline. Its tables are tables.py's sections, the
same the KPI dashboard page shows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from hardening.reports.charts import monthly_chart, referrals_chart, risk_chart, training_chart
from hardening.reports.publish import LEGEND, shown
from hardening.reports.tables import Section, change, sections

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:70rem}
h1{color:#1f3a5f}table{border-collapse:collapse;margin:0.5rem 0 1.5rem}
td,th{border:1px solid #c8ccd1;padding:0.3rem 0.6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#eef1f5}
.tiles{display:flex;flex-wrap:wrap;gap:1rem}.tile{border:1px solid #c8ccd1;padding:0.8rem;
min-width:10rem}.tile b{font-size:1.6rem;display:block}.note{color:#555;font-size:0.9rem}
"""
TILES = (
    ("Threats to life", ("threats_to_life",)),
    ("Vulnerability visits", ("visits",)),
    ("Referrals to partners", ("referrals",)),
    ("Intelligence submitted from visits", ("intelligence", "from_visits")),
    ("Intelligence logged", ("intelligence", "logged")),
    ("SAFE markers placed", ("markers", "placed")),
    ("SAFE marker reviews", ("markers", "reviews")),
)


def tile_pairs(p: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, {this, previous, change_pct}) of every headline figure but the lines."""
    out = []
    for label, path in TILES:
        value = p
        for key in path:
            value = value[key]
        out.append((label, value))
    return out


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(s: Section, level: str = "h2") -> str:
    note = f"<p class='note'>{escape(s.note)}</p>" if s.note else ""
    return f"<{level}>{escape(s.title)}</{level}>{_table(s.headers, s.rows)}{note}"


def _tile(label: str, pair: dict[str, Any]) -> str:
    return (
        f"<div class='tile'>{escape(label)}<b>{escape(shown(pair['this']))}</b>"
        f"<span class='note'>previous year {escape(shown(pair['previous']))} "
        f"{change(pair['change_pct'])}</span></div>"
    )


def _img(data: str, alt: str) -> str:
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{data}'>"


def render(published: dict[str, Any], area_name: str) -> str:
    p = published
    lines = p["lines"]
    tiles = f"<div class='tile'>Active county lines<b>{lines['active_start']} &rarr; " + (
        f"{lines['active_end']}</b><span class='note'>1 January to 31 December</span></div>"
    )
    tiles += "".join(_tile(label, pair) for label, pair in tile_pairs(p))
    charts = _img(monthly_chart(p), "visits and referrals per month")
    charts += _img(referrals_chart(p), "referrals by service")
    if p["training"]:
        charts += _img(training_chart(p), "training attendees by partner type")
    if p["risk_distribution"]["available"]:
        charts += _img(risk_chart(p), "addresses per risk band at the start and end of the year")
    body = "".join(
        _section(s, "h3" if s.key in ("referral_totals", "cost") else "h2") for s in sections(p)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>County lines partnership: {p["year"]} report, {escape(area_name)}</title>
<style>{CSS}</style></head><body>
<h1>County lines partnership &mdash; {p["year"]} performance report</h1>
<p>Area: <b>{escape(area_name)}</b>. {escape(LEGEND)} Changes are worked out from the published
figures.</p>
<div class="tiles">{tiles}</div>
<h2>Trends</h2>{charts}
{body}
</body></html>
"""
