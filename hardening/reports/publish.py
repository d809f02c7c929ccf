"""What the yearly report may show: every count of people, households or cases goes through
hardening.security.disclosure (under 10 suppressed, the rest rounded to 5). Counts of lines,
of training sessions and attendees (professionals) and money are not about individuals and
are shown as they are. Year-on-year change is computed from published values only, so a
suppressed figure cannot be recovered from a change."""

from __future__ import annotations

from typing import Any

from hardening.reports.kpi import Kpi
from hardening.security.disclosure import publishable

SUPPRESSED = "<10"


def _pair(this: int, previous: int) -> dict[str, Any]:
    a, b = publishable(this), publishable(previous)
    change = None if a is None or b is None or b == 0 else round(100.0 * (a - b) / b, 1)
    return {"this": a, "previous": b, "change_pct": change}


def _works(row: dict[str, Any]) -> dict[str, Any]:
    """A cost beside a suppressed count would give the count away (cost / typical cost)."""
    completed = publishable(int(row["completed"]))
    cost = None if completed is None else round(int(row["cost_pence"]) / 100)
    return {"completed": completed, "cost_pounds": cost}


def publish(kpi: Kpi) -> dict[str, Any]:
    """The report's figures after disclosure control (None = suppressed)."""
    return {
        "year": kpi.year,
        "area": kpi.area,
        "lines": {"active_start": kpi.lines_active_start, "active_end": kpi.lines_active_end},
        "threats_to_life": _pair(kpi.threats_to_life["this"], kpi.threats_to_life["previous"]),
        "visits": _pair(kpi.visits["this"], kpi.visits["previous"]),
        "visits_by_subject": {k: publishable(v) for k, v in kpi.visits_by_subject.items()},
        "referrals": _pair(kpi.referrals["this"], kpi.referrals["previous"]),
        "referrals_by_partner_service": [
            {
                "partner": r["partner_name"],
                "partner_kind": r["partner_kind"],
                "service": r["service"],
                **_pair(int(r["this"]), int(r["previous"])),
            }
            for r in kpi.referrals_by_partner_service
        ],
        "intelligence": {
            "from_visits": _pair(
                kpi.intelligence["from_visits"], kpi.intelligence["from_visits_previous"]
            ),
            "logged": _pair(kpi.intelligence["logged"], kpi.intelligence["logged_previous"]),
        },
        "training": kpi.training_by_partner_type,
        "markers": {
            "placed": _pair(kpi.markers["placed"], kpi.markers["placed_previous"]),
            "reviews": _pair(kpi.markers["reviews"], kpi.markers["reviews_previous"]),
        },
        "works_by_measure": [{"measure": r["name"], **_works(r)} for r in kpi.works_by_measure],
        "cost_by_provider": [{"provider": r["name"], **_works(r)} for r in kpi.cost_by_provider],
        "coverage": kpi.coverage,
        "risk_distribution": {
            "models": kpi.risk_distribution["models"],
            "bands": {
                m: {b: publishable(n) for b, n in bands.items()}
                for m, bands in kpi.risk_distribution["bands"].items()
            },
        },
        "monthly": [
            {
                "month": r["month"],
                "visits": publishable(int(r["visits"])),
                "referrals": publishable(int(r["referrals"])),
            }
            for r in kpi.monthly
        ],
    }


def shown(value: int | None, hidden: str = SUPPRESSED) -> str:
    return hidden if value is None else f"{value:,}"
