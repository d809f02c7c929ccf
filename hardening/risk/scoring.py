"""Scoring runs: build the work tables, find absent factors, compute every factor set-based,
and write scores (and their factor contributions) in one statement per run.

Every stored score names its model version and the time it was computed; the run (risk_runs)
records the as-of time and the factors whose data was absent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from hardening.known import require_area
from hardening.risk import factors as fx
from hardening.risk.events import Selector
from hardening.risk.model import LOGIT_CLAMP, Model, load
from hardening.risk.worktables import (
    SMALL,
    EventSpan,
    Units,
    UnitScope,
    build_events,
    build_units,
    local_event_ids,
)

NOT_APPLICABLE = "does not apply to {units}"
AREAS = "CAST(:areas AS text[])"


@dataclass(frozen=True)
class Scope:
    area: str | None  # None: every area


@dataclass
class RunResult:
    run_id: int
    model_version: str
    units: Units
    mode: str
    area_id: str | None
    as_of: datetime
    computed_at: datetime
    scored: int
    absent: dict[str, str]
    bands: dict[str, int]
    seconds: float
    cause: dict[str, Any] = field(default_factory=dict)
    note: str | None = None  # why nothing was scored, when nothing was

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model_version": self.model_version,
            "units": self.units,
            "mode": self.mode,
            "area_id": self.area_id,
            "as_of": self.as_of,
            "computed_at": self.computed_at,
            "scored": self.scored,
            "bands": self.bands,
            "absent_factors": self.absent,
            "seconds": round(self.seconds, 3),
            "cause": self.cause,
            "note": self.note,
        }


def utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_area(conn: Connection, area_id: str | None) -> None:
    require_area(conn, area_id)


def absent_factors(
    conn: Connection, model: Model, units: Units, params: Mapping[str, fx.Params], as_of: datetime
) -> dict[str, str]:
    """Factors of the model that cannot contribute here, with the reason: not applicable to
    the units, or no data for them: no events of theirs in their window near the units, no
    station within reach, no IMD decile, no visits / measures / cameras recorded in the units'
    areas (needs risk_u and risk_e)."""
    absent = {
        n: NOT_APPLICABLE.format(units=units)
        for n in fx.NAMES
        if model.coefficient(n) != 0.0 and not fx.BY_NAME[n].applies_to(units)
    }
    checks: list[str] = []
    names: list[str] = []
    areas = conn.execute(
        text("SELECT array_agg(DISTINCT area_id) FROM risk_u WHERE area_id IS NOT NULL")
    ).scalar_one()
    binds: dict[str, Any] = {"as_of": as_of, "areas": list(areas or [])}
    for i, (name, p) in enumerate(params.items()):
        factor = fx.BY_NAME[name]
        key = f"a{i}"
        if factor.source == "events":
            predicate, part = Selector.parse(p["events"]).sql(key)
            binds.update(part | {f"{key}_days": p["window_days"]})
            checks.append(
                f"EXISTS (SELECT 1 FROM risk_e e WHERE {predicate} AND e.occurred_at < "
                f"CAST(:as_of AS timestamptz) AND e.occurred_at >= CAST(:as_of AS timestamptz) "
                f"- make_interval(days => CAST(:{key}_days AS int)))"
            )
        elif factor.source == "transport_hubs":
            binds |= {f"{key}_k": list(p["kinds"]), f"{key}_r": float(p["radius_m"])}
            checks.append(
                f"EXISTS (SELECT 1 FROM transport_hubs WHERE kind = ANY(CAST(:{key}_k AS text[])) "
                f"AND geom && (SELECT ST_Expand(ST_Extent(geom)::geometry, :{key}_r) FROM risk_u))"
            )
        elif factor.source == "imd":
            checks.append("EXISTS (SELECT 1 FROM risk_u WHERE imd_decile IS NOT NULL)")
        elif factor.source == "visits":
            binds[f"{key}_days"] = p["window_days"]
            checks.append(
                f"EXISTS (SELECT 1 FROM visits v WHERE v.area_id = ANY({AREAS}) AND "
                "(v.visited_on::timestamp AT TIME ZONE 'UTC') < CAST(:as_of AS timestamptz) AND "
                "(v.visited_on::timestamp AT TIME ZONE 'UTC') >= CAST(:as_of AS timestamptz) - "
                f"make_interval(days => CAST(:{key}_days AS int)))"
            )
        elif factor.source == "tenure":
            checks.append("EXISTS (SELECT 1 FROM risk_u WHERE tenure IS DISTINCT FROM 'unknown')")
        elif factor.source in ("measures", "measures_or_cameras"):
            check = f"EXISTS (SELECT 1 FROM installed_measures WHERE area_id = ANY({AREAS}))"
            if factor.source == "measures_or_cameras":
                check += f" OR EXISTS (SELECT 1 FROM cctv_sites WHERE area_id = ANY({AREAS}))"
            checks.append(check)
        else:
            continue
        names.append(name)
    if checks:
        row = conn.execute(text("SELECT " + ", ".join(f"({c})" for c in checks)), binds).one()
        absent |= {n: "no data in its window" for n, ok in zip(names, row, strict=True) if not ok}
    return absent


def lock(conn: Connection, model_version: str) -> None:
    """One writer of a model's scores at a time (full and incremental runs queue)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(727004, hashtext(:m))"), {"m": model_version})


