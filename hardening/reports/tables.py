"""The report's tables as plain rows of text, built once from the published figures: the HTML
report and the KPI dashboard page both show these, so they cannot disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hardening.reports.publish import shown


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str | None = None


def change(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def _label(value: str) -> str:
    return value.replace("_", " ")


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f} points"


def _with_share(count: int | None, share: float | None) -> str:
    return shown(count) if share is None else f"{shown(count)} ({share}%)"


def referrals(p: dict[str, Any]) -> Section:
    return Section(
        "referrals",
        "Referrals by partner and service",
        ("Partner", "Service", "This year", "Previous year", "Change"),
        [
            (
                r["partner"],
                _label(r["service"]),
                shown(r["this"]),
                shown(r["previous"]),
                change(r["change_pct"]),
            )
            for r in p["referrals_by_partner_service"]
        ],
    )


def referral_totals(p: dict[str, Any]) -> Section:
    rows = [
        (
            f"Partner: {t['partner']}",
            shown(t["this"]),
            shown(t["previous"]),
            change(t["change_pct"]),
        )
        for t in p["referrals_by_partner"]
    ] + [
        (
            f"Service: {_label(t['service'])}",
            shown(t["this"]),
            shown(t["previous"]),
            change(t["change_pct"]),
        )
        for t in p["referrals_by_service"]
    ]
    total = p["referrals"]
    rows.append(
        (
            "All referrals",
            shown(total["this"]),
            shown(total["previous"]),
            change(total["change_pct"]),
        )
    )
    return Section(
        "referral_totals",
        "Referrals: totals",
        ("Totals", "This year", "Previous year", "Change"),
        rows,
        "Cells that could be worked out from these totals are suppressed as well.",
    )


def training(p: dict[str, Any]) -> Section:
    return Section(
        "training",
        "Awareness training delivered to partners",
        ("Partner type", "Sessions", "Attendees"),
        [
            (_label(r["partner_type"]), str(r["sessions"]), str(r["attendees"]))
            for r in p["training"]
        ],
    )


def works(p: dict[str, Any]) -> Section:
    return Section(
        "works",
        "Security works completed",
        ("Measure", "Completed", "Cost absorbed (£)"),
        [
            (r["measure"], shown(r["completed"]), shown(r["cost_pounds"], "-"))
            for r in p["works_by_measure"]
        ],
    )


def cost(p: dict[str, Any]) -> Section:
    return Section(
        "cost",
        "Cost absorbed by providers",
        ("Provider", "Works completed", "Cost absorbed (£)"),
        [
            (r["provider"], shown(r["completed"]), shown(r["cost_pounds"], "-"))
            for r in p["cost_by_provider"]
        ],
    )


def coverage(p: dict[str, Any]) -> Section:
    """Working sites at both ends of the year, households in view of CCTV, the ANPR cordon."""
    cov = p["coverage"]
    s0, s1 = cov["sites_start"], cov["sites_end"]
    rows: list[tuple[str, ...]] = [
        (
            f"Working {kind.upper()} cameras",
            str(s0[kind]),
            str(s1[kind]),
            f"{s1[kind] - s0[kind]:+d}",
        )
        for kind in ("cctv", "anpr")
    ]
    headers = ("", "1 January", "31 December", "Change")
    if cov["areas"] is None:
        return Section(
            "coverage",
            "CCTV and ANPR coverage",
            headers,
            rows,
            "Households in view need planner, analyst or admin access.",
        )
    parts = [("All areas", cov)]
    if len(cov["areas"]) > 1:
        names = cov.get("area_names") or {}
        parts += [(names.get(area, area), cov["areas"][area]) for area in sorted(cov["areas"])]
    for label, part in parts:
        c, a = part["cctv"], part["anpr"]
        if c:
            rows.append(
                (
                    f"{label}: households in view of working CCTV",
                    _with_share(c["covered_start"], c["share_start_pct"]),
                    _with_share(c["covered_end"], c["share_end_pct"]),
                    _points(c["change_points"]),
                )
            )
        if a:
            rows.append(
                (
                    f"{label}: ANPR cordon, entry routes past a camera (of {a['entry_routes']})",
                    f"{a['cordon_start_pct']}%",
                    f"{a['cordon_end_pct']}%",
                    _points(a["change_points"]),
                )
            )
    return Section(
        "coverage",
        "CCTV and ANPR coverage",
        headers,
        rows,
        "A site counts on a day when installed by then and not yet removed (unknown dates: "
        "present throughout); a camera faulty now counts as faulty on both days. Households "
        "are counted at entrance points, walls included.",
    )


def risk(p: dict[str, Any]) -> Section:
    r = p["risk_distribution"]
    headers = ("Band", "1 January", "31 December", "Change")
    if not r["available"]:
        return Section(
            "risk",
            "Risk distribution",
            headers,
            [],
            "The risk distribution is for analysts and admins.",
        )
    rows = [
        (
            _label(b["band"]),
            shown(b["start"]),
            shown(b["end"]),
            "" if b["change"] is None else f"{b['change']:+,}",
        )
        for b in r["bands"]
    ]
    return Section(
        "risk",
        "Risk distribution",
        headers,
        rows,
        f"Addresses per band, scored by model {r['model']} as of 1 January and as of 31 "
        "December, so the change is what happened in the year.",
    )


GROUPINGS = {"imd_decile": "IMD decile", "tenure": "Tenure", "area": "Area"}


def fairness(p: dict[str, Any]) -> Section:
    f = p["risk_fairness"]
    headers = (
        "Grouping", "Group", "Homes flagged", "Later reports", "Share of flagged",
        "Share of reports", "Ratio", "Flagged more than its share",
    )  # fmt: skip
    title = "Fairness of the risk ranking"
    if not f["available"]:
        return Section(
            "fairness", title, headers, [], "The fairness audit is for analysts and admins."
        )
    rows = [
        (
            GROUPINGS.get(g["grouping"], _label(g["grouping"])),
            r["group"],
            shown(r["flagged"]),
            shown(r["outcome_events"]),
            "" if r["share_of_flagged"] is None else f"{100 * r['share_of_flagged']:.1f}%",
            "" if r["share_of_outcomes"] is None else f"{100 * r['share_of_outcomes']:.1f}%",
            "" if r["flag_ratio"] is None else f"{r['flag_ratio']:.2f}",
            {True: "yes", False: "no", None: ""}[r["over_flagged"]],
        )
        for g in f["groupings"]
        for r in g["groups"]
    ]
    return Section(
        "fairness",
        title,
        headers,
        rows,
        f"The top {100 * f['share_flagged']:g}% of homes by model {f['model']} as of 1 January, "
        f"against {f['outcome']} during the year. A group is marked when its share of the "
        f"flagged homes is over {f['over_flagged_above']:g} times its share of the reports "
        "(or it has flagged homes and no report). Shares and ratios are left blank where a "
        "count is withheld.",
    )


def sections(p: dict[str, Any]) -> list[Section]:
    return [
        referrals(p),
        referral_totals(p),
        training(p),
        works(p),
        cost(p),
        coverage(p),
        risk(p),
        fairness(p),
    ]
