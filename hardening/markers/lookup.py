"""The control room's look-up: from a UPRN, a caller's words or a point to everything the
operator needs, in one statement: the address, the SAFE markers in force on it, on its block
(or, for a block, on its flats) and on neighbours within a few metres, the grading advice, the
risk band, and incidents within the near-repeat window. A reason is required; each look-up
writes exactly one consultation row to the audit log.

Radius searches are KNN scans (`ORDER BY geom <-> point LIMIT n`, then a distance filter):
under row-level security the planner will not use the GiST index for ST_DWithin.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Row, text

from hardening import geo
from hardening.addresses.match import match
from hardening.addresses.parse import parse
from hardening.errors import NotFoundError, UserInputError
from hardening.markers.records import require_police, reviews_of
from hardening.markers.settings import MarkerSettings, get_marker_settings
from hardening.markers.street import street_listing
from hardening.security import audit

IN_FORCE: Final = ("active", "review_due")
NEARBY_SCAN: Final = 64  # markers examined, nearest first, for the neighbours' radius

LOOKUP_SQL: Final = text("""
WITH p AS (
    SELECT CASE WHEN CAST(:x AS float8) IS NULL THEN NULL
                ELSE ST_SetSRID(ST_MakePoint(:x, :y), 27700) END AS geom
), t AS (
    SELECT a.uprn, a.parent_uprn, a.full_address, a.property_type, a.area_id, a.geom
    FROM addresses a WHERE a.uprn = CAST(:uprn AS bigint)
    UNION ALL
    SELECT n.* FROM p CROSS JOIN LATERAL (
        SELECT a.uprn, a.parent_uprn, a.full_address, a.property_type, a.area_id, a.geom
        FROM addresses a ORDER BY a.geom <-> p.geom LIMIT 1) n
    WHERE CAST(:uprn AS bigint) IS NULL AND p.geom IS NOT NULL
      AND ST_Distance(n.geom, p.geom) <= :radius
), c AS (
    SELECT coalesce((SELECT geom FROM p), (SELECT geom FROM t)) AS geom
), kin AS (  -- the block it is in, or the flats it holds: one index scan each way
    SELECT k.uprn, k.full_address,
           CASE WHEN k.uprn = t.parent_uprn THEN 'block' ELSE 'flat_in_block' END AS relation
    FROM t JOIN addresses k ON k.uprn = t.parent_uprn OR k.parent_uprn = t.uprn
), family AS (
    SELECT t.uprn, t.full_address, 'address'::text AS relation FROM t
    UNION ALL SELECT * FROM kin
), mine AS (
    SELECT m.*, f.full_address, f.relation, NULL::float8 AS metres
    FROM family f CROSS JOIN LATERAL (
        SELECT marker_id, uprn, scope, reason_category, grading_advice, org_id, created_at,
               review_due, expires_on, status, version, geom
        FROM safe_markers m WHERE m.uprn = f.uprn LIMIT 100) m
), near AS (
    SELECT m.*, (SELECT a.full_address FROM addresses a WHERE a.uprn = m.uprn),
           'nearby'::text AS relation, ST_Distance(m.geom, c.geom) AS metres
    FROM c CROSS JOIN LATERAL (
        SELECT marker_id, uprn, scope, reason_category, grading_advice, org_id, created_at,
               review_due, expires_on, status, version, geom
        FROM safe_markers m WHERE m.status = 'active'
        ORDER BY m.geom <-> c.geom LIMIT :scan) m
    WHERE ST_Distance(m.geom, c.geom) <= :nearby
      AND m.marker_id NOT IN (SELECT marker_id FROM mine)
), shown AS (
    SELECT u.*, marker_state(u.status, u.review_due, u.expires_on, CAST(:on AS date)) AS state
    FROM (SELECT * FROM mine UNION ALL SELECT * FROM near) u
), ev AS (
    SELECT i.incident_id, i.category, i.occurred_at, i.time_precision, i.uprn,
           ST_Distance(i.geom, c.geom) AS metres, i.geom
    FROM c CROSS JOIN LATERAL (
        SELECT incident_id, category, occurred_at, time_precision, uprn, geom FROM incidents i
        WHERE i.occurred_at >= :since AND i.occurred_at <= :until
        ORDER BY i.geom <-> c.geom LIMIT :limit) i
    WHERE ST_Distance(i.geom, c.geom) <= :near_m
)
SELECT
    (SELECT json_build_object(
        'uprn', t.uprn, 'parent_uprn', t.parent_uprn, 'full_address', t.full_address,
        'property_type', t.property_type, 'area_id', t.area_id,
        'block_address', (SELECT k.full_address FROM kin k WHERE k.relation = 'block'),
        'flats', (SELECT count(*) FROM kin k WHERE k.relation = 'flat_in_block'),
        'lon', ST_X(ST_Transform(t.geom, 4326)), 'lat', ST_Y(ST_Transform(t.geom, 4326)))
     FROM t) AS address,
    (SELECT coalesce(json_agg(json_build_object(
        'marker_id', s.marker_id, 'uprn', s.uprn, 'full_address', s.full_address,
        'relation', s.relation, 'metres', round(s.metres::numeric, 1), 'state', s.state,
        'scope', s.scope, 'reason_category', s.reason_category,
        'grading_advice', s.grading_advice, 'org_id', s.org_id, 'created_at', s.created_at,
        'review_due', s.review_due, 'expires_on', s.expires_on, 'version', s.version,
        'lon', ST_X(ST_Transform(s.geom, 4326)), 'lat', ST_Y(ST_Transform(s.geom, 4326)))
        ORDER BY s.state NOT IN ('active', 'review_due'),
                 array_position(ARRAY['address', 'block', 'flat_in_block', 'nearby'], s.relation),
                 array_position(ARRAY['threat_to_life', 'weapons', 'cuckooing', 'drug_supply',
                                      'exploitation', 'vulnerable_occupant', 'other'],
                                s.reason_category),
                 s.metres NULLS FIRST, s.marker_id), '[]')
     FROM shown s) AS markers,
    (SELECT coalesce(json_agg(json_build_object(
        'incident_id', e.incident_id, 'category', e.category, 'occurred_at', e.occurred_at,
        'time_precision', e.time_precision, 'uprn', e.uprn, 'metres', round(e.metres::numeric),
        'lon', ST_X(ST_Transform(e.geom, 4326)), 'lat', ST_Y(ST_Transform(e.geom, 4326)))
        ORDER BY e.occurred_at DESC, e.incident_id), '[]') FROM ev e) AS incidents,
    (SELECT count(*) FROM ev) AS incident_count,
    coalesce(
        (SELECT json_build_object('band', r.band, 'score', r.score,
                                  'model_version', r.model_version, 'basis', 'address')
         FROM t JOIN risk_scores r ON r.uprn = t.uprn
         LEFT JOIN risk_models rm ON rm.model_version = r.model_version
         ORDER BY rm.is_default DESC NULLS LAST, r.computed_at DESC LIMIT 1),
        -- Scoring scores homes, not blocks: a block (where a point or "12 Ramsden Street"
        -- usually lands) takes the band of its highest-scored flat.
        (SELECT json_build_object('band', r.band, 'score', r.score,
                                  'model_version', r.model_version, 'basis', 'highest_flat',
                                  'flat_uprn', r.uprn, 'flat_address', k.full_address)
         FROM kin k JOIN risk_scores r ON r.uprn = k.uprn
         LEFT JOIN risk_models rm ON rm.model_version = r.model_version
         WHERE k.relation = 'flat_in_block'
         ORDER BY rm.is_default DESC NULLS LAST, r.score DESC, r.computed_at DESC LIMIT 1)
    ) AS risk,
    (SELECT ST_X(ST_Transform(c.geom, 4326)) FROM c) AS centre_lon,
    (SELECT ST_Y(ST_Transform(c.geom, 4326)) FROM c) AS centre_lat,
    app_reads_markers() AS allowed
