"""Incremental re-scoring: when an incident, visit, installed measure or camera is added, only
the addresses inside that event's influence are scored again (with the default model unless
told otherwise).

Influence, from the factors the event feeds: an incident counted by a spatial kernel reaches
every dwelling within the kernel's radius (near repeat 400 m, drug market 200 m by default);
one counted at its address reaches that dwelling and, for prior_block, its block; a visit or a
dwelling measure reaches its address; a block measure the block's dwellings; a camera the
dwellings within its range. Radius look-ups on addresses run as KNN (`ORDER BY geom <-> point
LIMIT k`, k grown until the k-th is beyond the radius) so the GiST index serves them under RLS.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError
from hardening.risk import factors as fx
from hardening.risk.events import Selector
from hardening.risk.model import Model, load
from hardening.risk.scoring import (
    RunResult,
    latest_run,
    lock,
    prepare,
    record_run,
    utc,
    write,
)
from hardening.risk.worktables import NOT_DWELLINGS, UnitScope, knn_within

Cause = Literal["incident", "visit", "measure", "camera"]


@dataclass(frozen=True)
class Reach:
    """Where an event's influence lands: a radius around a point, and/or addresses."""

    x: float | None = None
    y: float | None = None
    radius: float = 0.0
    uprns: tuple[int, ...] = ()
    blocks: tuple[int, ...] = ()


def within(conn: Connection, x: float, y: float, radius: float) -> list[int]:
    """Dwellings within radius metres of (x, y) (BNG)."""
    where = f"t.property_type NOT IN ({', '.join(repr(t) for t in NOT_DWELLINGS)})"
    return knn_within(conn, "addresses", "uprn", x, y, radius, where)


def block_dwellings(conn: Connection, blocks: Iterable[int]) -> list[int]:
    return [
        int(u)
        for u in conn.execute(
            text(
                "SELECT uprn FROM addresses WHERE (parent_uprn = ANY(CAST(:b AS bigint[])) "
                "OR uprn = ANY(CAST(:b AS bigint[]))) "
                "AND property_type <> ALL(CAST(:skip AS text[]))"
            ),
            {"b": list(blocks), "skip": list(NOT_DWELLINGS)},
        ).scalars()
    ]


def _block_of(conn: Connection, uprn: int | None) -> int | None:
    if uprn is None:
        return None
    row = conn.execute(
        text(
            "SELECT coalesce(parent_uprn, CASE WHEN property_type = 'block' THEN uprn END) "
            "FROM addresses WHERE uprn = :u"
        ),
        {"u": uprn},
    ).first()
    return None if row is None or row[0] is None else int(row[0])


def event_reach(
    model: Model,
    category: str,
    crime_type: str | None,
    kind: str,
    occurred_at: datetime,
    as_of: datetime,
) -> tuple[float, bool, bool]:
    """What an incident feeds: the largest kernel radius counting it (-1: none), whether a
    factor counts it at its address, and whether prior_block counts it at its block."""
    radius, here, block = -1.0, False, False
    age_days = (as_of - occurred_at).total_seconds() / 86400
    for name, p in model.params("addresses").items():
        factor = fx.BY_NAME[name]
        if factor.source != "events" or not 0 <= age_days < float(p["window_days"]):
            continue
        if not Selector.parse(p["events"]).matches(category, crime_type, kind):
            continue
        if factor.aggregate is fx.kernel:
            radius = max(radius, float(p["radius_m"]))
        elif name == "prior_block":
            block = True
        else:
            here = True
    return radius, here, block


def incident_reach(conn: Connection, model: Model, incident_id: int, as_of: datetime) -> Reach:
    row = conn.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom), uprn, category, crime_type, kind, occurred_at "
            "FROM incidents WHERE incident_id = :i"
        ),
        {"i": incident_id},
    ).first()
    if row is None:
        raise NotFoundError(f"no incident {incident_id}")
    x, y, uprn, category, crime_type, kind, occurred_at = row
    radius, here, block = event_reach(model, category, crime_type, kind, occurred_at, as_of)
    block_id = _block_of(conn, uprn) if block else None
    return Reach(
        x=x if radius >= 0 else None,
        y=y if radius >= 0 else None,
        radius=max(radius, 0.0),
        uprns=(int(uprn),) if here and uprn is not None else (),
        blocks=(block_id,) if block_id is not None else (),
    )


