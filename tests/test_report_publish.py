"""Disclosure control of the yearly figures and the HTML page, on small hand-made figures
(no database): what is suppressed, rounded, worked out from totals, and drawn."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hardening.reports.charts import NOTHING_TO_DRAW, monthly_figure
from hardening.reports.html import render
from hardening.reports.kpi import Kpi
from hardening.reports.publish import publish
from hardening.reports.tables import sections

YEAR = 2025


def _referral(partner: str, service: str, this: int, previous: int) -> dict[str, Any]:
    return {
        "partner_org_id": partner.lower().replace(" ", "-"),
        "partner_name": partner,
        "partner_kind": "voluntary",
        "service": service,
        "this": this,
        "previous": previous,
    }


def small_kpi() -> Kpi:
    """Figures with small counts everywhere; referral cells sum to the referral totals."""
    return Kpi(
        year=YEAR,
        area=None,
        lines_active_start=3,
        lines_active_end=2,
        threats_to_life={"this": 4, "previous": 11},
        visits={"this": 30, "previous": 38},
        visits_by_subject={"other": 3, "class_a_user": 27},
        referrals={"this": 53, "previous": 30},
        referrals_by_partner_service=[
            _referral("Food <Bank>", "food_bank", 9, 14),
            _referral("Food <Bank>", "housing", 12, 0),
            _referral("Health", "mental_health", 32, 16),
        ],
        intelligence={
            "from_visits": 10,
            "from_visits_previous": 0,
            "logged": 2,
            "logged_previous": 3,
        },
        training_by_partner_type=[{"partner_type": "school", "sessions": 1, "attendees": 4}],
        markers={"placed": 6, "placed_previous": 10, "reviews": 17, "reviews_previous": 12},
        works_by_measure=[
            {"measure_code": "spy_hole", "name": "Spy hole", "completed": 3, "cost_pence": 7500}
        ],
        cost_by_provider=[
            {"provider_org_id": "p", "name": "P", "completed": 23, "cost_pence": 123456}
        ],
        coverage={
            "start": date(YEAR, 1, 1),
            "end": date(YEAR, 12, 31),
            "sites_start": {"cctv": 5, "anpr": 1},
            "sites_end": {"cctv": 6, "anpr": 2},
            "area_names": {"north": "Test North", "south": "Test South"},
            "areas": {
                "north": {
                    "cctv": {"households": 4000, "covered_start": 212, "covered_end": 288},
                    "anpr": {"entry_routes": 40, "captured_start": 10, "captured_end": 18},
                },
                "south": {
                    "cctv": {"households": 1000, "covered_start": 0, "covered_end": 7},
                    "anpr": None,
                },
            },
        },
        risk_distribution={
            "available": True,
            "model": "m1",
            "start": {"low": 900, "medium": 80, "high": 14, "very_high": 6},
            "end": {"low": 880, "medium": 90, "high": 30, "very_high": 0},
        },
        monthly=[
            {"month": date(YEAR, 1, 1), "visits": 7, "referrals": 12},
            {"month": date(YEAR, 2, 1), "visits": 23, "referrals": 41},
        ],
    )


def test_publish_suppresses_small_counts() -> None:
    p = publish(small_kpi())
    assert p["threats_to_life"] == {"this": None, "previous": 10, "change_pct": None}
    assert p["visits"] == {"this": 30, "previous": 40, "change_pct": -25.0}
    # 3 is suppressed, so 27 goes too: the total 30 less 27 would give the 3 away
    assert p["visits_by_subject"] == {"other": None, "class_a_user": None}
    assert p["intelligence"]["from_visits"]["change_pct"] is None  # previous 0: no ratio
    assert p["works_by_measure"] == [
        {"measure": "Spy hole", "completed": None, "cost_pounds": None}
    ]  # cost would give the count away
    assert p["cost_by_provider"][0] == {"provider": "P", "completed": 25, "cost_pounds": 1235}
    assert p["monthly"] == [
        {"month": date(YEAR, 1, 1), "visits": None, "referrals": 10},
        {"month": date(YEAR, 2, 1), "visits": None, "referrals": 40},
    ]
    assert p["lines"] == {"active_start": 3, "active_end": 2}  # lines are not people


def test_referral_cells_cannot_be_worked_out_from_the_totals() -> None:
    p = publish(small_kpi())
    rows = {(r["partner"], r["service"]): r for r in p["referrals_by_partner_service"]}
    # 9 is under 10; Food Bank's total (21) and food_bank's (9, with nothing else) would
    # give it away: 12 (same partner) is suppressed too, and the food_bank total withheld
    assert rows[("Food <Bank>", "food_bank")]["this"] is None
    assert rows[("Food <Bank>", "housing")]["this"] is None
    assert rows[("Health", "mental_health")]["this"] == 30
    by_partner = {t["partner"]: t for t in p["referrals_by_partner"]}
    by_service = {t["service"]: t for t in p["referrals_by_service"]}
    assert by_partner["Food <Bank>"]["this"] == 20 and by_service["food_bank"]["this"] is None
    assert p["referrals"]["this"] == 55  # 53 rounded
    # previous year: Food Bank's 14 and 0 show (a zero is no one's count)
    assert rows[("Food <Bank>", "housing")]["previous"] == 0
    assert rows[("Food <Bank>", "food_bank")]["previous"] == 15
    # change only between published figures
    assert rows[("Health", "mental_health")]["change_pct"] == 100.0
    assert rows[("Food <Bank>", "food_bank")]["change_pct"] is None


def test_coverage_and_risk_are_published_with_their_changes() -> None:
    p = publish(small_kpi())
    cov = p["coverage"]
    assert cov["sites_start"] == {"cctv": 5, "anpr": 1} and cov["sites_end"]["anpr"] == 2
    north = cov["areas"]["north"]["cctv"]
    assert (north["covered_start"], north["covered_end"]) == (210, 290)
    # shares of the published figures (210 / 4000, 290 / 4000)
    assert (north["share_start_pct"], north["share_end_pct"], north["change_points"]) == (
        5.2,
        7.2,
        2.0,
    )
    south = cov["areas"]["south"]["cctv"]
    assert south["covered_start"] == 0 and south["share_start_pct"] == 0.0
    # 7 households: withheld, and so is its share (0.7% of 1,000 would give the 7 away)
    assert south["covered_end"] is None and south["share_end_pct"] is None
    assert south["change_points"] is None
    assert cov["cctv"]["households"] == 5000 and cov["cctv"]["covered_end"] == 295
    assert cov["anpr"] == {
        "entry_routes": 40,
        "cordon_start_pct": 25.0,
        "cordon_end_pct": 45.0,
        "change_points": 20.0,
    }
    bands = {b["band"]: b for b in p["risk_distribution"]["bands"]}
    assert bands["medium"] == {"band": "medium", "start": 80, "end": 90, "change": 10}
    # very high: 6 at the start is suppressed (the end's zero shows), and high's 14 with it,
    # or the total less the other bands would give the 6 away
    assert bands["very_high"]["start"] is None and bands["very_high"]["end"] == 0
    assert bands["high"] == {"band": "high", "start": None, "end": 30, "change": None}


def test_coverage_rows_name_their_areas() -> None:
    coverage = next(s for s in sections(publish(small_kpi())) if s.key == "coverage")
    labels = [row[0] for row in coverage.rows]
    assert "Test North: households in view of working CCTV" in labels
    assert not [label for label in labels if label.startswith(("north:", "south:"))]


def test_html_is_self_contained_and_shows_suppression() -> None:
    p = publish(small_kpi())
    page = render(p, "Test <Area>")
    assert page.startswith("<!doctype html>")
    assert "[c]" in page and "Test &lt;Area&gt;" in page and "Food &lt;Bank&gt;" in page
    assert "<10" not in page and "&lt;10" not in page  # one mark for every withheld figure
    assert not re.search(r"(src|href)=['\"](https?:)?//", page)  # nothing fetched from outside
    assert len(re.findall(r"src='data:image/png;base64,", page)) == 4  # risk chart included
    assert "Threats to life<b>[c]</b>" in page  # raw count 4 is not shown
    assert "SAFE markers placed<b>[c]</b>" in page
    for section in sections(p):  # every table of the dashboard is in the report
        assert section.title in page
        for row in section.rows:
            assert all(str(cell).replace("<", "&lt;").replace(">", "&gt;") in page for cell in row)
    assert "households in view of working CCTV" in page and "ANPR cordon" in page


def _months(counts: list[int | None]) -> dict[str, Any]:
    return {
        "monthly": [
            {"month": date(2026, m + 1, 1), "visits": c, "referrals": c}
            for m, c in enumerate(counts)
        ]
    }


def test_the_reports_monthly_chart_says_why_when_nothing_is_drawn() -> None:
    empty = monthly_figure(_months([None] * 12))  # every month withheld
    ax = empty.axes[0]
    assert [t.get_text() for t in ax.texts] == [NOTHING_TO_DRAW]
    assert list(ax.get_yticks()) == [] and not ax.patches
    some = monthly_figure(_months([None, 10, 15, None, 30] + [None] * 7))
    ticks = some.axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)  # no 0.05 steps
    assert [t.get_text() for t in some.axes[0].texts] == []
