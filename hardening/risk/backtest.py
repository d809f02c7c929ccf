"""Rolling-origin backtest of the model against the classic baselines on held-out later months.

For each month of the test window (an origin), the model is fitted on a training window of the
given length ending before it (shifted one month per origin), the factors are computed from
that training window only, and every method ranks the units for the origin month:

- model: the fitted logistic model (fit.py);
- kde_<h>m: a quartic kernel density of the training window's outcome-kind events
  (bandwidth h; the best classic hotspot method by PAI);
- prior_count: the number of outcome-kind events at the unit in the training window;
- random: no information (every unit equal: PAI 1, AUC 0.5 exactly).

Baselines get probabilities (for the Brier score) from a one-factor logistic fit on the same
training split as the model, so no method sees the test month before it is scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.risk import fit, metrics
from hardening.risk.events import Selector
from hardening.risk.factors import Params
from hardening.risk.fit import Floats
from hardening.risk.model import save
from hardening.risk.scoring import check_area, tune
from hardening.risk.stability import stability
from hardening.risk.worktables import EventSpan, Units, UnitScope, build_events, build_units

KDE_BANDWIDTHS = (150.0, 200.0, 250.0)
LONG = 10**9  # a half-life that makes the decayed count a plain count


@dataclass(frozen=True)
class Spec:
    units: Units
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    outcome: Selector
    area_id: str | None = None
    l2: float = 1.0
    horizon_months: int = 1
    kde_bandwidths: Sequence[float] = KDE_BANDWIDTHS
    bootstrap: int = 0  # replicates of the PAI@5% intervals (stability.py); 0: none
    near_repeat: Params | None = None  # near_repeat factor parameters (e.g. a Knox window)


def baselines(
    days: int, outcome: Selector, bandwidths: Sequence[float]
) -> dict[str, tuple[str, Params]]:
    """Extra risk_fv columns: each baseline as another factor's SQL with its own parameters."""
    kinds = outcome.to_json()
    extra: dict[str, tuple[str, Params]] = {
        "prior_count": (
            "prior_here",
            {"events": kinds, "half_life_days": LONG, "window_days": days},
        )
    }
    for h in bandwidths:
        extra[f"kde_{h:g}m"] = (
            "drug_market",
            {"events": kinds, "radius_m": h, "window_days": days, "space": "quartic",
             "time": "flat", "log": False},
        )  # fmt: skip
    return extra


def _calibrate(score: Floats, y: Floats) -> tuple[float, float]:
    """Intercept and slope of a one-factor logistic fit (slope >= 0)."""
    f = fit.logistic(score[:, None], y, ["s"], [1], l2=1e-6)
    return f.intercept, f.coefficients["s"]


def _sigmoid(z: Floats) -> Floats:
    out: Floats = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
    return out


def run(conn: Connection, spec: Spec, chart: Path | None = None) -> dict[str, Any]:
    return evaluate(conn, spec, chart)[0]