def reach_of(
    conn: Connection, model: Model, cause: Cause, object_id: int, as_of: datetime
) -> Reach:
    if cause == "incident":
        return incident_reach(conn, model, object_id, as_of)
    if cause == "visit":
        row = conn.execute(
            text("SELECT uprn, subject_type FROM visits WHERE visit_id = :i"), {"i": object_id}
        ).first()
        if row is None:
            raise NotFoundError(f"no visit {object_id}")
        block = _block_of(conn, row[0]) if row[1] == "cuckooed_occupant" else None
        return Reach(uprns=(int(row[0]),), blocks=(block,) if block else ())
    if cause == "measure":
        row = conn.execute(
            text(
                "SELECT m.uprn, c.scope FROM installed_measures m JOIN measures_catalogue c "
                "USING (measure_code) WHERE m.installed_id = :i"
            ),
            {"i": object_id},
        ).first()
        if row is None:
            raise NotFoundError(f"no installed measure {object_id}")
        if row[1] != "block":
            return Reach(uprns=(int(row[0]),))
        return Reach(uprns=(int(row[0]),), blocks=(_block_of(conn, row[0]) or int(row[0]),))
    row = conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom), range_m FROM cctv_sites WHERE site_id = :i"),
        {"i": object_id},
    ).first()
    if row is None:
        raise NotFoundError(f"no CCTV site {object_id}")
    return Reach(x=row[0], y=row[1], radius=float(row[2]))


def affected(conn: Connection, reach: Reach) -> list[int]:
    found: set[int] = set()
    if reach.uprns:
        found.update(
            conn.execute(
                text(
                    "SELECT uprn FROM addresses WHERE uprn = ANY(CAST(:u AS bigint[])) "
                    "AND property_type <> ALL(CAST(:skip AS text[]))"
                ),
                {"u": list(reach.uprns), "skip": list(NOT_DWELLINGS)},
            ).scalars()
        )
    if reach.x is not None and reach.y is not None:
        found.update(within(conn, reach.x, reach.y, reach.radius))
    if reach.blocks:
        found.update(block_dwellings(conn, reach.blocks))
    return sorted(found)


def rescore_after(
    conn: Connection,
    cause: Cause,
    object_id: int,
    as_of: datetime | None = None,
    model_version: str | None = None,
) -> tuple[RunResult, list[int]]:
    """Re-score the addresses the event influences; returns the run and their UPRNs."""
    started = time.perf_counter()
    model = load(conn, model_version)
    moment = utc(as_of)
    uprns = affected(conn, reach_of(conn, model, cause, object_id, moment))
    return rescore(conn, model, uprns, moment, {cause: object_id}, started), uprns


def rescore(
    conn: Connection,
    model: Model,
    uprns: list[int],
    as_of: datetime,
    cause: dict[str, Any],
    started: float | None = None,
) -> RunResult:
    """Score exactly these addresses (upsert). A factor found absent by the last full run stays
    absent unless the local data now has it."""
    started = time.perf_counter() if started is None else started
    lock(conn, model.version)
    computed_at = utc(None)
    bands: dict[str, int] = {}
    absent: dict[str, str] = {}
    if uprns:
        _, local, params = prepare(
            conn, model, UnitScope("addresses", uprns=uprns), as_of, local=True
        )
        full = latest_run(conn, model.version, "addresses")
        absent = {k: v for k, v in local.items() if full is None or k in full["absent_factors"]}
        if absent != local:  # data the full run lacked is here now: recompute with it
            fx.compute(conn, params, as_of, skip=list(absent), local=True)
        bands = write(conn, model, "addresses", [p for p in params if p not in absent], computed_at)
    result = RunResult(
        0, model.version, "addresses", "incremental", None, as_of, computed_at, len(uprns),
        absent, bands, 0.0, cause,
    )  # fmt: skip
    result.seconds = time.perf_counter() - started
    result.run_id = record_run(conn, result)
    return result