def tune(conn: Connection) -> None:
    """Planner settings for this transaction only (JIT is off database-wide, see
    `ensure_database`): the grid joins are hash joins (a merge join re-sorts the units every
    time); hash tables and aggregates stay in memory."""
    conn.execute(text("SET LOCAL enable_mergejoin = off"))
    conn.execute(text("SET LOCAL work_mem = '256MB'"))


def prepare(
    conn: Connection,
    model: Model,
    scope: UnitScope,
    as_of: datetime,
    data_start: datetime | None = None,
    local: bool = False,
) -> tuple[int, dict[str, str], dict[str, dict[str, Any]]]:
    """Work tables and factor values (risk_fv) for the scope: (units, absent, params).
    local: few units (incremental), so events are found around them by index."""
    params = model.params(scope.units)
    tune(conn)
    n = build_units(conn, scope)
    start = as_of - timedelta(days=fx.lookback_days(params))
    if data_start is not None:
        start = max(start, data_start)
    reach = fx.reach_m(params)
    ids = local_event_ids(conn, reach) if local else None
    build_events(conn, "risk_e", scope.units, EventSpan(end=as_of, start=start), reach, ids)
    absent = absent_factors(conn, model, scope.units, params, as_of)
    fx.compute(conn, params, as_of, skip=list(absent), local=local)
    return n, absent, params


def write(
    conn: Connection,
    model: Model,
    units: Units,
    used: Sequence[str],
    computed_at: datetime,
    upsert: bool = True,
    store: bool = True,
    full: Scope | None = None,
) -> dict[str, int]:
    """Write scores (and contributions) of every unit in risk_fv; returns counts per band.
    upsert=False is for full runs, which clear the scope first (a plain INSERT is faster);
    store=False writes nothing and only counts; full: the scope of a full run of addresses,
    whose map squares `score` counts again at its end when it inserts many scores.

    Contributions are rounded to 6 decimals and the logit is their sum plus the intercept, so
    a stored explanation adds up to its score."""
    binds: dict[str, Any] = {
        "m": model.version,
        "b0": model.intercept,
        "at": computed_at,
        "med": model.bands[0],
        "high": model.bands[1],
        "vhigh": model.bands[2],
        "clamp": LOGIT_CLAMP,
    }
    terms = []
    for name in used:
        binds[f"b_{name}"] = model.coefficient(name)
        terms.append(f"round(CAST(:b_{name} AS float8) * fv.{name} * 1e6) / 1e6 AS {name}")
    logit = " + ".join(["CAST(:b0 AS float8)", *used])
    # JSON text from the non-zero terms (concat_ws skips NULLs): cheaper than jsonb_build_object
    parts = ", ".join(f"""CASE WHEN s.{n} <> 0 THEN '"{n}":' || s.{n} END""" for n in used)
    contributions = f"CAST('{{' || concat_ws(',', {parts}) || '}}' AS jsonb)" if used else "'{}'"
    band = (
        "CASE WHEN s.score >= :vhigh THEN 'very_high' WHEN s.score >= :high THEN 'high' "
        "WHEN s.score >= :med THEN 'medium' ELSE 'low' END"
    )
    head = (
        "WITH c AS (SELECT fv.unit_id, fv.area_id"
        + "".join(f", {t}" for t in terms)
        + " FROM risk_fv fv), "
        f"s AS MATERIALIZED (SELECT c.*, 100.0 / (1 + exp(-greatest(least({logit}, :clamp), "
        "-:clamp))) AS score FROM c)"
    )
    if units == "addresses" and store:
        return _write_addresses(conn, head, band, contributions, upsert, binds, full)
    if not store:
        body = " "
    else:
        body = (
            ", ins AS (INSERT INTO risk_postcode_scores (postcode, model_version, score, band, "
            f"contributions, computed_at, area_id) SELECT pc, :m, s.score, {band}, "
            f"{contributions}, :at, s.area_id FROM s JOIN risk_u u ON u.unit_id = s.unit_id "
            "CROSS JOIN unnest(u.postcodes) AS pc "
            + (
                "ON CONFLICT (postcode, model_version) DO UPDATE SET score = EXCLUDED.score, "
                "band = EXCLUDED.band, contributions = EXCLUDED.contributions, "
                "computed_at = EXCLUDED.computed_at, area_id = EXCLUDED.area_id"
                if upsert
                else ""
            )
            + ") "
        )
    rows = conn.execute(text(head + body + f"SELECT {band}, count(*) FROM s GROUP BY 1"), binds)
    return {str(b): int(n) for b, n in rows}


