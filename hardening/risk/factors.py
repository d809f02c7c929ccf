"""The risk factors: each a named, documented, parameterised set-based SQL computation over the
work tables (risk_u units, risk_e events; see worktables.py), giving one value per unit.

A factor is either an aggregate (a query yielding unit_id, v for the units where it is not 0,
joined onto the units; its SQL is in factor_sql.py) or an inline expression over the unit's own
columns. `compute` builds one statement for all of them into `risk_fv` (unit_id, area_id, one
float8 column per factor): no per-unit loops; radius joins are grid-cell hash joins with an
exact distance filter, or, for the kernels of a full run, numpy (kernels.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from hardening.risk import kernels
from hardening.risk.factor_sql import (
    CAMERA_WORKING_AT_AS_OF,
    Params,
    SqlPart,
    at_dwelling_or_block,
    build_measures,
    door,
    kernel,
    prior_block,
    prior_here,
    transport,
    vulnerability,
)
from hardening.risk.worktables import Units

__all__ = ["FACTORS", "Factor", "Params", "compute", "kernel"]
EXPLOITATION = {"categories": ["cuckooing", "exploitation"]}
RELATED = {
    "categories": [
        "cuckooing",
        "exploitation",
        "drug_dealing",
        "drug_possession",
        "threat_to_life",
        "weapons",
    ]
}
DRUGS = {"categories": ["drug_dealing", "drug_possession"]}


@dataclass(frozen=True)
class Factor:
    name: str
    label: str
    sign: int  # +1 raises risk, -1 protects
    units: frozenset[str]
    doc: str
    defaults: dict[str, Any] = field(default_factory=dict)
    aggregate: Callable[[str, Params], SqlPart] | None = None
    inline: str | None = None  # a number from the unit's own columns (risk_u u)
    source: str = ""  # table whose rows the factor needs (absence check)
    measure_factor: str | None = None  # measures_catalogue.risk_factor it responds to

    def applies_to(self, units: Units) -> bool:
        return units in self.units


def _f(
    name: str,
    label: str,
    sign: int,
    units: Sequence[str],
    doc: str,
    defaults: dict[str, Any] | None = None,
    aggregate: Callable[[str, Params], SqlPart] | None = None,
    inline: str | None = None,
    source: str = "",
    measure_factor: str | None = None,
) -> Factor:
    return Factor(
        name,
        label,
        sign,
        frozenset(units),
        doc,
        defaults or {},
        aggregate,
        inline,
        source,
        measure_factor,
    )


BOTH = ("addresses", "postcodes")
ADDR = ("addresses",)
FACTORS: tuple[Factor, ...] = (
    _f(
        "prior_here",
        "Earlier reports here",
        +1,
        BOTH,
        "Time-decayed count of earlier reports of the kind predicted (by default cuckooing and "
        "exploitation: incidents, intelligence, visits to a cuckooed occupant) at the unit: "
        "ln(1 + sum 0.5^(age/half-life)) over the window.",
        {"events": EXPLOITATION, "half_life_days": 180, "window_days": 730},
        prior_here,
        source="events",
    ),
    _f(
        "prior_block",
        "Earlier reports in the same block",
        +1,
        ADDR,
        "As prior_here, for reports at the other dwellings of the same block (or the "
        "block itself).",
        {"events": EXPLOITATION, "half_life_days": 180, "window_days": 730},
        prior_block,
        source="events",
    ),
    _f(
        "incidents_here",
        "Other police incidents here",
        +1,
        BOTH,
        "Time-decayed count of every other recorded incident at the unit (ASB, violence...): "
        "signs of a home taken over, and of a place where crime concentrates.",
        {"events": {"all": True}, "half_life_days": 180, "window_days": 730},
        prior_here,
        source="events",
    ),
    _f(
        "near_repeat",
        "Related incidents nearby recently",
        +1,
        BOTH,
        "Near-repeat exposure: ln(1 + sum (1 - d/r)(1 - age/days)) over related incidents within "
        "r metres and the last `days` days (default 400 m, 60 days).",
        {"events": RELATED, "radius_m": 400.0, "window_days": 60, "space": "linear"},
        kernel,
        source="events",
    ),
    _f(
        "drug_market",
        "Drug market nearby",
        +1,
        BOTH,
        "Drug-market intensity: quartic kernel density ln(1 + sum (1 - (d/h)^2)^2) of drug "
        "incidents and intelligence within h metres over 12 months (default h = 200 m).",
        {
            "events": DRUGS,
            "radius_m": 200.0,
            "window_days": 365,
            "space": "quartic",
            "time": "flat",
        },
        kernel,
        source="events",
    ),
    _f(
        "transport",
        "Close to a railway or bus station",
        +1,
        BOTH,
        "Proximity to the nearest railway or bus station: 1 - d/r within r (default 1000 m).",
        {"radius_m": 1000.0, "kinds": ["rail_station", "bus_station"]},
        transport,
        source="transport_hubs",
    ),
    _f(
        "deprivation",
        "Deprived neighbourhood",
        +1,
        BOTH,
        "The LSOA's IMD decile centred: (5.5 - decile) / 4.5, +1 for the most deprived tenth, "
        "-1 for the least.",
        inline="(5.5 - u.imd_decile) / 4.5",
        source="imd",
    ),
    _f(
        "vulnerability",
        "Vulnerable occupant recorded",
        +1,
        ADDR,
        "1 when a visit in the window recorded a vulnerable occupant or a Class A user or "
        "cuckooed occupant; presence only, no detail leaves the database.",
        {"window_days": 730, "subject_types": ["class_a_user", "cuckooed_occupant"]},
        vulnerability,
        source="visits",
    ),
    _f(
        "social_housing",
        "Social or supported housing",
        +1,
        ADDR,
        "1 for social rented or supported tenure (or a supported-housing property).",
        inline="(u.tenure IN ('social_rented', 'supported') OR u.property_type = 'supported')::int",
        source="tenure",
    ),
    _f(
        "flat_in_block",
        "Flat in a block",
        +1,
        ADDR,
        "1 for a flat or any dwelling with a parent block.",
        inline="(u.property_type = 'flat' OR u.block_id IS NOT NULL)::int",
    ),
    _f(
        "hmo",
        "House in multiple occupation",
        +1,
        ADDR,
        "1 for a house in multiple occupation.",
        inline="(u.property_type = 'hmo')::int",
    ),
    _f(
        "protection_door",
        "Door security fitted",
        -1,
        ADDR,
        "1 - 0.5^n for n working door measures (spy hole, door chain, letterbox guard, "
        "security door) at the dwelling.",
        {"risk_factor": "protection_door"},
        door,
        source="measures",
        measure_factor="protection_door",
    ),
    _f(
        "protection_entry",
        "Working communal entry",
        -1,
        ADDR,
        "1 for a flat whose block (or itself) has a working communal entry system.",
        {"risk_factor": "protection_entry", "flats_only": True},
        at_dwelling_or_block,
        source="measures",
        measure_factor="protection_entry",
    ),
    _f(
        "protection_cctv",
        "Working CCTV covering the entrance",
        -1,
        ADDR,
        "1 when a working CCTV measure is at the dwelling or block, or a working camera's cone "
        "(range, bearing +- field of view / 2) covers the dwelling.",
        {"risk_factor": "protection_cctv", "cameras": True},
        at_dwelling_or_block,
        source="measures_or_cameras",
        measure_factor="protection_cctv",
    ),
    _f(
        "protection_lighting",
        "Entrance lighting",
        -1,
        ADDR,
        "1 when working external/communal lighting is at the dwelling or its block.",
        {"risk_factor": "protection_lighting"},
        at_dwelling_or_block,
        source="measures",
        measure_factor="protection_lighting",
    ),
    _f(
        "protection_notice",
        "Warning notice served",
        -1,
        ADDR,
        "1 when a community protection warning notice is in force at the dwelling.",
        {"risk_factor": "protection_notice"},
        at_dwelling_or_block,
        source="measures",
        measure_factor="protection_notice",
    ),
)
BY_NAME: dict[str, Factor] = {f.name: f for f in FACTORS}
NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS)


def reach_m(params: Mapping[str, Params]) -> float:
    """The furthest an event can influence a unit (radius of the spatial kernels)."""
    return max(
        [float(p["radius_m"]) for n, p in params.items() if BY_NAME[n].aggregate is kernel] or [0.0]
    )


def lookback_days(params: Mapping[str, Params]) -> int:
    return max([int(p["window_days"]) for p in params.values() if "window_days" in p] or [0])


def compute(
    conn: Connection,
    params: Mapping[str, Params],
    as_of: datetime,
    skip: Sequence[str] = (),
    extra: Mapping[str, tuple[str, Params]] | None = None,
    local: bool = False,
) -> None:
    """Create risk_fv: one row per unit, one column per factor (0 where it does not apply or
    is skipped as absent), plus `extra` columns computed by another factor's SQL with other
    parameters (e.g. backtest baselines: {'kde_200m': ('drug_market', {...})}). local: few
    units (incremental), so their measures are fetched by index."""
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.risk_fv"))
    joins: list[str] = []
    columns: list[str] = []
    binds: dict[str, Any] = {"as_of": as_of}
    todo = [(n, BY_NAME[n], params[n]) for n in NAMES if n in params and n not in skip]
    todo += [(col, BY_NAME[base], p) for col, (base, p) in (extra or {}).items()]
    if any(f.measure_factor for _, f, _ in todo):
        build_measures(conn, as_of, local)
    if any(p.get("cameras") for _, _, p in todo):
        longest = conn.execute(
            text(f"SELECT max(range_m) FROM cctv_sites s WHERE {CAMERA_WORKING_AT_AS_OF}"),
            {"as_of": as_of},
        ).scalar_one()
        todo = [
            (c, f, {**p, "max_range_m": float(longest or 0.0)} if p.get("cameras") else p)
            for c, f, p in todo
        ]
    done = set()
    # Many units: the radius kernels and transport are computed in numpy (kernels.py) into risk_k.
    numpy = (kernel, transport)
    vectorised = [(c, p) for c, f, p in todo if f.aggregate in numpy] if not local else []
    in_k = {c for c, _ in vectorised} if kernels.compute(conn, vectorised, binds) else set()
    if in_k:
        joins.append("LEFT JOIN risk_k k ON k.unit_id = u.unit_id")
    # The other factors' rows (at most one per unit and factor, only where not 0) in one long
    # table pivoted per unit: one join of the units, not one per factor (each a hash join of
    # every unit's growing row).
    sparse: list[str] = []
    pivot: list[str] = []
    for i, (column, factor, p) in enumerate(todo):
        if column in in_k:
            columns.append(f"coalesce(k.{column}, 0)::float8 AS {column}")
        elif factor.inline is not None:
            columns.append(f"coalesce({factor.inline}, 0)::float8 AS {column}")
        else:
            assert factor.aggregate is not None
            sql, part = factor.aggregate(f"f{i}", p)
            binds.update(part)
            sparse.append(
                f"SELECT f{i}.unit_id, {i} AS f, CAST(f{i}.v AS float8) AS v FROM ({sql}) f{i}"
            )
            pivot.append(f"max(z.v) FILTER (WHERE z.f = {i}) AS v{i}")
            columns.append(f"coalesce(x.v{i}, 0)::float8 AS {column}")
        done.add(column)
    if sparse:
        joins.append(
            f"LEFT JOIN (SELECT z.unit_id, {', '.join(pivot)} FROM ("
            + " UNION ALL ".join(sparse)
            + ") z GROUP BY z.unit_id) x ON x.unit_id = u.unit_id"
        )
    columns += [f"0.0::float8 AS {n}" for n in NAMES if n not in done]
    conn.execute(
        text(
            "CREATE TEMP TABLE risk_fv ON COMMIT DROP AS SELECT u.unit_id, u.area_id, "
            + ", ".join(columns)
            + " FROM risk_u u "
            + " ".join(joins)
        ),
        binds,
    )