""")


# The statement's parse, row-level security rewrite and plan cost 5-10 ms, its run 2 ms: a plan
# made once per connection (psycopg prepares a statement from its fifth run) serves every
# look-up. PostgreSQL's own choice keeps re-planning it (the branches for a UPRN, a point and
# the time window look cheaper planned for each call), so this transaction asks for the
# generic plan.
GENERIC_PLAN: Final = text("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")


def run_lookup_sql(conn: Connection, params: dict[str, Any]) -> Row[Any]:
    """LOOKUP_SQL's one row, on the connection's prepared generic plan."""
    conn.execute(GENERIC_PLAN)
    return conn.execute(LOOKUP_SQL, params).one()


def _point(
    lon: float | None, lat: float | None, x: float | None, y: float | None
) -> tuple[float, float] | None:
    """The look-up point in BNG, validated (swapped axes, NaN, outside GB are refused)."""
    wgs = lon is not None or lat is not None
    bng = x is not None or y is not None
    if wgs and bng:
        raise UserInputError("give either lon/lat or x/y (British National Grid), not both")
    if wgs:
        if lon is None or lat is None:
            raise UserInputError("give both lon and lat")
        return geo.to_bng(lon, lat)
    if bng:
        if x is None or y is None:
            raise UserInputError("give both x and y")
        geo.check_bng(x, y)
        return x, y
    return None


def _radius(radius_m: float | None, settings: MarkerSettings) -> float:
    radius = settings.nearby_m if radius_m is None else radius_m
    if not math.isfinite(radius) or not 0 < radius <= settings.max_radius_m:
        raise UserInputError(f"radius must be more than 0 and at most {settings.max_radius_m} m")
    return float(radius)


def banner(markers: list[dict[str, Any]], checked: bool = True) -> str:
    """What the operator sees first: a marker here, on the block, nearby, or none; or, when
    what the caller said resolved no single address, not_checked (never "none": a street or
    a name that fits several addresses is not a clear)."""
    if not checked:
        return "not_checked"
    relations = {m["relation"] for m in markers if m["state"] in IN_FORCE}
    if "address" in relations:
        return "marker"
    if relations & {"block", "flat_in_block"}:
        return "block_marker"
    return "nearby_marker" if "nearby" in relations else "none"


def _flag_candidates(conn: Connection, candidates: list[dict[str, Any]], on: date) -> None:
    """Mark each match candidate that (or whose block) carries a marker in force, and give
    its town: an ambiguous answer with a marker on one of its candidates must not look
    harmless, and a name found in two towns must say which is which."""
    if not candidates:
        return
    rows = conn.execute(
        text(
            "SELECT a.uprn, a.town, EXISTS (SELECT 1 FROM safe_markers m "
            "WHERE (m.uprn = a.uprn OR m.uprn = a.parent_uprn) AND marker_state(m.status, "
            "m.review_due, m.expires_on, CAST(:on AS date)) IN ('active', 'review_due')) AS marked "
            "FROM addresses a WHERE a.uprn = ANY(:uprns)"
        ),
        {"uprns": [c["uprn"] for c in candidates], "on": on},
    )
    found = {r.uprn: r for r in rows}
    for candidate in candidates:
        row = found.get(candidate["uprn"])
        candidate["has_marker"] = bool(row and row.marked)
        candidate["town"] = row.town if row else None


def _unresolved(matched: dict[str, Any] | None, street: dict[str, Any] | None) -> dict[str, Any]:
    """What an unresolved look-up showed, for its audit row: the candidates and streets."""
    return {
        "candidates": [c["uprn"] for c in (matched or {}).get("candidates", [])],
        "streets": [[s["street"], s["town"]] for s in (street or {}).get("streets", [])],
    }


def lookup(
    conn: Connection,
    *,
    reason: str | None,
    uprn: int | None = None,
    q: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    x: float | None = None,
    y: float | None = None,
    radius_m: float | None = None,
    history: bool = False,
    on: date | None = None,
    now: datetime | None = None,
    settings: MarkerSettings | None = None,
) -> dict[str, Any]:
    """Look up by UPRN, by free text (matched) or by point; audited as one consultation."""
    why = audit.reason_for(conn, reason)
    settings = settings or get_marker_settings()
    point = _point(lon, lat, x, y)
    given = [name for name, v in (("uprn", uprn), ("q", q), ("point", point)) if v is not None]
    if len(given) != 1:
        raise UserInputError("give exactly one of a UPRN, an address text (q) or a point")
    if uprn is not None and uprn <= 0:
        raise UserInputError("a UPRN is a positive number")
    radius = _radius(radius_m, settings)
    if q is not None:
        require_police(conn)  # before matching; a look-up by UPRN or point asks in its statement
    on = on or date.today()
    now = now or datetime.now(UTC)
    query: dict[str, Any] = {"by": "uprn" if uprn is not None else "text" if q else "point"}
    matched: dict[str, Any] | None = None
    street: dict[str, Any] | None = None
    checked = True
    if q is not None:
        result = match(conn, q)
        matched = result.as_dict()
        _flag_candidates(conn, matched["candidates"], on)
        query["text"] = result.query
        # Only a matched address is looked up: the best of several that fit is not checked.
        checked = result.status == "matched"
        uprn = result.uprn if checked else None
        if uprn is None:
            query["uprn"] = None
        # Nothing fits, or no number was said ("Carlton Lane", "Rose Cottage"): list the street.
        if not checked and (not result.candidates or not parse(result.query).all_numbers):
            street = street_listing(conn, result.query, on)
    if point is not None:
        query.update({"x": round(point[0], 1), "y": round(point[1], 1), "radius_m": radius})
    row = run_lookup_sql(
        conn,
        {
            "uprn": uprn,
            "x": point[0] if point else None,
            "y": point[1] if point else None,
            "radius": radius,
            "nearby": radius if point else settings.nearby_m,
            "scan": NEARBY_SCAN,
            "on": on,
            "since": now - timedelta(days=settings.near_repeat_days),
            "until": now,
            "limit": settings.max_incidents,
            "near_m": settings.near_repeat_m,
        },
    )
    if not row.allowed:
        require_police(conn)  # raises, with the reason
    address = row.address
    if uprn is not None and q is None and address is None:
        raise NotFoundError(f"no address with UPRN {uprn}")
    if address is not None:
        query.setdefault("uprn", address["uprn"])
    markers: list[dict[str, Any]] = row.markers
    in_force = [m for m in markers if m["state"] in IN_FORCE]
    advice: list[str] = []
    for m in in_force:
        if m["grading_advice"] not in advice:
            advice.append(m["grading_advice"])
    categories: dict[str, int] = {}
    for event in row.incidents:
        categories[event["category"]] = categories.get(event["category"], 0) + 1
    answer: dict[str, Any] = {
        "query": query,
        "match": matched,
        "address": address,
        "status": banner(markers, checked),
        "markers": in_force,
        "inactive_markers": [
            {k: m[k] for k in ("marker_id", "uprn", "relation", "state", "reason_category")}
            for m in markers
            if m["state"] not in IN_FORCE
        ],
        "grading_advice": advice,
        "risk": row.risk,
        "incidents": {
            "radius_m": settings.near_repeat_m,
            "days": settings.near_repeat_days,
            "since": now - timedelta(days=settings.near_repeat_days),
            "count": row.incident_count,
            "truncated": row.incident_count >= settings.max_incidents,
            "by_category": categories,
            "items": row.incidents,
        },
        "centre": None
        if row.centre_lon is None
        else {"lon": row.centre_lon, "lat": row.centre_lat},
        "street": street,
    }
    if history:
        reviews = reviews_of(conn, [m["marker_id"] for m in in_force])
        answer["reviews"] = {str(k): [r.as_dict() for r in v] for k, v in reviews.items()}
    audit.record(
        conn,
        "consultation",
        "lookup",
        query.get("uprn"),
        why,
        details={
            "by": query["by"],
            "status": answer["status"],
            "marker_ids": [m["marker_id"] for m in in_force],
            **({} if checked else _unresolved(matched, street)),
        },
    )
    return answer