def _write_addresses(
    conn: Connection,
    head: str,
    band: str,
    contributions: str,
    upsert: bool,
    binds: dict[str, Any],
    full: Scope | None = None,
) -> dict[str, int]:
    """Scores and explanations of addresses from one work table (risk_s, in key order, so new
    keys land at the primary keys' right edge): each row's score, band and JSON computed once.

    Every score is written (its computed_at names this run), an explanation only when it
    changed: a re-score of unchanged data rewrites no explanation, and the statement-level
    checks of 027 see no rows."""
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.risk_s"))
    conn.execute(
        text(
            f"CREATE TEMP TABLE risk_s ON COMMIT DROP AS {head} SELECT s.unit_id, s.area_id, "
            f"s.score, {band} AS band, {contributions} AS contributions FROM s ORDER BY s.unit_id"
        ),
        binds,
    )
    bands = {
        str(b): int(n)
        for b, n in conn.execute(text("SELECT band, count(*) FROM risk_s GROUP BY 1"))
    }
    if sum(bands.values()) > SMALL:
        # hash joins: the scores' statistics may be an empty table's (all deleted since), and
        # a nested loop planned on them re-reads the whole table for every row
        conn.execute(text("SET LOCAL enable_nestloop = off"))
    # An update then an insert of the missing keys, not ON CONFLICT: that locks every existing
    # row it meets, even one it leaves as it was. Writers of the model queue on `lock`.
    key = "t.uprn = s.unit_id AND t.model_version = :m"
    missing = f"WHERE NOT EXISTS (SELECT 1 FROM {{table}} t WHERE {key})"
    updated = 0
    if upsert:
        updated = conn.execute(
            text(
                "UPDATE risk_scores t SET score = s.score, band = s.band, computed_at = :at, "
                f"area_id = s.area_id FROM risk_s s WHERE {key}"
            ),
            binds,
        ).rowcount
        conn.execute(
            text(
                "UPDATE risk_explanations t SET contributions = s.contributions, "
                f"area_id = s.area_id FROM risk_s s WHERE {key} AND (t.contributions, t.area_id) "
                "IS DISTINCT FROM (s.contributions, s.area_id)"
            ),
            binds,
        )
    if full is not None and sum(bands.values()) - updated > SMALL:
        # Many new scores (a first run): their map squares are counted once at the end of the
        # run (risk_cells_rebuild, 033), not rolled up and upserted by risk_cells_track here.
        # A re-score's updates stay with the trigger: it nets unchanged scores out cheaply.
        conn.execute(text("SELECT risk_cells_defer(:m, :a)"), {"m": binds["m"], "a": full.area})
    if not upsert or updated < sum(bands.values()):  # else every score was there (a re-score)
        conn.execute(
            text(
                "INSERT INTO risk_scores (uprn, model_version, score, band, computed_at, area_id) "
                "SELECT s.unit_id, :m, s.score, s.band, :at, s.area_id FROM risk_s s "
                + (missing.format(table="risk_scores") if upsert else "")
            ),
            binds,
        )
    conn.execute(
        text(
            "INSERT INTO risk_explanations (uprn, model_version, contributions, area_id) "
            "SELECT s.unit_id, :m, s.contributions, s.area_id FROM risk_s s "
            + (missing.format(table="risk_explanations") if upsert else "")
        ),
        binds,
    )
    return bands


def record_run(conn: Connection, result: RunResult) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO risk_runs (model_version, units, mode, area_id, as_of, computed_at, "
                "cause, scored, absent_factors, seconds) VALUES (:m, :u, :mode, :a, :as_of, :at, "
                "CAST(:cause AS jsonb), :n, :absent, :s) RETURNING run_id"
            ),
            {
                "m": result.model_version,
                "u": result.units,
                "mode": result.mode,
                "a": result.area_id,
                "as_of": result.as_of,
                "at": result.computed_at,
                "cause": json.dumps(result.cause),
                "n": result.scored,
                "absent": sorted(result.absent),
                "s": result.seconds,
            },
        ).scalar_one()
    )