def evaluate(
    conn: Connection, spec: Spec, chart: Path | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The backtest report, and per origin the units' ids, every method's scores and
    probabilities and the outcome counts (risk_u stays for the caller)."""
    check_area(conn, spec.area_id)
    train_start, train_end = fit.month_start(spec.train_start), fit.month_start(spec.train_end)
    test_start, test_end = fit.month_start(spec.test_start), fit.month_start(spec.test_end)
    if train_end < train_start or test_end < test_start:
        raise UserInputError("a window must end on or after its start month")
    if test_start <= train_end:
        raise UserInputError("the test window must start after the training window ends")
    tune(conn)
    n_units = build_units(conn, UnitScope(spec.units, spec.area_id))
    if n_units == 0:
        raise UserInputError(f"no {spec.units} to score in {spec.area_id or 'any area'}")
    postcodes = (
        conn.execute(text("SELECT sum(cardinality(postcodes)) FROM risk_u")).scalar_one()
        if spec.units == "postcodes"
        else None
    )
    model0 = fit.template(spec.units, spec.outcome, near_repeat=spec.near_repeat)
    origins = []
    month, shift = test_start, 0
    while month <= test_end:
        origins.append(
            _origin(conn, spec, model0, add(train_start, shift), add(train_end, shift), month)
        )
        month, shift = fit.add_months(month, 1), shift + 1
    methods = list(origins[0]["methods"])
    summary = {
        m: {k: _mean([o["methods"][m][k] for o in origins]) for k in origins[0]["methods"][m]}
        for m in methods
    }
    key = "pai@5%"
    best = max(
        (m for m in methods if m not in ("model", "random")), key=lambda m: summary[m][key] or 0
    )
    report: dict[str, Any] = {
        "units": spec.units,
        "area_id": spec.area_id,
        "n_units": n_units,
        "n_postcodes": postcodes,
        "outcome": spec.outcome.to_json(),
        "train": {"start": spec.train_start, "end": spec.train_end},
        "test": {"start": spec.test_start, "end": spec.test_end},
        "l2": spec.l2,
        "origins": [
            {k: v for k, v in o.items() if k != "curves" and not k.startswith("_")} for o in origins
        ],
        "summary": summary,
        "best_baseline_at_5%": {"method": best, "pai@5%": summary[best][key]},
        "model_beats_best_baseline_at_5%": (summary["model"][key] or 0) > (summary[best][key] or 0),
    }
    if spec.bootstrap > 0:
        report["stability"] = stability(
            [{"month": o["month"], "scores": o["_scores"], "outcome": o["_outcome"]}
             for o in origins],
            best,
            spec.bootstrap,
        )  # fmt: skip
    if chart is not None:
        from hardening.risk.chart import pai_chart

        curves = {m: list(np.mean([o["curves"][m] for o in origins], axis=0)) for m in methods}
        title = f"{', '.join(spec.outcome.crime_types + spec.outcome.categories)} - {spec.units}"
        report["chart"] = str(pai_chart(curves, chart, title))
    return report, origins


def add(moment: datetime, months: int) -> datetime:
    return fit.add_months(moment, months)


def _mean(values: list[Any]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return round(sum(kept) / len(kept), 4) if kept else None


def _origin(
    conn: Connection, spec: Spec, model0: Any, start: datetime, last: datetime, month: datetime
) -> dict[str, Any]:
    end = fit.add_months(last, 1)  # training window [start, end)
    days = (end - start).days + 1
    extra = baselines(days, spec.outcome, spec.kde_bandwidths)
    method, absent, ids, counts = fit.training_split(
        conn, model0, spec.units, start, end, spec.horizon_months, extra
    )
    y = np.array([1.0 if counts.get(int(u), 0) > 0 else 0.0 for u in ids])
    learned, fitted, _ = fit.fit_model(conn, model0, spec.units, absent, y, spec.l2)
    _, base_fit = fit.factor_matrix(conn, list(extra))
    calibration = {name: _calibrate(base_fit[:, i], y) for i, name in enumerate(extra)}
    # the test: factors from the whole training window as of the origin month
    fit.features(conn, model0, spec.units, EventSpan(end, start), month, extra)
    names = [n for n in learned.coefficients]
    ids_t, x = fit.factor_matrix(conn, names)
    _, base_x = fit.factor_matrix(conn, list(extra))
    build_events(conn, "risk_o", spec.units, EventSpan(fit.add_months(month, 1), month), 0.0)
    test_counts = fit.outcome_counts(conn, spec.outcome)
    outcome = np.array([float(test_counts.get(int(u), 0)) for u in ids_t])
    unplaced = fit.event_count(conn, "risk_o", spec.outcome, placed=False)
    train_events = fit.event_count(conn, "risk_e", spec.outcome, placed=True)
    logit = learned.intercept + x @ np.array([learned.coefficients[n] for n in names])
    scores: dict[str, tuple[Floats, Floats]] = {"model": (logit, _sigmoid(logit))}
    for i, name in enumerate(extra):
        a, b = calibration[name]
        scores[name] = (base_x[:, i], _sigmoid(a + b * base_x[:, i]))
    rate = float(y.mean())
    scores["random"] = (np.zeros(len(ids_t)), np.full(len(ids_t), rate))
    return {
        "month": f"{month:%Y-%m}",
        "train": {"start": f"{start:%Y-%m}", "end": f"{last:%Y-%m}"},
        "fit": {
            "split": method,
            "units_with_outcome": int(y.sum()),
            "intercept": learned.intercept,
            "coefficients": learned.coefficients,
            "absent_factors": sorted(absent),
            "converged": fitted.converged,
        },
        "train_events": train_events,
        "test_events": int(outcome.sum()),
        "test_events_at_no_unit": int(unplaced),
        "test_units_with_events": int((outcome > 0).sum()),
        "methods": {m: metrics.evaluate(s, p, outcome) for m, (s, p) in scores.items()},
        "curves": {m: metrics.curve(s, outcome) for m, (s, _) in scores.items()},
        "_ids": ids_t,
        "_scores": {m: s for m, (s, _) in scores.items()},
        "_probabilities": {m: p for m, (_, p) in scores.items()},
        "_outcome": outcome,
    }


def fit_and_store(
    conn: Connection,
    spec: Spec,
    validate: bool = True,
    make_default: bool = False,
) -> dict[str, Any]:
    """Fit on the training window and store the model as a new version; with validate, its
    metrics are the backtest of the same fit on the test window (with the baselines beside
    it), else the in-sample figures of the training split."""
    check_area(conn, spec.area_id)
    start, last = fit.month_start(spec.train_start), fit.month_start(spec.train_end)
    if last < start:
        raise UserInputError("the training window must end on or after its start month")
    tune(conn)
    n_units = build_units(conn, UnitScope(spec.units, spec.area_id))
    model0 = fit.template(spec.units, spec.outcome, near_repeat=spec.near_repeat)
    end = fit.add_months(last, 1)
    method, absent, ids, counts = fit.training_split(
        conn, model0, spec.units, start, end, spec.horizon_months
    )
    y = np.array([1.0 if counts.get(int(u), 0) > 0 else 0.0 for u in ids])
    learned, fitted, logits = fit.fit_model(conn, model0, spec.units, absent, y, spec.l2)
    figures: dict[str, Any] = {
        "fit": {
            "units": spec.units,
            "area_id": spec.area_id,
            "n_units": n_units,
            "train": {"start": spec.train_start, "end": spec.train_end},
            "split": method,
            "units_with_outcome": int(y.sum()),
            "l2": spec.l2,
            "converged": fitted.converged,
            "absent_factors": sorted(absent),
        }
    }
    if validate:
        report = run(conn, spec)
        figures["validation"] = {
            "test": report["test"],
            "model": report["summary"]["model"],
            "baselines": {k: v for k, v in report["summary"].items() if k != "model"},
            "best_baseline_at_5%": report["best_baseline_at_5%"],
        }
    else:
        figures["in_sample"] = metrics.evaluate(logits, _sigmoid(logits), y)
    outcome = ", ".join(spec.outcome.crime_types + spec.outcome.categories)
    learned = replace(
        learned,
        metrics=figures,
        rationale=f"Fitted by L2-penalised logistic regression (l2={spec.l2}) of '{outcome}' "
        f"outcomes on {spec.units} in {spec.train_start}..{spec.train_end} ({method}).",
    )
    save(conn, learned, make_default)
    return {
        "model_version": learned.version,
        "default": make_default,
        "intercept": learned.intercept,
        "coefficients": learned.coefficients,
        "bands": dict(zip(("medium", "high", "very_high"), learned.bands, strict=True)),
        "metrics": figures,
    }
