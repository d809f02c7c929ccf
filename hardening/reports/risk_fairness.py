"""Fairness of the deployed risk ranking over the report's year: the addresses the default
model flagged (its top 5%, scored as of 1 January) by IMD decile, tenure and area, against
each group's share of the cuckooing and exploitation reports of the year (the model's own
outcome), with fairlearn's MetricFrame (risk/fairness.py). A group flagged at more than 1.25x
its share of the outcomes is marked.

Scoring writes nothing (work tables in a savepoint, rolled back). Scores come from all the
data, so only the system, analysts and admins get this section (as risk_change.py).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection

from hardening.risk import fairness, fit, groups
from hardening.risk.events import Selector
from hardening.risk.model import load
from hardening.risk.scoring import prepare
from hardening.risk.worktables import EventSpan, UnitScope, build_events
from hardening.security import access

LONDON = ZoneInfo("Europe/London")
GROUPINGS = {"imd_decile": "IMD decile", "tenure": "Tenure", "area": "Area"}


def risk_fairness(conn: Connection, year: int, area: str | None) -> dict[str, Any]:
    """Raw figures of each grouping: units, flagged, outcome events, shares, ratios."""
    if not access.may(conn, "app_writes_scores"):
        return {"available": False}
    model = load(conn, None, store=False)
    start = datetime.combine(date(year, 1, 1), time(0), LONDON)
    end = datetime.combine(date(year + 1, 1, 1), time(0), LONDON)
    savepoint = conn.begin_nested()
    try:
        n, absent, params = prepare(conn, model, UnitScope("addresses", area), start)
        if n == 0:
            return {"available": False, "note": "no addresses scored in the area"}
        used = [name for name in params if name not in absent]
        ids, x = fit.factor_matrix(conn, used)
        logit = model.intercept + x @ np.array([model.coefficient(u) for u in used])
        build_events(conn, "risk_o", "addresses", EventSpan(end=end, start=start), 0.0)
        counts = fit.outcome_counts(conn, Selector.parse(model.outcome["events"]))
        labels = groups.labels(conn, [int(i) for i in ids], "addresses")
    finally:
        savepoint.rollback()
    if area is not None:
        labels.pop("area")
    outcome = np.array([float(counts.get(int(u), 0)) for u in ids])
    probability = 1 / (1 + np.exp(-np.clip(logit, -30, 30)))
    result = fairness.audit(
        [{"score": logit, "probability": probability, "outcome": outcome}], labels
    )
    return {
        "available": True,
        "model": model.version,
        "outcome": model.outcome.get("meaning", "the model's outcome"),
        **result,
    }