def score(
    conn: Connection,
    units: Units = "addresses",
    area_id: str | None = None,
    as_of: datetime | None = None,
    model_version: str | None = None,
) -> RunResult:
    """Score every unit of the scope (replacing the model's earlier scores there)."""
    started = time.perf_counter()
    check_area(conn, area_id)
    model = load(conn, model_version)
    lock(conn, model.version)
    moment = utc(as_of)
    computed_at = datetime.now(UTC)
    n, absent, params = prepare(conn, model, UnitScope(units, area_id), moment)
    used = [name for name in params if name not in absent]
    scope = {"m": model.version, "a": area_id}
    if units == "addresses":
        # Scores are replaced in place: an unchanged score moves no map cell (risk_cells_track
        # nets old and new rows), and nothing is deleted twice. Then the scope's scores of
        # dwellings no longer scored go (their explanations with them, 027).
        bands = write(conn, model, units, used, computed_at, full=Scope(area_id))
        # Every score this run wrote names its computed_at (writers of a model queue on
        # `lock`), so the others in scope are the dwellings no longer scored: no anti-join
        conn.execute(
            text(
                "DELETE FROM risk_scores WHERE model_version = :m "
                "AND (CAST(:a AS text) IS NULL OR area_id = :a) "
                "AND computed_at IS DISTINCT FROM :at"
            ),
            scope | {"at": computed_at},
        )
        conn.execute(text("SELECT risk_cells_rebuild()"))  # what write deferred, if anything
    else:
        conn.execute(
            text(
                "DELETE FROM risk_postcode_scores WHERE model_version = :m "
                "AND (CAST(:a AS text) IS NULL OR area_id = :a)"
            ),
            scope,
        )
        bands = write(conn, model, units, used, computed_at, upsert=False)
    result = RunResult(
        0, model.version, units, "full", area_id, moment, computed_at, n, absent, bands, 0.0
    )
    if n == 0:
        result.note = nothing_to_score(conn, units, area_id)
    result.seconds = time.perf_counter() - started
    result.run_id = record_run(conn, result)
    return result


def nothing_to_score(conn: Connection, units: Units, area_id: str | None) -> str:
    """Why a run found no unit to score: nothing loaded, nothing placed in an area, or nothing
    in the area asked for (the factors are then all "absent" for want of units, not of data)."""
    if units == "postcodes":
        noun, table, load_hint = "postcode unit", "postcode_units", "hardening import postcodes"
    else:
        noun, table, load_hint = "address", "addresses", "hardening import addresses"
    loaded, placed, here = conn.execute(
        text(f"SELECT count(*), count(area_id), count(*) FILTER (WHERE area_id = :a) FROM {table}"),
        {"a": area_id},
    ).one()
    if not loaded:
        return f"no {noun} is loaded ({load_hint}, or hardening sample load)"
    areas = "import areas (hardening import lsoa, or hardening area add) and they are placed"
    if not placed:
        return f"no {noun} has an area ({loaded:,} loaded before any area): {areas}"
    if area_id is not None and not here:
        return (
            f"no {noun} lies in area {area_id} ({placed:,} in other areas, "
            f"{loaded - placed:,} in none)"
        )
    return f"no {noun} in scope is a dwelling (blocks and commercial premises are not scored)"


def bands_as_of(
    conn: Connection, area_id: str | None, as_of: datetime, model_version: str | None = None
) -> dict[str, int]:
    """Addresses per band as the model scores them as of a moment, writing nothing: the work
    tables live in a savepoint that is rolled back."""
    check_area(conn, area_id)
    model = load(conn, model_version, store=False)
    savepoint = conn.begin_nested()
    try:
        _, absent, params = prepare(conn, model, UnitScope("addresses", area_id), utc(as_of))
        used = [name for name in params if name not in absent]
        return write(conn, model, "addresses", used, datetime.now(UTC), store=False)
    finally:
        savepoint.rollback()


def latest_run(
    conn: Connection, model_version: str, units: Units, mode: str | None = "full"
) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            "SELECT run_id, as_of, computed_at, absent_factors, area_id FROM risk_runs "
            "WHERE model_version = :m AND units = :u AND (CAST(:mode AS text) IS NULL "
            "OR mode = :mode) ORDER BY computed_at DESC, run_id DESC LIMIT 1"
        ),
        {"m": model_version, "u": units, "mode": mode},
    ).first()
    return dict(row._mapping) if row else None
