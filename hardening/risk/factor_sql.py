"""The SQL of the risk factors: each builder returns (query, binds) for one factor, a query
yielding unit_id and v for the units where the factor is not 0, over the work tables risk_u,
risk_e and risk_m (see worktables.py). Bind names are prefixed with the factor's key so every
factor fits in one statement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from hardening.risk.events import Selector

Params = Mapping[str, Any]
SqlPart = tuple[str, dict[str, Any]]
AGE_DAYS = "(extract(epoch FROM (CAST(:as_of AS timestamptz) - e.occurred_at)) / 86400.0)"


def _window(key: str, days_param: str) -> str:
    return (
        f"e.occurred_at < CAST(:as_of AS timestamptz) AND e.occurred_at >= "
        f"CAST(:as_of AS timestamptz) - make_interval(days => CAST(:{key}_{days_param} AS int))"
    )


def _decayed(key: str, p: Params, at: str, join: str = "", where: str = "TRUE") -> SqlPart:
    """ln(1 + sum of weight * 0.5^(age / half-life)) of selected events, grouped by `at`."""
    predicate, binds = Selector.parse(p["events"]).sql(key)
    sql = (
        f"SELECT {at} AS unit_id, ln(1 + sum(e.weight * power(0.5, {AGE_DAYS} / "
        f"CAST(:{key}_hl AS float8)))) AS v FROM risk_e e {join} "
        f"WHERE {where} AND {predicate} AND {_window(key, 'days')} GROUP BY 1"
    )
    return sql, {**binds, f"{key}_hl": p["half_life_days"], f"{key}_days": p["window_days"]}


def prior_here(key: str, p: Params) -> SqlPart:
    """Events at the unit itself (its address; for postcodes, the nearest location)."""
    return _decayed(key, p, "e.unit_id", where="e.unit_id IS NOT NULL")


def prior_block(key: str, p: Params) -> SqlPart:
    """Events elsewhere in the unit's block: another flat, or the block's own address."""
    return _decayed(
        key,
        p,
        "u.unit_id",
        "JOIN risk_u u ON u.block_id = e.block_id AND e.unit_id IS DISTINCT FROM u.unit_id",
    )


def _offsets(k: int) -> str:
    """The (2k+1)^2 cell offsets as two literal arrays: a row count the planner can see."""
    pairs = [(dx, dy) for dx in range(-k, k + 1) for dy in range(-k, k + 1)]
    xs = ",".join(str(dx) for dx, _ in pairs)
    ys = ",".join(str(dy) for _, dy in pairs)
    return f"unnest('{{{xs}}}'::int[], '{{{ys}}}'::int[]) AS o(dx, dy)"


def near_units(points: str, cell: float, max_r: float) -> str:
    """Pairs of units and points within each point's radius: `points` is a query with x, y
    and r (<= max_r) columns (more are carried along); yields unit_id, the unit's ux and uy,
    the point's columns and d, the distance.

    A hash join on grid cells: each point is copied into every cell of side `cell` its disc
    can reach, each unit looks only in its own cell (one integer key), and the exact distance
    then filters the candidates, so a key collision can only cost time, never a wrong pair.
    Exact, and several times faster than GiST nested loops over the same pairs."""
    c = f"CAST({float(cell)!r} AS float8)"
    key = "floor({a}.x / {c})::bigint * 1048576 + floor({a}.y / {c})::bigint"
    return (
        "SELECT u.unit_id, u.x AS ux, u.y AS uy, p.*, "
        "sqrt((u.x - p.x) ^ 2 + (u.y - p.y) ^ 2) AS d FROM risk_u u "
        f"JOIN (SELECT q.*, {key.format(a='q', c=c)} + o.dx * 1048576 + o.dy AS cell "
        f"FROM ({points}) q CROSS JOIN {_offsets(math.ceil(max_r / cell))} "
        f"WHERE abs(o.dx) <= ceil(q.r / {c}) AND abs(o.dy) <= ceil(q.r / {c})) p "
        f"ON p.cell = {key.format(a='u', c=c)} "
        "WHERE (u.x - p.x) ^ 2 + (u.y - p.y) ^ 2 <= p.r * p.r"
    )


def kernel(key: str, p: Params) -> SqlPart:
    """ln(1 + sum over events within radius r of space x time kernel weights).

    space: 'linear' 1 - d/r (near repeat) or 'quartic' (1 - (d/r)^2)^2 (KDE);
    time: 'linear' 1 - age/days, or 'flat' (every event in the window counts fully);
    log: false keeps the plain sum (a KDE baseline). Events at one point (police.uk snap
    points) are summed first: the kernel's spatial part is the same for all of them."""
    radius = float(p["radius_m"])
    r = f"CAST(:{key}_r AS float8)"
    space = (
        "(1 - z.d / z.r)"
        if p.get("space", "linear") == "linear"
        else ("power(1 - (z.d / z.r) ^ 2, 2)")
    )
    total = f"sum(z.w * {space})"
    weighted, binds = kernel_points(key, p)
    points = f"SELECT q.x, q.y, {r} AS r, q.w FROM ({weighted}) q"
    sql = (
        f"SELECT z.unit_id, {f'ln(1 + {total})' if p.get('log', True) else total} AS v "
        f"FROM ({near_units(points, radius / 2, radius)}) z GROUP BY z.unit_id"
    )
    return sql, {**binds, f"{key}_r": radius}


