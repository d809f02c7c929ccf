"""Packages of measures: for each of a provider's homes (and each block), the set of measures
that lowers the risk most within a cost cap, with the combined effect, not the sum.

Measures combine multiplicatively, as the risk model combines them (`risk.explain.measures`):
the model is additive in the logit, and the door factor is 1 - 0.5^n for n door measures, so
each further door measure (spy hole, chain, letterbox guard, new door) halves what is left of
the unprotected share. One door measure alone moves the logit by d; k of them together by
d x 2 x (1 - 0.5^k) (1.5 d for two, not 2 d). Two measures for the same other factor (repair or
fit an entry system) do not add: the better one counts. The score is a sigmoid of the logit, so
the points of unrelated measures do not simply add either.

Costs are the catalogue's typical costs (measures_catalogue.typical_cost_pence, documented in
docs/works.md) unless the caller gives its own unit costs. A block measure is one job for the
whole block, its effect summed over the block's flats among the provider's scored homes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.models import Result
from hardening.risk.explain import DOOR_FACTOR, measures
from hardening.risk.model import load, sigmoid
from hardening.works.recommend import logit_of, provider_homes

DEFAULT_CAP_PENCE: Final = 10_000  # £100 a home or block unless the caller says otherwise
MAX_CAP_PENCE: Final = 100_000_000  # £1m: a cap above this is a typing slip


@dataclass(frozen=True)
class Option:
    """One measure that could be fitted: its own logit change and its cost."""

    code: str
    name: str
    factor: str
    scope: str
    logit_change: float
    cost_pence: int


def combined_logit(options: Iterable[Option]) -> float:
    """The logit change of fitting these measures together (see the module docstring)."""
    doors = [o.logit_change for o in options if o.factor == DOOR_FACTOR]
    others: dict[str, float] = {}
    for o in options:
        if o.factor != DOOR_FACTOR:
            others[o.factor] = min(others.get(o.factor, 0.0), o.logit_change)
    door = doors[0] * 2 * (1 - 0.5 ** len(doors)) if doors else 0.0
    return door + sum(others.values())


def reduction(logit: float, change: float) -> float:
    """Points off the 0-100 score when the logit moves by `change`."""
    return 100 * (sigmoid(logit) - sigmoid(logit + change))


def best_package(
    logits: list[float], options: list[Option], cap_pence: int
) -> tuple[tuple[Option, ...], float]:
    """The subset of options within the cap that lowers the summed score of the homes with
    these logits most (ties: the cheaper, then the fewer measures); () when none fits."""
    best: tuple[Option, ...] = ()
    best_key = (0.0, 0, 0)
    for size in range(1, len(options) + 1):
        for combo in itertools.combinations(options, size):
            cost = sum(o.cost_pence for o in combo)
            if cost > cap_pence:
                continue
            change = combined_logit(combo)
            gain = round(sum(reduction(z, change) for z in logits), 6)
            key = (gain, -cost, -size)
            if gain > 0 and key > best_key:
                best, best_key = combo, key
    return best, best_key[0]


@dataclass(frozen=True)
class UnitCost(Result):
    measure_code: str
    name: str
    scope: str  # dwelling or block
    typical_cost_pence: int


@dataclass(frozen=True)
class Package(Result):
    """The best package within the cap for one home or block (see `packages`)."""

    uprn: int
    scope: str  # dwelling or block
    band: str
    measures: list[str]  # codes
    names: list[str]
    cost_pence: int
    reduction: float  # combined, score points summed over a block's flats
    separate: float  # the sum of the measures' separate reductions
    flats: int
    address: str
    street: str | None
    town: str | None
    lon: float | None
    lat: float | None

    @property
    def words(self) -> str:
        return " + ".join(self.names)


def unit_costs(conn: Connection) -> list[UnitCost]:
    """The catalogue's measures with their default unit costs (pence), for a form to change."""
    return [
        UnitCost(**r)
        for r in conn.execute(
            text(
                "SELECT measure_code, name, scope, typical_cost_pence FROM measures_catalogue "
                "ORDER BY scope DESC, typical_cost_pence, measure_code"
            )
        ).mappings()
    ]


