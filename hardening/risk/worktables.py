"""The two work tables every factor reads: units (`risk_u`) and events (`risk_e`, outcomes in
`risk_o`), as indexed temporary tables of the current transaction.

Why copies: the base tables sit under row-level security, where PostGIS operators (not
leakproof) cannot use a GiST index. Copying what the actor may see once (sequential scan, or
KNN for a few units) gives index-backed radius joins for every factor, and the actor's RLS view
is still what gets scored.

Units are addresses (dwellings: blocks and commercial premises are not scored) or postcode
locations: Code-Point units in a partnership area, one unit per distinct coordinate, because
several postcodes are often stacked on one point and counting them apart would count one place
several times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, text

Units = Literal["addresses", "postcodes"]
NOT_DWELLINGS = ("block", "commercial")
POSTCODE_SNAP_M = 500.0
FIRST_K = 1024
SMALL = 5000  # an event further than this from every postcode location is not "at" one
BLOCK_OF = "coalesce({a}.parent_uprn, CASE WHEN {a}.property_type = 'block' THEN {a}.uprn END)"
# Deterministic thinning: half A / half B of the events by a hash of their natural key.
HALF_OF = "get_byte(decode(md5({src} || ':' || {ref}), 'hex'), 0) % 2"


@dataclass(frozen=True)
class UnitScope:
    units: Units
    area_id: str | None = None
    uprns: Sequence[int] | None = None  # addresses only: exactly these (incremental)


@dataclass(frozen=True)
class EventSpan:
    """Events with start <= occurred_at < end; half 0/1 keeps one thinning half, each event
    then weighing `weight` (2 makes half the events estimate the whole)."""

    end: datetime
    start: datetime | None = None
    half: int | None = None
    weight: float = 1.0


# The columns the factors join, group or filter on: statistics of the others (a geometry's
# histogram, the postcode arrays) cost more than half of an ANALYZE and steer no plan.
PLANNED = {
    "risk_u": "unit_id, block_id, area_id",
    "risk_e": "unit_id, block_id, category, crime_type, occurred_at, x, y",
    "risk_o": "unit_id, block_id, category, crime_type, occurred_at, x, y",
}


def _analyze(conn: Connection, table: str, rows: int) -> None:
    """Statistics for the planner; a few hundred rows (incremental) plan well without."""
    if rows > SMALL:
        conn.execute(text(f"ANALYZE {table} ({PLANNED[table]})"))


def _drop(conn: Connection, table: str) -> None:
    conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))


def build_units(conn: Connection, scope: UnitScope) -> int:
    """Create risk_u (unit_id, block_id, area_id, geom, lsoa_code, tenure, property_type,
    postcodes) for the scope; returns the number of units."""
    _drop(conn, "risk_u")
    binds: dict[str, Any] = {"area": scope.area_id}
    if scope.units == "addresses":
        only = ""
        if scope.uprns is not None:
            only = " AND a.uprn = ANY(CAST(:uprns AS bigint[]))"
            binds["uprns"] = list(scope.uprns)
        conn.execute(
            text(
                "CREATE TEMP TABLE risk_u ON COMMIT DROP AS "
                f"SELECT a.uprn AS unit_id, {BLOCK_OF.format(a='a')} AS block_id, a.area_id, "
                "a.geom, ST_X(a.geom) AS x, ST_Y(a.geom) AS y, a.lsoa_code, a.tenure, "
                "a.property_type, NULL::text[] AS postcodes, "
                "coalesce(d.imd_decile, l.imd_decile) AS imd_decile FROM addresses a "
                "LEFT JOIN imd_deciles d ON d.lsoa_code = a.lsoa_code "
                "LEFT JOIN lsoas l ON l.lsoa_code = a.lsoa_code "
                "WHERE a.property_type <> ALL(CAST(:skip AS text[])) "
                f"AND (CAST(:area AS text) IS NULL OR a.area_id = :area){only}"
            ),
            {**binds, "skip": list(NOT_DWELLINGS)},
        )
    else:
        conn.execute(
            text(
                "CREATE TEMP TABLE risk_u ON COMMIT DROP AS "
                "SELECT row_number() OVER (ORDER BY min(p.postcode)) AS unit_id, "
                "NULL::bigint AS block_id, min(p.area_id) AS area_id, p.geom, ST_X(p.geom) AS x, "
                "ST_Y(p.geom) AS y, "
                "NULL::text AS lsoa_code, NULL::text AS tenure, NULL::text AS property_type, "
                "array_agg(p.postcode ORDER BY p.postcode) AS postcodes, "
                "NULL::smallint AS imd_decile "
                "FROM postcode_units p WHERE p.area_id IS NOT NULL "
                "AND (CAST(:area AS text) IS NULL OR p.area_id = :area) GROUP BY p.geom"
            ),
            binds,
        )
    conn.execute(text("CREATE UNIQUE INDEX ON risk_u (unit_id)"))
    if scope.units == "postcodes":  # events find their nearest location by KNN
        conn.execute(text("CREATE INDEX ON risk_u USING gist (geom)"))
    # Units without an LSOA code get the one of the LSOA polygon they fall in (no RLS there).
    conn.execute(
        text(
            "UPDATE risk_u u SET lsoa_code = l.lsoa_code, imd_decile = coalesce(d.imd_decile, "
            "l.imd_decile) FROM (SELECT v.unit_id, (SELECT l.lsoa_code FROM lsoas l "
            "WHERE ST_Covers(l.geom, v.geom) ORDER BY l.lsoa_code LIMIT 1) AS code "
            "FROM risk_u v WHERE v.lsoa_code IS NULL) c JOIN lsoas l ON l.lsoa_code = c.code "
            "LEFT JOIN imd_deciles d ON d.lsoa_code = c.code WHERE u.unit_id = c.unit_id"
        )
    )
    n = int(conn.execute(text("SELECT count(*) FROM risk_u")).scalar_one())
    _analyze(conn, "risk_u", n)
    return n


def knn_within(
    conn: Connection, table: str, key: str, x: float, y: float, radius: float, where: str = "TRUE"
) -> list[int]:
    """Keys of table's rows within radius of (x, y), nearest first, by KNN with a growing
    limit: under RLS only KNN ordering can use the GiST index (the table is ours to name)."""
    k = FIRST_K
    point = "ST_SetSRID(ST_MakePoint(:x, :y), 27700)"
    while True:
        rows = conn.execute(
            text(
                f"SELECT {key}, geom <-> {point} AS d FROM {table} t WHERE {where} "
                f"ORDER BY geom <-> {point} LIMIT :k"
            ),
            {"x": x, "y": y, "k": k},
        ).all()
        if len(rows) < k or rows[-1][1] > radius:
            return [int(r[0]) for r in rows if r[1] <= radius]
        k *= 4


def local_event_ids(conn: Connection, reach_m: float) -> list[int]:
    """Incidents that can touch the (few) units of risk_u: within reach of their bounding
    circle, or recorded at one of them or at their blocks (a few index look-ups, no scan)."""
    row = conn.execute(
        text(
            "SELECT m.cx, m.cy, (SELECT max(sqrt((u.x - m.cx) ^ 2 + (u.y - m.cy) ^ 2)) "
            "FROM risk_u u) FROM (SELECT (min(x) + max(x)) / 2 AS cx, (min(y) + max(y)) / 2 "
            "AS cy FROM risk_u) m"
        )
    ).one()
    if row[0] is None:
        return []
    found = set(knn_within(conn, "incidents", "incident_id", row[0], row[1], row[2] + reach_m))
    found.update(
        conn.execute(
            text(
                "SELECT incident_id FROM incidents WHERE uprn = ANY(ARRAY(SELECT unit_id FROM "
                "risk_u UNION SELECT block_id FROM risk_u WHERE block_id IS NOT NULL UNION "
                "SELECT a.uprn FROM addresses a JOIN risk_u u ON a.parent_uprn = u.block_id))"
            )
        ).scalars()
    )
    return sorted(found)


def build_events(
    conn: Connection,
    table: Literal["risk_e", "risk_o"],
    units: Units,
    span: EventSpan,
    reach_m: float,
    ids: Sequence[int] | None = None,
) -> int:
    """Create table (event_id, source, kind, category, crime_type, occurred_at, geom, unit_id,
    block_id, weight) from incidents (and, for addresses, visits to cuckooed occupants) within
    reach_m of the units' extent; unit_id is the event's address (addresses) or its nearest
    postcode location in the same area (postcodes). Needs risk_u."""
    _drop(conn, table)
    binds: dict[str, Any] = {
        "end": span.end,
        "start": span.start,
        "reach": reach_m,
        "w": span.weight,
        "half": span.half,
        "snap": POSTCODE_SNAP_M,
        "ids": list(ids or []),
    }
    # Optional clauses are left out rather than OR-ed with NULL checks, so the time index
    # stays usable.
    window = "{t} < :end"
    if span.start is not None:
        window += " AND {t} >= :start"
    if span.half is not None:
        window += " AND " + HALF_OF + " = :half"
    box = "(SELECT ST_Expand(ST_Extent(geom)::geometry, :reach) FROM risk_u)"
    incidents = window.format(t="i.occurred_at", src="i.source", ref="i.source_ref")
    if ids is not None:  # a few known incidents (incremental): by primary key, no scan
        incidents += " AND i.incident_id = ANY(CAST(:ids AS bigint[]))"
    if units == "addresses":
        sql = (
            "SELECT i.incident_id AS event_id, i.source, i.kind, i.category, "
            "coalesce(i.crime_type, '') AS crime_type, i.occurred_at, i.geom, ST_X(i.geom) AS x, "
            "ST_Y(i.geom) AS y, i.uprn AS unit_id, "
            f"{BLOCK_OF.format(a='a')} AS block_id, CAST(:w AS float8) AS weight "
            "FROM incidents i LEFT JOIN addresses a ON a.uprn = i.uprn "
            f"WHERE {incidents}{'' if ids is not None else f' AND i.geom && {box}'} "
            "UNION ALL "
            "SELECT -v.visit_id, 'visit', 'visit', 'cuckooing', '', "
            "v.visited_on::timestamp AT TIME ZONE 'UTC', a.geom, ST_X(a.geom), ST_Y(a.geom), "
            "v.uprn, "
            f"{BLOCK_OF.format(a='a')}, CAST(:w AS float8) "
            "FROM visits v JOIN addresses a ON a.uprn = v.uprn "
            "WHERE v.subject_type = 'cuckooed_occupant' AND "
            + window.format(
                t="(v.visited_on::timestamp AT TIME ZONE 'UTC')",
                src="'visit'",
                ref="v.visit_id::text",
            )
            + f" AND a.geom && {box}"
        )
    else:
        sql = (
            "SELECT i.incident_id AS event_id, i.source, i.kind, i.category, "
            "coalesce(i.crime_type, '') AS crime_type, i.occurred_at, i.geom, ST_X(i.geom) AS x, "
            "ST_Y(i.geom) AS y, "
            "CASE WHEN n.area_id = i.area_id AND n.d <= :snap THEN n.unit_id END AS unit_id, "
            "NULL::bigint AS block_id, CAST(:w AS float8) AS weight "
            "FROM incidents i CROSS JOIN LATERAL (SELECT u.unit_id, u.area_id, "
            "u.geom <-> i.geom AS d FROM risk_u u ORDER BY u.geom <-> i.geom LIMIT 1) n "
            f"WHERE {incidents} AND i.geom && {box}"
        )
    conn.execute(text(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {sql}"), binds)
    n = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    _analyze(conn, table, n)
    return n