def kernel_points(key: str, p: Params) -> SqlPart:
    """A kernel's event points: x, y and w, the sum of weight x time kernel of the selected
    events at that point (needs :as_of)."""
    predicate, binds = Selector.parse(p["events"]).sql(key)
    timing = f"(1 - {AGE_DAYS} / CAST(:{key}_days AS float8))" if p.get("time") != "flat" else "1"
    sql = (
        f"SELECT e.x, e.y, sum(e.weight * {timing}) AS w FROM risk_e e "
        f"WHERE {predicate} AND {_window(key, 'days')} GROUP BY e.x, e.y"
    )
    return sql, {**binds, f"{key}_days": p["window_days"]}


def transport(key: str, p: Params) -> SqlPart:
    """1 - d/r to the nearest station within r metres (0 beyond)."""
    radius = float(p["radius_m"])
    stations, binds = station_points(key, p)
    points = f"SELECT q.x, q.y, CAST(:{key}_r AS float8) AS r FROM ({stations}) q"
    return (
        f"SELECT z.unit_id, max(1 - z.d / z.r) AS v FROM ({near_units(points, radius / 2, radius)})"
        " z GROUP BY z.unit_id",
        {**binds, f"{key}_r": radius},
    )


def station_points(key: str, p: Params) -> SqlPart:
    """The stations the transport factor measures to: x, y."""
    return (
        "SELECT ST_X(h.geom) AS x, ST_Y(h.geom) AS y FROM transport_hubs h "
        f"WHERE h.kind = ANY(CAST(:{key}_kinds AS text[]))",
        {f"{key}_kinds": list(p["kinds"])},
    )


def vulnerability(key: str, p: Params) -> SqlPart:
    """1 when a visit in the window recorded a vulnerable occupant (presence only)."""
    return (
        "SELECT DISTINCT v.uprn AS unit_id, 1.0::float8 AS v FROM visits v "
        "JOIN risk_u u ON u.unit_id = v.uprn "
        "WHERE (v.visited_on::timestamp AT TIME ZONE 'UTC') < CAST(:as_of AS timestamptz) "
        "AND (v.visited_on::timestamp AT TIME ZONE 'UTC') >= CAST(:as_of AS timestamptz) "
        f"- make_interval(days => CAST(:{key}_days AS int)) "
        f"AND (v.occupant_vulnerable OR v.subject_type = ANY(CAST(:{key}_types AS text[])))",
        {f"{key}_days": p["window_days"], f"{key}_types": list(p["subject_types"])},
    )


