"""The self-contained HTML report: one file, inline CSS and base64 PNG charts, no outside
requests, so it can be e-mailed or opened offline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from hardening.reports.charts import monthly_chart, referrals_chart, training_chart
from hardening.reports.publish import shown

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:70rem}
h1{color:#1f3a5f}table{border-collapse:collapse;margin:0.5rem 0 1.5rem}
td,th{border:1px solid #c8ccd1;padding:0.3rem 0.6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#eef1f5}
.tiles{display:flex;flex-wrap:wrap;gap:1rem}.tile{border:1px solid #c8ccd1;padding:0.8rem;
min-width:10rem}.tile b{font-size:1.6rem;display:block}.note{color:#555;font-size:0.9rem}
"""


def _change(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _tile(label: str, pair: dict[str, Any]) -> str:
    return (
        f"<div class='tile'>{escape(label)}<b>{escape(shown(pair['this']))}</b>"
        f"<span class='note'>previous year {escape(shown(pair['previous']))} "
        f"{_change(pair['change_pct'])}</span></div>"
    )


def _img(data: str, alt: str) -> str:
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{data}'>"


def render(published: dict[str, Any], area_name: str) -> str:
    p = published
    lines = p["lines"]
    tiles = "".join(
        [
            f"<div class='tile'>Active county lines<b>{lines['active_start']} &rarr; "
            f"{lines['active_end']}</b><span class='note'>1 January to 31 December</span></div>",
            _tile("Threats to life", p["threats_to_life"]),
            _tile("Vulnerability visits", p["visits"]),
            _tile("Referrals to partners", p["referrals"]),
            _tile("Intelligence submitted from visits", p["intelligence"]["from_visits"]),
            _tile("Intelligence logged", p["intelligence"]["logged"]),
            _tile("SAFE markers placed", p["markers"]["placed"]),
            _tile("SAFE marker reviews", p["markers"]["reviews"]),
        ]
    )
    referrals = _table(
        ["Partner", "Service", "This year", "Previous year", "Change"],
        (
            (
                r["partner"],
                r["service"].replace("_", " "),
                shown(r["this"]),
                shown(r["previous"]),
                _change(r["change_pct"]),
            )
            for r in p["referrals_by_partner_service"]
        ),
    )
    training = _table(
        ["Partner type", "Sessions", "Attendees"],
        ((r["partner_type"], r["sessions"], r["attendees"]) for r in p["training"]),
    )
    works = _table(
        ["Measure", "Completed", "Cost absorbed (£)"],
        (
            (r["measure"], shown(r["completed"]), shown(r["cost_pounds"], "-"))
            for r in p["works_by_measure"]
        ),
    )
    cost = _table(
        ["Provider", "Works completed", "Cost absorbed (£)"],
        (
            (r["provider"], shown(r["completed"]), shown(r["cost_pounds"], "-"))
            for r in p["cost_by_provider"]
        ),
    )
    cov = p["coverage"]
    coverage = _table(
        ["Cameras", "Working", "Faulty", "Planned"],
        (
            (
                kind.upper(),
                cov[kind].get("working", 0),
                cov[kind].get("faulty", 0),
                cov[kind].get("planned", 0),
            )
            for kind in ("cctv", "anpr")
        ),
    )
    bands = p["risk_distribution"]["bands"]
    risk = (
        _table(
            ["Model", "Low", "Medium", "High", "Very high"],
            (
                (
                    m,
                    *(
                        shown(bands[m].get(b)) if b in bands[m] else "0"
                        for b in ("low", "medium", "high", "very_high")
                    ),
                )
                for m in p["risk_distribution"]["models"]
            ),
        )
        if bands
        else "<p class='note'>No risk scores were computed by the end of the year.</p>"
    )
    charts = _img(monthly_chart(p), "visits and referrals per month") + _img(
        referrals_chart(p), "referrals by service"
    )
    if p["training"]:
        charts += _img(training_chart(p), "training attendees by partner type")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>County lines partnership: {p["year"]} report, {escape(area_name)}</title>
<style>{CSS}</style></head><body>
<h1>County lines partnership &mdash; {p["year"]} performance report</h1>
<p>Area: <b>{escape(area_name)}</b>. Counts of people, households and cases under 10 are shown
as &lsquo;&lt;10&rsquo; and the rest rounded to the nearest 5; changes use published figures.</p>
<div class="tiles">{tiles}</div>
<h2>Trends</h2>{charts}
<h2>Referrals by partner and service</h2>{referrals}
<h2>Awareness training delivered to partners</h2>{training}
<h2>Security works completed</h2>{works}<h3>Cost absorbed by providers</h3>{cost}
<h2>CCTV and ANPR</h2>{coverage}
<p class="note">Change in camera coverage over the year needs install dates on camera sites
(coverage module); the counts above are the sites as they stand now.</p>
<h2>Risk distribution</h2>{risk}
</body></html>
"""
