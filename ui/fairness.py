"""The Risk page's fairness audit: per grouping, the flagged homes' share against the share of
the year's reports, hit rate and calibration within each group (hardening.reports.risk_fairness,
the same figures the yearly report publishes, unsuppressed for analysts)."""

from __future__ import annotations

from typing import Any

import streamlit as st

GROUPINGS = {"imd_decile": "By IMD decile", "tenure": "By tenure", "area": "By area"}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per group in words (the table the page shows)."""
    return [
        {
            "group": g["group"],
            "homes": g["units"],
            "flagged": g["flagged"],
            "later reports": g["outcome_events"],
            "share of flagged": _percent(g["share_of_flagged"]),
            "share of reports": _percent(g["share_of_outcomes"]),
            "ratio": "" if g["flag_ratio"] is None else f"{g['flag_ratio']:.2f}",
            "flagged more than its share": "yes" if g["over_flagged"] else "no",
            "hit rate": _percent(g["hit_rate"]),
            "predicted / observed": (
                f"{_percent(g['mean_predicted'])} / {_percent(g['observed_rate'])}"
            ),
        }
        for g in table["groups"]
    ]


def fairness_view(audit: dict[str, Any], year: int, where: str) -> None:
    if not audit.get("available"):
        st.info(audit.get("note") or "No fairness audit for you here.")
        return
    st.caption(
        f"Top {100 * audit['share_flagged']:g}% of homes in {where} by model {audit['model']} "
        f"as of 1 January {year} ({audit['units_flagged']:,} homes), against {audit['outcome']} "
        f"during {year} ({audit['outcome_events']:,} reports). A group is flagged more than its "
        f"share when its share of the flagged homes is over {audit['over_flagged_above']:g} "
        "times its share of the reports. Hit rate: the group's reports at its flagged homes."
    )
    over = [g for t in audit["by"].values() for g in t["over_flagged"]]
    if not audit["outcome_events"]:
        st.info(f"No report during {year}: the flags cannot be compared with outcomes.")
    elif over:
        st.warning("Flagged more than their share of the reports: " + ", ".join(over))
    else:
        st.success("No group is flagged more than 1.25 times its share of the reports.")
    for name, table in audit["by"].items():
        st.markdown(f"**{GROUPINGS.get(name, name)}**")
        st.dataframe(rows(table), hide_index=True, width="stretch")
