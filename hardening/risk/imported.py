"""Re-scoring after incidents are imported in bulk (`hardening import police-uk`).

Only what the import changed counts: incidents it inserted, and those whose category, crime
type, kind, time or place it updated (a re-import that changes nothing re-scores nothing). The
addresses they reach (incremental.py: kernel radius, their address, their block; for a moved
incident both places) are re-scored in one incremental run, set-based: the reach of thousands
of incidents is one query, not one per incident. Nothing is re-scored before the first full run
of the default model (it will include them); postcode-unit scores are aggregates that the next
`hardening risk score --units postcodes` replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from hardening.risk.incremental import block_dwellings, event_reach, rescore
from hardening.risk.model import load
from hardening.risk.scoring import RunResult, latest_run, utc
from hardening.risk.worktables import NOT_DWELLINGS

FACTOR_COLUMNS = "category, coalesce(crime_type, '') AS crime_type, kind, occurred_at"


@dataclass(frozen=True)
class IncidentState:
    """What the factors read of an incident (place in BNG)."""

    category: str
    crime_type: str
    kind: str
    occurred_at: datetime
    x: float
    y: float


@dataclass(frozen=True)
class ChangedIncident:
    incident_id: int
    uprn: int | None
    now: IncidentState
    before: IncidentState | None  # None: new; else its influence goes too


def snapshot(conn: Connection, source: str, refs: Sequence[str]) -> None:
    """What the incidents about to be written look like now (a temp table of the transaction)."""
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.risk_import_before"))
    conn.execute(
        text(
            "CREATE TEMP TABLE risk_import_before ON COMMIT DROP AS SELECT incident_id, "
            f"{FACTOR_COLUMNS}, geom FROM incidents WHERE source = :s "
            "AND source_ref = ANY(CAST(:refs AS text[]))"
        ),
        {"s": source, "refs": list(refs)},
    )


def changed(conn: Connection, source: str, refs: Sequence[str]) -> list[ChangedIncident]:
    """Incidents the write inserted or changed in what a factor reads, each as it is now and,
    when it was there before, as it was."""
    rows = conn.execute(
        text(
            "SELECT i.incident_id, i.category, coalesce(i.crime_type, '') AS crime_type, i.kind, "
            "i.occurred_at, ST_X(i.geom) AS x, ST_Y(i.geom) AS y, i.uprn, "
            "ST_X(b.geom) AS x0, ST_Y(b.geom) AS y0, b.category AS category0, "
            "b.crime_type AS crime_type0, b.kind AS kind0, b.occurred_at AS occurred_at0 "
            "FROM incidents i LEFT JOIN risk_import_before b USING (incident_id) "
            "WHERE i.source = :s AND i.source_ref = ANY(CAST(:refs AS text[])) AND ("
            "b.incident_id IS NULL OR NOT ST_Equals(b.geom, i.geom) OR "
            "(b.category, b.crime_type, b.kind, b.occurred_at) IS DISTINCT FROM "
            "(i.category, coalesce(i.crime_type, ''), i.kind, i.occurred_at))"
        ),
        {"s": source, "refs": list(refs)},
    )
    return [
        ChangedIncident(
            r.incident_id, r.uprn,
            IncidentState(r.category, r.crime_type, r.kind, r.occurred_at, r.x, r.y),
            None if r.x0 is None else IncidentState(
                r.category0, r.crime_type0, r.kind0, r.occurred_at0, r.x0, r.y0),
        )
        for r in rows
    ]  # fmt: skip


def rescore_incidents(
    conn: Connection, incidents: Sequence[ChangedIncident], as_of: datetime | None = None
) -> RunResult | None:
    """One incremental run over every address the incidents reach; None when nothing is
    scored yet, or the incidents reach no address."""
    model = load(conn, None, store=False)
    if not incidents or latest_run(conn, model.version, "addresses") is None:
        return None
    moment = utc(as_of)
    points: list[tuple[float, float, float]] = []
    here: set[int] = set()
    blocks: list[int] = []
    for e in incidents:
        for state in (e.now, e.before):
            if state is None:
                continue
            radius, at_address, at_block = event_reach(
                model, state.category, state.crime_type, state.kind, state.occurred_at, moment
            )
            if radius >= 0:
                points.append((float(state.x), float(state.y), radius))
            if at_address and e.uprn is not None:
                here.add(e.uprn)
            if at_block and e.uprn is not None:
                blocks.append(e.uprn)
    uprns = here | set(_within_any(conn, points))
    if blocks:
        uprns.update(block_dwellings(conn, _blocks_of(conn, blocks)))
    if not uprns:
        return None
    return rescore(conn, model, sorted(uprns), moment, {"import": len(incidents)})


def _within_any(conn: Connection, points: Sequence[tuple[float, float, float]]) -> list[int]:
    """Dwellings within each point's radius: the points as an indexed temp table, the
    addresses scanned once against it (the largest radius for the index, then each exact)."""
    if not points:
        return []
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.risk_import_reach"))
    conn.execute(
        text(
            "CREATE TEMP TABLE risk_import_reach ON COMMIT DROP AS SELECT "
            "ST_SetSRID(ST_MakePoint(x, y), 27700) AS geom, r FROM unnest(CAST(:xs AS float8[]), "
            "CAST(:ys AS float8[]), CAST(:rs AS float8[])) AS p(x, y, r)"
        ),
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points], "rs": [p[2] for p in points]},
    )
    conn.execute(text("CREATE INDEX ON risk_import_reach USING gist (geom)"))
    conn.execute(text("ANALYZE risk_import_reach"))
    return [
        int(u)
        for u in conn.execute(
            text(
                "SELECT DISTINCT a.uprn FROM addresses a JOIN risk_import_reach p "
                "ON ST_DWithin(p.geom, a.geom, :rmax) AND ST_Distance(p.geom, a.geom) <= p.r "
                "WHERE a.property_type <> ALL(CAST(:skip AS text[]))"
            ),
            {"rmax": max(p[2] for p in points), "skip": list(NOT_DWELLINGS)},
        ).scalars()
    ]


def _blocks_of(conn: Connection, uprns: Sequence[int]) -> list[int]:
    return [
        int(b)
        for b in conn.execute(
            text(
                "SELECT DISTINCT coalesce(parent_uprn, CASE WHEN property_type = 'block' "
                "THEN uprn END) FROM addresses WHERE uprn = ANY(CAST(:u AS bigint[]))"
            ),
            {"u": list(uprns)},
        ).scalars()
        if b is not None
    ]