def _working(key: str, p: Params) -> tuple[str, dict[str, Any]]:
    """Working measures of the factor's risk_factor at the units or their blocks (risk_m)."""
    return (
        "SELECT m.uprn, m.measure_code FROM risk_m m "
        f"WHERE m.risk_factor = CAST(:{key}_rf AS text)",
        {f"{key}_rf": p["risk_factor"]},
    )


def build_measures(conn: Connection, as_of: datetime, local: bool) -> None:
    """risk_m: the working measures installed before as_of at the units of risk_u or their
    blocks, read once for every protection factor (local: by index, for a few units)."""
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.risk_m"))
    at = (
        "m.uprn = ANY(ARRAY(SELECT unit_id FROM risk_u UNION SELECT block_id FROM risk_u "
        "WHERE block_id IS NOT NULL))"
        if local
        else "(m.uprn IN (SELECT unit_id FROM risk_u) OR m.uprn IN (SELECT block_id FROM risk_u))"
    )
    conn.execute(
        text(
            "CREATE TEMP TABLE risk_m ON COMMIT DROP AS SELECT m.uprn, m.measure_code, "
            "c.risk_factor FROM installed_measures m JOIN measures_catalogue c "
            "ON c.measure_code = m.measure_code WHERE m.status = 'working' "
            f"AND (m.installed_on::timestamp AT TIME ZONE 'UTC') < :as_of AND {at}"
        ),
        {"as_of": as_of},
    )


def door(key: str, p: Params) -> SqlPart:
    """1 - 0.5^n for n distinct working door measures at the dwelling: each helps, less so."""
    working, binds = _working(key, p)
    return (
        "SELECT u.unit_id, 1 - power(0.5, count(DISTINCT w.measure_code)) AS v "
        f"FROM ({working}) w JOIN risk_u u ON u.unit_id = w.uprn GROUP BY u.unit_id",
        binds,
    )


# A camera watching at as_of: installed by then (unknown date: always there) and working now, or
# removed since (a removed camera worked until its removal date). Fault history is not kept.
CAMERA_WORKING_AT_AS_OF = (
    "(s.installed_on IS NULL OR (s.installed_on::timestamp AT TIME ZONE 'UTC') "
    "< CAST(:as_of AS timestamptz)) AND (s.status = 'working' OR (s.status = 'removed' "
    "AND (s.removed_on::timestamp AT TIME ZONE 'UTC') >= CAST(:as_of AS timestamptz)))"
)


def at_dwelling_or_block(key: str, p: Params) -> SqlPart:
    """1 when a working measure is at the dwelling or its block (flats_only: only flats)."""
    working, binds = _working(key, p)
    flats = " WHERE u.block_id IS NOT NULL" if p.get("flats_only") else ""
    sql = " UNION ".join(
        f"SELECT u.unit_id, 1.0::float8 AS v FROM risk_u u JOIN ({working}) w{i} "
        f"ON w{i}.uprn = u.{col}{flats}"
        for i, col in enumerate(("unit_id", "block_id"))
    )
    if p.get("cameras"):
        # or a working camera whose cone (range, bearing +- fov/2) holds the dwelling's point
        cameras = (
            "SELECT ST_X(s.geom) AS x, ST_Y(s.geom) AS y, s.range_m AS r, s.bearing_deg, "
            f"s.fov_deg FROM cctv_sites s WHERE {CAMERA_WORKING_AT_AS_OF}"
        )
        reach = float(p.get("max_range_m", 1000.0))
        sql += (
            f" UNION SELECT z.unit_id, 1.0::float8 FROM ({near_units(cameras, 100.0, reach)}) z "
            "WHERE z.fov_deg >= 360 OR z.d = 0 OR "
            "abs(mod((degrees(atan2(z.ux - z.x, z.uy - z.y)) - z.bearing_deg + 540)::numeric, 360)"
            " - 180) <= z.fov_deg / 2"
        )
    return sql, binds
