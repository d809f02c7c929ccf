"""Learning coefficients from later outcomes: regularised logistic regression on a time split.

The training window's events give the factors as of a cut; the outcome is whether a unit has
an event of the outcome kind after the cut. With a window longer than the horizon, the cut is
`horizon` months before the window's end (features before it, outcomes after). With a window
of one horizon only (police.uk gives months, not days), the window's events are split in two
halves by a hash of their id: one half (each event counting twice) gives the factors, the other
the outcomes, which keeps factors and outcomes from sharing events.

Coefficients are L2-penalised on standardised factors and held to their factor's sign (a
protective measure may not come out as raising risk), so a fitted model still explains itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.risk import factors as fx
from hardening.risk.events import Selector
from hardening.risk.model import DEFAULT_MODEL, Model
from hardening.risk.scoring import absent_factors
from hardening.risk.worktables import EventSpan, Units, build_events

Floats = npt.NDArray[np.float64]
MIN_SD = 1e-9


@dataclass(frozen=True)
class Fitted:
    intercept: float
    coefficients: dict[str, float]
    iterations: int
    converged: bool


def logistic(
    x: Floats, y: Floats, names: Sequence[str], signs: Sequence[int], l2: float = 1.0
) -> Fitted:
    """Penalised maximum likelihood; a factor with no spread gets coefficient 0."""
    if x.shape[0] == 0 or not 0 < y.mean() < 1:
        raise UserInputError(
            "cannot fit: the outcome must occur at some units and not at others "
            f"({int(y.sum())} of {len(y)} units have it)"
        )
    mu, sd = x.mean(axis=0), x.std(axis=0)
    live = sd > MIN_SD
    z = (x[:, live] - mu[live]) / sd[live]
    bounds = [(None, None)] + [
        (0, None) if s > 0 else (None, 0) for s, ok in zip(signs, live, strict=True) if ok
    ]

    def loss(beta: Floats) -> tuple[float, Floats]:
        eta = beta[0] + z @ beta[1:]
        p = 1 / (1 + np.exp(-eta))
        value = np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * l2 * np.sum(beta[1:] ** 2)
        grad = np.concatenate([[np.sum(p - y)], z.T @ (p - y) + l2 * beta[1:]])
        return float(value), grad

    start = np.zeros(1 + int(live.sum()))
    start[0] = np.log(y.mean() / (1 - y.mean()))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    beta = result.x
    coefficients = dict.fromkeys(names, 0.0)
    intercept = float(beta[0])
    for (name, m, s), b in zip(
        [(n, m, s) for n, m, s, ok in zip(names, mu, sd, live, strict=True) if ok],
        beta[1:],
        strict=True,
    ):
        coefficients[name] = round(float(b / s), 6)
        intercept -= float(b * m / s)
    return Fitted(round(intercept, 6), coefficients, int(result.nit), bool(result.success))


def template(
    units: Units,
    outcome: Selector,
    base: Model = DEFAULT_MODEL,
    near_repeat: Mapping[str, Any] | None = None,
) -> Model:
    """Factor parameters for a model of this outcome: prior and near-repeat count the
    outcome's own kind of event; every applicable factor is in (coefficient placeholders).
    near_repeat: its radius and window (e.g. the area's Knox window, nearrepeat.py)."""
    kinds = outcome.to_json()
    overrides: dict[str, dict[str, Any]] = {
        "prior_here": {"events": kinds},
        "prior_block": {"events": kinds},
        "near_repeat": {**(near_repeat or {}), "events": kinds},
    }
    drugs = {**fx.BY_NAME["drug_market"].defaults["events"], "crime_types": ["Drugs"]}
    overrides["drug_market"] = {"events": drugs}
    return Model(
        version="template",
        intercept=0.0,
        coefficients={f.name: float(f.sign) for f in fx.FACTORS if f.applies_to(units)},
        bands=base.bands,
        factors=overrides,
        outcome={"events": kinds},
        units=units,
    )


def month_start(value: str | date) -> datetime:
    """'2018-10' -> 2018-10-01T00:00Z."""
    if isinstance(value, date):
        return datetime(value.year, value.month, 1, tzinfo=UTC)
    try:
        year, month = (int(part) for part in value.split("-"))
        return datetime(year, month, 1, tzinfo=UTC)
    except ValueError as exc:
        raise UserInputError(f"{value!r} is not a month (YYYY-MM)") from exc


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def outcome_counts(conn: Connection, outcome: Selector) -> dict[int, int]:
    """Outcome events per unit in risk_o (events at no unit are not counted)."""
    predicate, binds = outcome.sql("o", alias="e")
    rows = conn.execute(
        text(
            f"SELECT e.unit_id, count(*) FROM risk_o e JOIN risk_u u ON u.unit_id = e.unit_id "
            f"WHERE {predicate} GROUP BY e.unit_id"
        ),
        binds,
    )
    return {int(u): int(n) for u, n in rows}


def event_count(conn: Connection, table: str, selector: Selector, placed: bool) -> int:
    """Selected events of risk_e / risk_o at a unit (placed) or at none."""
    predicate, binds = selector.sql("c")
    at = "IS NOT NULL" if placed else "IS NULL"
    return int(
        conn.execute(
            text(f"SELECT count(*) FROM {table} e WHERE e.unit_id {at} AND {predicate}"), binds
        ).scalar_one()
    )


def factor_matrix(conn: Connection, columns: Sequence[str]) -> tuple[npt.NDArray[np.int64], Floats]:
    """Unit ids and the named risk_fv columns, in unit order."""
    # one row of arrays: far cheaper to move and convert than a row per unit
    aggregates = ", ".join(f"array_agg({c} ORDER BY unit_id)" for c in ("unit_id", *columns))
    row = conn.execute(text(f"SELECT {aggregates} FROM risk_fv")).one()
    ids = np.array(row[0] or [], dtype=np.int64)
    data = np.array([row[1 + i] or [] for i in range(len(columns))], dtype=np.float64)
    return ids, data.T.reshape(len(ids), len(columns))


def features(
    conn: Connection,
    model: Model,
    units: Units,
    span: EventSpan,
    as_of: datetime,
    extra: Mapping[str, tuple[str, fx.Params]] | None = None,
) -> dict[str, str]:
    """risk_e from span and risk_fv as of as_of (needs risk_u); returns absent factors."""
    params = model.params(units)
    build_events(conn, "risk_e", units, span, fx.reach_m(params))
    absent = absent_factors(conn, model, units, params, as_of)
    fx.compute(conn, params, as_of, skip=list(absent), extra=extra)
    return absent


def training_split(
    conn: Connection,
    model: Model,
    units: Units,
    start: datetime,
    end: datetime,
    horizon_months: int,
    extra: Mapping[str, tuple[str, fx.Params]] | None = None,
) -> tuple[str, dict[str, str], npt.NDArray[np.int64], dict[int, int]]:
    """Factors (risk_fv) and outcomes for fitting on [start, end): returns the split used,
    absent factors, unit ids and outcome counts per unit."""
    cut = add_months(end, -horizon_months)
    if cut > start:
        method = f"temporal: factors before {cut:%Y-%m}, outcomes from it"
        absent = features(conn, model, units, EventSpan(cut, start), cut, extra)
        build_events(conn, "risk_o", units, EventSpan(end, cut), 0.0)
    else:
        method = "thinning: half the window's events (x2) give factors, the other half outcomes"
        absent = features(conn, model, units, EventSpan(end, start, half=0, weight=2.0), end, extra)
        build_events(conn, "risk_o", units, EventSpan(end, start, half=1), 0.0)
    ids, _ = factor_matrix(conn, [])
    return method, absent, ids, outcome_counts(conn, Selector.parse(model.outcome["events"]))


def fit_model(
    conn: Connection, model: Model, units: Units, absent: Mapping[str, str], y: Floats, l2: float
) -> tuple[Model, Fitted, Floats]:
    """Coefficients for the factors present in risk_fv; returns the model, the fit and the
    fitted logits of the training units."""
    names = [n for n in model.params(units) if n not in absent]
    _, x = factor_matrix(conn, names)
    fitted = logistic(x, y, names, [fx.BY_NAME[n].sign for n in names], l2)
    logits = fitted.intercept + x @ np.array([fitted.coefficients[n] for n in names])
    scores = 100 / (1 + np.exp(-np.clip(logits, -30, 30)))
    bands = tuple(float(round(np.quantile(scores, q), 6)) for q in (0.80, 0.95, 0.99))
    params = {**model.to_params(), "coefficients": fitted.coefficients}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:6]
    version = f"fit-{units}-{datetime.now(UTC):%Y%m%d%H%M%S}-{digest}"
    learned = Model(
        version=version,
        intercept=fitted.intercept,
        coefficients={n: c for n, c in fitted.coefficients.items() if c != 0.0},
        bands=(bands[0], bands[1], bands[2]),
        factors=model.factors,
        outcome=model.outcome,
        units=units,
    )
    return learned, fitted, logits
