"""The Risk page's explanation in words: the measures that would lower an address's risk as a
housing officer or a police officer reads them (names, pounds, what changes), not the
catalogue's codes, pence and log-odds (hardening.risk.explain)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ui.labels import pounds

FITTED_TO = {"dwelling": "This home", "block": "The block"}


def effect(measure: Mapping[str, Any]) -> str:
    """What the measure changes, when the viewer may see scores: points off the score, the
    score left, and how much lower the odds are ("" without scores)."""
    if "score_reduction" not in measure:
        return ""
    odds = 1 - math.exp(float(measure["logit_change"]))  # logit_change < 0: odds fall
    return (
        f"Lowers the score by {measure['score_reduction']:.1f} points, to "
        f"{measure['score_after']:.1f} (odds {100 * odds:.0f}% lower)"
    )


def measure_rows(measures: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per measure, best first, in words; police also see the cost and the effect."""
    rows = []
    for m in measures:
        row = {"Measure": str(m["name"]), "Fitted to": FITTED_TO.get(m["scope"], str(m["scope"]))}
        if "typical_cost_pence" in m:
            row["Typical cost"] = pounds(m["typical_cost_pence"] / 100)
        if "score_reduction" in m:
            row["Effect"] = effect(m)
        rows.append(row)
    return rows
