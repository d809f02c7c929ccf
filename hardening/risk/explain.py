"""Explanations: each factor's contribution to an address's logit, the top three in plain
English, and the catalogue measures that would lower the score most (the score recomputed with
the measure installed: the model is additive in the logit, so the counterfactual is exact).

Minimised by what the actor may see, as row-level security decides: the score row (band) for
whoever sees the address with `risk_band`; the score and its contributions only for police roles
with `risk_factors` (risk_explanations). The score comes from intelligence, visits and incidents
at the address, so those roles must give a reason for any look-up (none is a UserInputError,
400) and each writes one audit consultation row. Housing sees band and the recommended measures,
without numbers, and needs no reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError
from hardening.risk import factors as fx
from hardening.risk.model import Model, load, sigmoid
from hardening.security import access, audit

DOOR_FACTOR = "protection_door"


def _count(value: float) -> float:
    return math.expm1(value)


def _kinds(p: Mapping[str, Any]) -> str:
    """'Cuckooing or exploitation' from a factor's event selector."""
    events = p.get("events", {})
    names = [*events.get("categories", []), *events.get("crime_types", [])]
    said = " or ".join(n.replace("_", " ") for n in names) or "a related incident"
    return said[0].upper() + said[1:]


def phrase(name: str, value: float, p: Mapping[str, Any]) -> str:
    """One sentence saying what a factor's value means for this address."""
    if name in ("prior_here", "prior_block"):
        where = "at this address" if name == "prior_here" else "elsewhere in the same block"
        return (
            f"{_kinds(p)} has been reported {where} "
            f"(about {_count(value):.1f} recent reports, older ones counting less)."
        )
    if name == "incidents_here":
        return (
            f"About {_count(value):.1f} other police incidents were recorded at this address "
            "recently (older ones counting less)."
        )
    if name == "near_repeat":
        return (
            f"Related incidents (drugs, weapons, exploitation) happened within "
            f"{p.get('radius_m', 400):.0f} m in the last {p.get('window_days', 60)} days."
        )
    if name == "drug_market":
        return (
            f"It lies in an active drug market: drug incidents and intelligence within "
            f"{p.get('radius_m', 200):.0f} m over the last {p.get('window_days', 365)} days."
        )
    if name == "transport":
        metres = float(p.get("radius_m", 1000)) * (1 - value)
        return f"It is about {metres:.0f} m from a railway or bus station."
    if name == "deprivation":
        decile = round(5.5 - 4.5 * value)
        return f"Its neighbourhood is in IMD decile {decile} (1 = most deprived tenth)."
    if name == DOOR_FACTOR:
        n = round(math.log(max(1e-9, 1 - value)) / math.log(0.5))
        return f"Door security is fitted ({n} measure{'s' if n != 1 else ''}), lowering the score."
    fixed = {
        "vulnerability": "A vulnerable occupant was recorded on a visit (no detail shown).",
        "social_housing": "It is social or supported housing, where most cuckooing is found.",
        "flat_in_block": "It is a flat in a block, with shared entrances.",
        "hmo": "It is a house in multiple occupation.",
        "protection_entry": "A working communal entry system lowers the score.",
        "protection_cctv": "Working CCTV covers the entrance, lowering the score.",
        "protection_lighting": "Entrance lighting lowers the score.",
        "protection_notice": "A warning notice is in force, lowering the score.",
    }
    return fixed.get(name, f"{name}: {value:.3g}")


def top_reasons(
    contributions: Mapping[str, float], values: Mapping[str, float], model: Model
) -> list[str]:
    """The three largest reasons: what raises the score first, then what lowers it."""
    params = model.params("addresses")
    known = {n: c for n, c in contributions.items() if n in fx.BY_NAME}
    raising = sorted(((c, n) for n, c in known.items() if c > 0), reverse=True)
    lowering = sorted((c, n) for n, c in known.items() if c < 0)
    chosen = [n for _, n in raising[:3]] + [n for _, n in lowering[: max(0, 3 - len(raising))]]
    return [phrase(n, values.get(n, 0.0), params.get(n, fx.BY_NAME[n].defaults)) for n in chosen]


def _address(conn: Connection, uprn: int) -> tuple[str, int | None] | None:
    row = conn.execute(
        text(
            "SELECT property_type, coalesce(parent_uprn, CASE WHEN property_type = 'block' "
            "THEN uprn END) FROM addresses WHERE uprn = :u"
        ),
        {"u": uprn},
    ).first()
    return None if row is None else (str(row[0]), row[1])


Catalogue = Sequence[Sequence[Any]]  # code, name, factor, scope, cost (pence)


