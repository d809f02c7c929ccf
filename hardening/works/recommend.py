"""Recommendations: for each of a provider's dwellings and blocks, the measures not yet in place
that would lower the risk score most (the risk engine's counterfactual, explain.measures).

A block-level measure (entry system, CCTV, lighting) is one job for the whole block: it is
listed once, against the block, with the reduction summed over the block's flats. A repair is
offered where a faulty one is installed, a fit where there is none; of alternatives for the same
factor (other than door measures, which add up) only the best is listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from hardening.models import Result
from hardening.risk.explain import DOOR_FACTOR, measures
from hardening.risk.model import load


@dataclass(frozen=True)
class ProviderHomes:
    """A provider's scored homes, highest risk first, with what is already on order and what
    is installed but faulty: where recommendations and packages start."""

    rows: list[tuple[int, int | None, float, str]]  # uprn, block uprn, score, band
    on_order: set[tuple[int, str]]  # (uprn, measure_code) of open work orders
    faulty: set[tuple[int, str]]  # (uprn, risk factor) of faulty installed measures


def provider_homes(conn: Connection, provider: str, model_version: str, n: int) -> ProviderHomes:
    rows = conn.execute(
        text(
            "SELECT a.uprn, coalesce(a.parent_uprn, CASE WHEN a.property_type = 'block' "
            "THEN a.uprn END) AS block, s.score, s.band FROM addresses a "
            "JOIN risk_scores s ON s.uprn = a.uprn AND s.model_version = :m "
            "WHERE a.provider_org_id = :p AND a.property_type <> 'block' "
            "ORDER BY s.score DESC, a.uprn LIMIT :n"
        ),
        {"p": provider, "m": model_version, "n": n},
    ).all()
    on_order = conn.execute(
        text(
            "SELECT uprn, measure_code FROM work_orders WHERE provider_org_id = :p "
            "AND status NOT IN ('completed', 'cancelled')"
        ),
        {"p": provider},
    ).all()
    faulty = conn.execute(
        text(
            "SELECT m.uprn, c.risk_factor FROM installed_measures m JOIN measures_catalogue c "
            "USING (measure_code) WHERE m.status = 'faulty' AND m.provider_org_id = :p"
        ),
        {"p": provider},
    ).all()
    return ProviderHomes(
        [(int(u), None if b is None else int(b), float(s), str(band)) for u, b, s, band in rows],
        {(int(u), str(m)) for u, m in on_order},
        {(int(u), str(f)) for u, f in faulty},
    )


@dataclass(frozen=True)
class Recommendation(Result):
    """A measure for one home, or for a whole block (explain.measures' fields, then where)."""

    measure_code: str
    name: str
    risk_factor: str
    scope: str  # dwelling or block
    typical_cost_pence: int
    logit_change: float
    score_after: float
    score_reduction: float  # score points; for a block, summed over its flats
    uprn: int


@dataclass(frozen=True)
class HomeRecommendation(Recommendation):
    band: str
    score: float
    reduction_per_100_pounds: float


@dataclass(frozen=True)
class BlockRecommendation(Recommendation):
    flats: int  # the block's flats it would protect
    band: str
    reduction_per_100_pounds: float


def logit_of(score: float) -> float:
    """The logit of a 0-100 score (clamped away from 0 and 100)."""
    return math.log(max(score, 1e-9) / max(100 - score, 1e-9))


def recommend(
    conn: Connection, provider: str, limit: int = 50, per_address: int = 3
) -> list[Recommendation]:
    """Best measures first (reduction per address or summed over a block's flats)."""
    model = load(conn, None, store=False)
    homes = provider_homes(conn, provider, model.version, max(limit * 4, 50))
    open_orders, faulty = homes.on_order, homes.faulty
    per_block: dict[tuple[int, str], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for uprn, block, score, band in homes.rows:
        logit = logit_of(score)
        factors_done: set[str] = set()
        for m in measures(conn, model, int(uprn), logit, None):
            target = int(block) if m["scope"] == "block" and block is not None else int(uprn)
            if (target, m["measure_code"]) in open_orders:
                continue  # already on order
            broken = (target, m["risk_factor"]) in faulty
            if m["measure_code"].endswith("_repair") != broken and m["scope"] == "block":
                continue  # repair what is there and faulty, fit where there is nothing
            if m["risk_factor"] in factors_done and m["risk_factor"] != DOOR_FACTOR:
                continue  # alternatives (repair or fit an entry system): the cheapest is shown
            factors_done.add(m["risk_factor"])
            if target != uprn:
                key = (target, m["measure_code"])
                item = per_block.setdefault(
                    key, m | {"uprn": target, "scope": "block", "score_reduction": 0.0,
                              "flats": 0, "band": band},
                )  # fmt: skip
                item["score_reduction"] = round(item["score_reduction"] + m["score_reduction"], 4)
                item["flats"] += 1
                continue
            if sum(1 for o in out if o["uprn"] == uprn) < per_address:
                out.append(m | {"uprn": int(uprn), "band": band, "score": round(score, 4)})
    out.extend(per_block.values())
    for item in out:
        cost = max(1, int(item["typical_cost_pence"]))
        item["reduction_per_100_pounds"] = round(item["score_reduction"] * 10_000 / cost, 4)
    out.sort(key=lambda m: (-m["score_reduction"], m["typical_cost_pence"], m["uprn"]))
    return [(BlockRecommendation if "flats" in m else HomeRecommendation)(**m) for m in out[:limit]]