def _costs(conn: Connection, overrides: Mapping[str, int] | None) -> dict[str, int]:
    costs = {
        str(code): int(pence)
        for code, pence in conn.execute(
            text("SELECT measure_code, typical_cost_pence FROM measures_catalogue")
        ).all()
    }
    for code, pence in (overrides or {}).items():
        if code not in costs:
            raise UserInputError(f"unknown measure {code!r}")
        if not 0 <= int(pence) <= MAX_CAP_PENCE:
            raise UserInputError(f"the cost of {code} must be between £0 and £1,000,000")
        costs[code] = int(pence)
    return costs


def packages(
    conn: Connection,
    provider: str,
    cap_pence: int = DEFAULT_CAP_PENCE,
    limit: int = 20,
    costs: Mapping[str, int] | None = None,
) -> list[Package]:
    """The best package within `cap_pence` for each of the provider's highest-risk homes and
    their blocks, most risk removed first."""
    if not 0 < cap_pence <= MAX_CAP_PENCE:
        raise UserInputError("the cost cap must be more than £0 and at most £1,000,000")
    if not 1 <= limit <= 500:
        raise UserInputError("limit must be between 1 and 500")
    unit = _costs(conn, costs)
    model = load(conn, None, store=False)
    provider_rows = provider_homes(conn, provider, model.version, max(limit * 5, 100))
    on_order, faulty = provider_rows.on_order, provider_rows.faulty
    homes: list[tuple[int, str, float, list[Option]]] = []
    blocks: dict[int, tuple[list[float], dict[str, Option], str]] = {}
    for uprn, block, score, band in provider_rows.rows:
        logit = logit_of(score)
        own: list[Option] = []
        for m in measures(conn, model, uprn, logit, None):
            option = Option(m["measure_code"], m["name"], m["risk_factor"], m["scope"],
                            float(m["logit_change"]), unit[m["measure_code"]])  # fmt: skip
            if option.scope == "block" and block is not None:
                target = block
                if (target, option.code) in on_order:
                    continue
                if option.code.endswith("_repair") != ((target, option.factor) in faulty):
                    continue  # repair what is there and faulty, fit where there is nothing
                blocks.setdefault(target, ([], {}, band))[1].setdefault(option.code, option)
                continue
            if (uprn, option.code) not in on_order:
                own.append(option)
        if block is not None:
            blocks.setdefault(block, ([], {}, band))[0].append(logit)
        homes.append((uprn, band, logit, own))
    out: list[dict[str, Any]] = []
    for uprn, band, logit, own in homes:
        chosen, gain = best_package([logit], own, cap_pence)
        if chosen:
            out.append(_item(uprn, "dwelling", band, chosen, gain, [logit], 1))
    for block, (logits, offered, band) in blocks.items():
        chosen, gain = best_package(logits, list(offered.values()), cap_pence)
        if chosen:
            out.append(_item(block, "block", band, chosen, gain, logits, len(logits)))
    out.sort(key=lambda p: (-p["reduction"], p["cost_pence"], p["uprn"]))
    out = out[:limit]
    _addresses(conn, out)
    return [Package(**item) for item in out]


def _item(
    uprn: int, scope: str, band: str, chosen: tuple[Option, ...], gain: float,
    logits: list[float], flats: int,
) -> dict[str, Any]:  # fmt: skip
    separate = sum(reduction(z, o.logit_change) for o in chosen for z in logits)
    return {
        "uprn": uprn,
        "scope": scope,
        "band": band,
        "measures": [o.code for o in chosen],
        "names": [o.name for o in chosen],
        "cost_pence": sum(o.cost_pence for o in chosen),
        "reduction": round(gain, 4),
        "separate": round(separate, 4),
        "flats": flats,
    }


def _addresses(conn: Connection, items: list[dict[str, Any]]) -> None:
    """Each package's address, street and town, in one query."""
    found = {
        int(r.uprn): r
        for r in conn.execute(
            text(
                "SELECT uprn, full_address, street, town, ST_X(ST_Transform(geom, 4326)) AS lon, "
                "ST_Y(ST_Transform(geom, 4326)) AS lat FROM addresses WHERE uprn = ANY(:u)"
            ),
            {"u": [i["uprn"] for i in items]},
        )
    }
    for item in items:
        r = found.get(item["uprn"])
        item["address"] = r.full_address if r else f"UPRN {item['uprn']}"
        item["street"] = r.street if r else None
        item["town"] = r.town if r else None
        item["lon"] = round(float(r.lon), 6) if r else None
        item["lat"] = round(float(r.lat), 6) if r else None
