"""`hardening risk audit`: the backtest's forecasts (each month's model ranking and the later
outcomes) grouped by IMD decile, tenure (addresses) and area, for fairness.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from hardening.risk import backtest, fairness

TENURE = {
    "owner_occupied": "owner occupied",
    "private_rented": "private rented",
    "social_rented": "social rented",
    "supported": "supported housing",
    "unknown": "tenure unknown",
}


def imd_label(decile: int | None) -> str:
    if decile is None:
        return "IMD decile unknown"
    note = {1: " (most deprived)", 10: " (least deprived)"}.get(decile, "")
    return f"IMD decile {decile:02d}{note}"


def labels(conn: Connection, ids: Sequence[int], units: str) -> dict[str, list[str]]:
    """Group labels of the risk_u units with these ids, in that order."""
    rows = conn.execute(
        text(
            "SELECT u.unit_id, u.imd_decile, u.tenure, coalesce(a.name, 'no area') "
            "FROM risk_u u LEFT JOIN areas a ON a.area_id = u.area_id "
            "WHERE u.unit_id = ANY(CAST(:ids AS bigint[]))"
        ),
        {"ids": [int(i) for i in ids]},
    ).all()
    by_id = {int(r[0]): r for r in rows}
    out: dict[str, list[str]] = {"imd_decile": [], "area": []}
    if units == "addresses":
        out["tenure"] = []
    for i in ids:
        r = by_id[int(i)]
        out["imd_decile"].append(imd_label(None if r[1] is None else int(r[1])))
        out["area"].append(str(r[3]))
        if units == "addresses":
            out["tenure"].append(TENURE.get(str(r[2]), str(r[2])))
    return out


def run(conn: Connection, spec: backtest.Spec, share: float = fairness.SHARE) -> dict[str, Any]:
    """Backtest, then the fairness tables of the model's flagged top `share` per month."""
    report, origins = backtest.evaluate(conn, spec)
    months: list[dict[str, Any]] = []
    groupings: dict[str, list[str]] = {}
    for o in origins:
        months.append(
            {"score": o["_scores"]["model"], "probability": o["_probabilities"]["model"],
             "outcome": o["_outcome"]}
        )  # fmt: skip
        for name, values in labels(conn, list(np.asarray(o["_ids"])), spec.units).items():
            groupings.setdefault(name, []).extend(values)
    result = fairness.audit(months, groupings, share)
    return {
        "units": spec.units,
        "area_id": spec.area_id,
        "outcome": spec.outcome.to_json(),
        "train": report["train"],
        "test": report["test"],
        "months": [o["month"] for o in report["origins"]],
        "model_pai@5%": report["summary"]["model"]["pai@5%"],
        "tenure_note": None
        if spec.units == "addresses"
        else "postcode units have no tenure: the tenure table needs --units addresses",
        **result,
    }
