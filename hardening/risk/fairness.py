"""Fairness of the ranking by group: does the flagged top k% fall on a group (IMD decile,
tenure, area) more than that group's share of the later outcomes warrants?

For each group, with fairlearn's MetricFrame over the units of every backtest month (each
month's own flag): units, flagged units, later outcome events, the group's share of all
flagged units against its share of all outcome events (`flag_ratio`; a group flagged at more
than 1.25x its share of outcomes is listed in `over_flagged`), the hit rate within the group
(share of its outcome events that fell in its flagged units), and calibration within the group
(mean predicted probability against the observed share of units with an outcome).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
OVER = 1.25
SHARE = 0.05


def flagged_top(score: Floats, share: float) -> npt.NDArray[np.bool_]:
    """The top `share` of units by score (ties broken by order, stable)."""
    k = round(share * len(score))
    flags = np.zeros(len(score), dtype=bool)
    flags[np.argsort(-score, kind="stable")[:k]] = True
    return flags


def _events(y_true: Any, y_pred: Any, events: Any) -> float:
    return float(np.sum(events))


def _flagged(y_true: Any, y_pred: Any) -> float:
    return float(np.sum(y_pred))


def _hit_rate(y_true: Any, y_pred: Any, events: Any) -> float:
    total = float(np.sum(events))
    return float(np.sum(np.asarray(events) * np.asarray(y_pred))) / total if total else np.nan


def _predicted(y_true: Any, y_pred: Any, probability: Any) -> float:
    return float(np.mean(probability))


def _observed(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(y_true))


def table(
    groups: Sequence[str],
    flagged: npt.NDArray[np.bool_],
    events: Floats,
    probability: Floats,
    over: float = OVER,
) -> dict[str, Any]:
    """The figures of one grouping (one label per unit)."""
    # imported here: fairlearn brings scikit-learn, seconds of start-up every CLI command and
    # the API would pay for nothing
    import pandas as pd
    from fairlearn.metrics import MetricFrame, selection_rate

    frame = MetricFrame(
        metrics={
            "units": lambda t, p: float(len(t)),
            "flagged": _flagged,
            "outcome_events": _events,
            "selection_rate": selection_rate,
            "hit_rate": _hit_rate,
            "mean_predicted": _predicted,
            "observed_rate": _observed,
        },
        y_true=(np.asarray(events) > 0).astype(int),
        y_pred=np.asarray(flagged).astype(int),
        sensitive_features=pd.Series(list(groups), name="group"),
        sample_params={
            "outcome_events": {"events": np.asarray(events)},
            "hit_rate": {"events": np.asarray(events)},
            "mean_predicted": {"probability": np.asarray(probability)},
        },
    )
    by = frame.by_group
    total_flagged, total_events = float(flagged.sum()), float(np.sum(events))
    rows = []
    for name, r in by.iterrows():
        share_flagged = r["flagged"] / total_flagged if total_flagged else 0.0
        share_events = r["outcome_events"] / total_events if total_events else 0.0
        ratio = share_flagged / share_events if share_events else None
        rows.append(
            {
                "group": str(name),
                "units": int(r["units"]),
                "flagged": int(r["flagged"]),
                "outcome_events": int(r["outcome_events"]),
                "share_of_flagged": round(share_flagged, 4),
                "share_of_outcomes": round(share_events, 4),
                "flag_ratio": None if ratio is None else round(ratio, 3),
                # with no outcome at all there is nothing to compare the flags with
                "over_flagged": bool(
                    total_events > 0 and share_flagged > 0 and (ratio is None or ratio > over)
                ),
                "selection_rate": round(float(r["selection_rate"]), 4),
                "hit_rate": _round(r["hit_rate"]),
                "mean_predicted": _round(r["mean_predicted"], 5),
                "observed_rate": _round(r["observed_rate"], 5),
                "calibration_ratio": _round(
                    r["observed_rate"] / r["mean_predicted"] if r["mean_predicted"] else np.nan
                ),
            }
        )
    return {"groups": rows, "over_flagged": [r["group"] for r in rows if r["over_flagged"]]}


def _round(value: Any, places: int = 4) -> float | None:
    v = float(value)
    return None if not np.isfinite(v) else round(v, places)


def audit(
    months: Sequence[Mapping[str, Any]],
    groupings: Mapping[str, Sequence[str]],
    share: float = SHARE,
    over: float = OVER,
) -> dict[str, Any]:
    """Fairness tables for each grouping, over all months' units (each flagged in its month).
    months: {"score", "probability", "outcome"} per month, in unit order; groupings: one label
    per unit of every month, concatenated in the same order."""
    flags = np.concatenate([flagged_top(np.asarray(m["score"]), share) for m in months])
    events = np.concatenate([np.asarray(m["outcome"], dtype=np.float64) for m in months])
    probability = np.concatenate([np.asarray(m["probability"]) for m in months])
    return {
        "share_flagged": share,
        "over_flagged_above": over,
        "note": None
        if events.sum() > 0
        else "no later outcome event: the flags cannot be compared with outcomes",
        "units_flagged": int(flags.sum()),
        "outcome_events": int(events.sum()),
        "by": {
            name: table(labels, flags, events, probability, over)
            for name, labels in groupings.items()
        },
    }