def measure_changes(
    model: Model,
    catalogue: Catalogue,
    installed: Iterable[Sequence[Any]],
    is_flat: bool,
    values: Mapping[str, float] | None = None,
) -> list[tuple[str, str, str, str, int, float]]:
    """The counterfactual, with no database: each catalogue measure not yet working here that
    would lower the logit, with its logit change. `installed` holds (code, factor) of the
    working measures at the dwelling and its block; `values` the factor values when known."""
    have = {code for code, _ in installed}
    factors_here = {factor for _, factor in installed}
    doors = sum(1 for _, factor in installed if factor == DOOR_FACTOR)
    out = []
    for code, name, factor, scope, cost in catalogue:
        b = model.coefficient(factor)
        if factor not in fx.BY_NAME or b == 0 or code in have:
            continue
        if factor == "protection_entry" and not is_flat:
            continue  # a communal entry protects flats in a block only
        if values is not None:
            current = values.get(factor, 0.0)
        elif factor == DOOR_FACTOR:
            current = 1 - 0.5**doors
        else:
            current = 1.0 if factor in factors_here else 0.0
        if factor == DOOR_FACTOR:
            n = round(math.log(max(1e-9, 1 - current)) / math.log(0.5))
            after = 1 - 0.5 ** (n + 1)
        else:
            after = 1.0
        delta = b * (after - current)
        if delta < 0:
            out.append((code, name, factor, scope, int(cost), delta))
    return out


def measures(
    conn: Connection, model: Model, uprn: int, logit: float, values: Mapping[str, float] | None
) -> list[dict[str, Any]]:
    """Catalogue measures not yet working at the address (or its block) that would lower the
    score, best first: each with the score it would leave and the reduction."""
    address = _address(conn, uprn)
    is_flat = address is not None and (address[0] == "flat" or address[1] is not None)
    block = address[1] if address else None
    installed = conn.execute(
        text(
            "SELECT m.measure_code, c.risk_factor FROM installed_measures m "
            "JOIN measures_catalogue c USING (measure_code) WHERE m.status = 'working' "
            "AND (m.uprn = :u OR m.uprn = :b)"
        ),
        {"u": uprn, "b": block},
    ).all()
    catalogue = conn.execute(
        text(
            "SELECT measure_code, name, risk_factor, scope, typical_cost_pence "
            "FROM measures_catalogue ORDER BY measure_code"
        )
    ).all()
    out = []
    for code, name, factor, scope, cost, delta in measure_changes(
        model, catalogue, installed, is_flat, values
    ):
        before, later = 100 * sigmoid(logit), 100 * sigmoid(logit + delta)
        out.append(
            {
                "measure_code": code,
                "name": name,
                "risk_factor": factor,
                "scope": scope,
                "typical_cost_pence": cost,
                "logit_change": round(delta, 6),
                "score_after": round(later, 4),
                "score_reduction": round(before - later, 4),
            }
        )
    out.sort(key=lambda m: (m["logit_change"], m["typical_cost_pence"], m["measure_code"]))
    return out


def explain(
    conn: Connection,
    uprn: int,
    reason: str | None = None,
    model_version: str | None = None,
    top_measures: int = 3,
) -> dict[str, Any]:
    """What the actor may know about an address's risk (see the module docstring)."""
    # Police roles with risk_factors see the score itself: ask why before anything is read.
    why = audit.reason_for(conn, reason) if access.may(conn, "app_reads_risk_factors") else None
    model = load(conn, model_version, store=False)
    score_row = conn.execute(
        text(
            "SELECT score, band, computed_at FROM risk_scores WHERE uprn = :u "
            "AND model_version = :m"
        ),
        {"u": uprn, "m": model.version},
    ).first()
    if score_row is None:
        raise NotFoundError(f"no {model.version} risk score for UPRN {uprn} that you may see")
    score, band, computed_at = float(score_row[0]), str(score_row[1]), score_row[2]
    logit = math.log(max(score, 1e-12) / max(100 - score, 1e-12))
    detail = conn.execute(
        text("SELECT contributions FROM risk_explanations WHERE uprn = :u AND model_version = :m"),
        {"u": uprn, "m": model.version},
    ).first()
    base: dict[str, Any] = {
        "uprn": uprn,
        "model_version": model.version,
        "band": band,
        "computed_at": computed_at,
    }
    if why is not None:
        audit.record(
            conn, "consultation", "risk_explanation", uprn, justification=why,
            details={"model_version": model.version, "factors": detail is not None},
        )  # fmt: skip
    if detail is None:  # band only (housing): measures by name, in order, no numbers
        shown = measures(conn, model, uprn, logit, None)[:top_measures]
        return base | {
            "detail": "band",
            "recommended_measures": [
                {k: m[k] for k in ("measure_code", "name", "scope")} for m in shown
            ],
        }
    contributions = {str(k): float(v) for k, v in dict(detail[0]).items()}
    values = {n: c / model.coefficient(n) for n, c in contributions.items() if model.coefficient(n)}
    run = conn.execute(
        text(
            "SELECT as_of, absent_factors FROM risk_runs WHERE model_version = :m "
            "AND units = 'addresses' AND computed_at = :at ORDER BY run_id DESC LIMIT 1"
        ),
        {"m": model.version, "at": computed_at},
    ).first()
    total = model.intercept + sum(contributions.values())
    return base | {
        "score": round(score, 4),
        "detail": "factors",
        "as_of": run[0] if run else None,
        "intercept": model.intercept,
        "logit": round(total, 6),
        "contributions": [
            {
                "factor": n,
                "label": fx.BY_NAME[n].label if n in fx.BY_NAME else n,
                "value": round(values.get(n, 0.0), 6),
                "coefficient": model.coefficient(n),
                "contribution": c,
            }
            for n, c in sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
        ],
        "top_reasons": top_reasons(contributions, values, model),
        "absent_factors": list(run[1]) if run else [],
        "recommended_measures": measures(conn, model, uprn, total, values)[:top_measures],
    }
