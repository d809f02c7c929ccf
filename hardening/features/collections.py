"""The one registry of collections: each entry holds its source and geometry, its fields per
audience, key and `tile_key`, audit setting and `may_read`, and, for a point layer, how it is
drawn as a vector tile. OGC items, exports, `/v1/tiles` (`hardening.tiles.layers`) and the
camera layers of `/v1/layers` and the map (`hardening.layers`) all read from these entries.

A collection is listed for an actor when the actor may read from it, decided by `may_read`: a
call of the named predicate the table's row-level security policy calls
(sql/029_access_predicates.sql), evaluated in the actor's transaction, not by trying a
`SELECT ... LIMIT 1`, since an empty answer would be indistinguishable from a forbidden one.
Rows are then filtered by the policies themselves.

Properties are chosen per audience: work orders leave out `escalation_reason` (it can name a
SAFE marker's reason, which housing staff must not see) and markers leave out the visit and the
author. A marker read is personal data, so it needs a reason and is audited like the markers
service's listings; so is a read of work orders, which puts addresses beside `escalated_at` (an
alert, a marker or a cuckooing or threat-to-life incident, stands there) and leaves the service
as a file or a page of GeoJSON.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError
from hardening.features.source import Field, TableCollection, TileSpec
from hardening.geo import GB_LAT, GB_LON
from hardening.tiles.grid import CLUSTER_ZOOM

_LIVE_SITE = "working, faulty or planned"
_FAULTY = Field(
    "faulty", "count(*) FILTER (WHERE t.status = 'faulty')", "int", "cluster: how many are faulty"
)
_SITE_COMMON = (
    Field("site_id", "t.site_id", "int", "id"),
    Field("source", "t.source"),
    Field("source_ref", "t.source_ref"),
    Field("name", "t.name", description="name"),
    Field("owner_org_id", "t.owner_org_id"),
    Field("installed_on", "t.installed_on", "date"),
    Field("removed_on", "t.removed_on", "date"),
)

CCTV = TableCollection(
    id="cctv-sites",
    title="CCTV sites",
    description="CCTV cameras in service, planned or faulty (not removed), with bearing, field "
    "of view and range. No personal data.",
    geometry_type="Point",
    may_read="app_reads_sites()",
    source="cctv_sites t",
    key="t.site_id",
    geom="t.geom",
    tile_key="t.tile_key",
    where="t.status <> 'removed'",
    fields=(
        *_SITE_COMMON,
        Field("bearing_deg", "t.bearing_deg", "float", "direction the camera faces"),
        Field("fov_deg", "t.fov_deg", "float", "field of view"),
        Field("range_m", "t.range_m", "float", "range, metres"),
        Field("status", "t.status", description=_LIVE_SITE),
        Field("area_id", "t.area_id"),
    ),
    tile=TileSpec(
        layer="cctv",
        title="CCTV sites",
        description="Camera sites that are not removed; gathered per grid square below zoom "
        f"{CLUSTER_ZOOM}.",
        kind="site",
        fields=("site_id", "name", "status", "bearing_deg", "fov_deg", "range_m"),
        cluster=_FAULTY,
    ),
)

ANPR = TableCollection(
    id="anpr-sites",
    title="ANPR sites",
    description="ANPR cameras in service, planned or faulty (not removed). No personal data.",
    geometry_type="Point",
    may_read="app_reads_sites()",
    source="anpr_sites t",
    key="t.site_id",
    geom="t.geom",
    tile_key="t.tile_key",
    where="t.status <> 'removed'",
    fields=(
        *_SITE_COMMON,
        Field("road_name", "t.road_name", description="road"),
        Field("direction", "t.direction", description="direction of traffic read"),
        Field("status", "t.status", description=_LIVE_SITE),
        Field("area_id", "t.area_id"),
    ),
    tile=TileSpec(
        layer="anpr",
        title="ANPR sites",
        description="Number-plate camera sites that are not removed; gathered per grid square "
        f"below zoom {CLUSTER_ZOOM}.",
        kind="site",
        fields=("site_id", "name", "road_name", "direction", "status"),
        cluster=_FAULTY,
    ),
)

WORK_ORDERS = TableCollection(
    id="work-orders",
    title="Security work orders",
    description="Target-hardening work orders at their address: a housing provider sees its "
    "own only; police analysts and admins those in their areas. Personal data (an escalation "
    "says an alert stands at the address): every read needs a reason (`reason` parameter or "
    "`X-Reason` header) and is written to the audit log.",
    geometry_type="Point",
    may_read="app_reads_works()",
    source="work_orders t LEFT JOIN addresses a ON a.uprn = t.uprn",
    key="t.work_order_id",
    geom="t.geom",  # the address's point, copied by the database (sql/012)
    tile_key="t.tile_key",
    audit_object="work_order",
    fields=(
        Field("work_order_id", "t.work_order_id", "int", "id"),
        Field("provider_org_id", "t.provider_org_id"),
        Field("uprn", "t.uprn", "int", "address"),
        Field("full_address", "a.full_address"),
        Field("measure_code", "t.measure_code", description="what is fitted"),
        Field("priority", "t.priority", description="emergency, urgent, routine or planned"),
        Field("status", "t.status", description="requested .. completed"),
        Field("created_at", "t.created_at", "datetime"),  # with due_at: the SLA clock
        Field("due_at", "t.due_at", "datetime"),
        Field("scheduled_start", "t.scheduled_start", "datetime"),
        Field("scheduled_end", "t.scheduled_end", "datetime"),
        Field("completed_at", "t.completed_at", "datetime"),
        Field("escalated_at", "t.escalated_at", "datetime"),
        Field("area_id", "t.area_id"),
    ),
    tile=TileSpec(
        layer="works",
        title="Security works",
        description="Work orders (not cancelled) at their address: a housing provider's own; "
        "police analysts and admins read their areas'. Gathered per grid square below zoom "
        f"{CLUSTER_ZOOM}.",
        kind="work_order",
        fields=(
            "work_order_id",
            "uprn",
            "measure_code",
            "priority",
            "status",
            Field("due_on", "(t.due_at AT TIME ZONE 'UTC')::date::text", description="date due"),
        ),
        cluster=Field(
            "urgent",
            "count(*) FILTER (WHERE t.priority IN ('emergency', 'urgent'))",
            "int",
            "cluster: how many are emergency or urgent",
        ),
        where="t.status <> 'cancelled'",
        audited=False,  # a tile names no address and no escalation
    ),
)

_MARKER_STATE = "marker_state(t.status, t.review_due, t.expires_on, current_date)"
SAFE_MARKERS = TableCollection(
    id="safe-markers",
    title="SAFE markers in force",
    description="SAFE alert markers in force (active or due for review, not expired) with "
    "their grading advice, for the control room. Personal data: every read needs a reason "
    "(`reason` parameter or `X-Reason` header) and is written to the audit log.",
    geometry_type="Point",
    may_read="app_reads_markers()",
    source="safe_markers t LEFT JOIN addresses a ON a.uprn = t.uprn",
    key="t.marker_id",
    geom="t.geom",
    tile_key="t.tile_key",
    where="t.status = 'active' AND (t.expires_on IS NULL OR t.expires_on > current_date)",
    audit_object="safe_marker",
    fields=(
        Field("marker_id", "t.marker_id", "int", "id"),
        Field("uprn", "t.uprn", "int", "address marked"),
        Field("full_address", "a.full_address"),
        Field("scope", "t.scope", description="address or block"),
        Field("reason_category", "t.reason_category", description="why the marker exists"),
        Field("grading_advice", "t.grading_advice"),
        Field("state", _MARKER_STATE, description="active or review_due"),
        Field("org_id", "t.org_id"),
        Field("created_at", "t.created_at", "datetime"),
        Field("review_due", "t.review_due", "date"),
        Field("expires_on", "t.expires_on", "date"),
        Field("area_id", "t.area_id"),
    ),
    tile=TileSpec(
        layer="markers",
        title="SAFE markers",
        description="Active SAFE alert markers the actor may see (police roles with the markers "
        f"class, in their areas), gathered per grid square below zoom {CLUSTER_ZOOM}. Every "
        "tile needs a reason and is recorded in the audit log.",
        kind="marker",
        fields=(
            "marker_id",
            "uprn",
            "scope",
            "reason_category",
            "state",
            Field("review_due", "t.review_due::text", description="date of the next review"),
        ),
        cluster=Field(
            "due_for_review",
            f"count(*) FILTER (WHERE {_MARKER_STATE} = 'review_due')",
            "int",
            "cluster: how many are due for review",
        ),
    ),
)

VISITS = TableCollection(
    id="visits",
    title="Vulnerability visits",
    description="Vulnerability visits at their address: when, to whom (the kind of person, "
    "never the subject's reference), whether a calling card was left and the review date. "
    "Police roles with `visits` in their areas. Personal data: every read needs a reason "
    "(`reason` parameter or `X-Reason` header) and is written to the audit log.",
    geometry_type="Point",
    may_read="app_reads_visits()",
    source="visits t JOIN addresses a ON a.uprn = t.uprn",
    key="t.visit_id",
    geom="a.geom",
    tile_key="a.tile_key",
    audit_object="visit",
    fields=(
        Field("visit_id", "t.visit_id", "int"),
        Field("uprn", "t.uprn", "int"),
        Field("full_address", "a.full_address"),
        Field("visited_on", "t.visited_on", "date"),
        Field("subject_type", "t.subject_type"),
        Field("occupant_vulnerable", "CASE WHEN t.occupant_vulnerable THEN 'yes' ELSE 'no' END"),
        Field("calling_card", "CASE WHEN t.calling_card THEN 'yes' ELSE 'no' END"),
        Field("review_due", "t.review_due", "date"),
        Field("area_id", "t.area_id"),
    ),
)

# The risk grid's published form: risk_squares (sql/034, the one risk grid, shared with the
# tiles and the Risk page) from the pre-counted squares of the actor's areas, disclosure
# controlled in SQL (under 10 withheld, the rest rounded to 5). A square is always counted
# whole, whatever part of it a bbox covers, so moving a bbox edge cannot single out the homes on
# one side of it: a square's value is the same in every request. No totals are published
# (numberMatched counts squares), so publish_grid's secondary suppression has nothing to protect.
CELL_M: Final = 250
RISK_CELLS = TableCollection(
    id="risk-cells",
    title="Risk cells (aggregated)",
    description=f"Dwellings scored and dwellings in the high or very high cuckooing-risk band "
    f"per {CELL_M} m square of the British National Grid, from the default risk model. "
    "Disclosure controlled: squares under 10 dwellings are left out, counts under 10 are "
    "withheld (null) and the rest rounded to the nearest 5.",
    geometry_type="Polygon",
    may_read="risk_grid_allowed()",
    source=f"risk_squares({CELL_M}, published => true) t",
    key="(t.iy * 10000 + t.ix)",  # squares in rows, south to north (ix < 2,800)
    fid="(t.ix || '-' || t.iy)",
    geom=f"ST_MakeEnvelope(t.ix * {CELL_M}, t.iy * {CELL_M}, (t.ix + 1) * {CELL_M}, "
    f"(t.iy + 1) * {CELL_M}, 27700)",
    fields=(
        Field("cell_id", "(t.ix || '-' || t.iy)"),
        Field("cell_m", str(CELL_M), "int"),
        Field("ix", "t.ix", "int"),
        Field("iy", "t.iy", "int"),
        Field("dwellings", "t.dwellings", "int"),
        Field("high", "t.high", "int"),
        Field("high_share", "round(t.high::numeric / t.dwellings, 3)::float8", "float"),
    ),
)

REGISTRY: Final[dict[str, TableCollection]] = {
    c.id: c for c in (CCTV, ANPR, WORK_ORDERS, SAFE_MARKERS, VISITS, RISK_CELLS)
}


def readable(conn: Connection) -> list[TableCollection]:
    """The collections the transaction's actor may read, in registry order (one query)."""
    sources = list(REGISTRY.values())
    checks = ", ".join(f"({s.may_read}) AS c{i}" for i, s in enumerate(sources))
    row = conn.execute(text(f"SELECT {checks}")).one()
    return [s for s, ok in zip(sources, row, strict=True) if ok]


def readable_one(conn: Connection, collection_id: str) -> TableCollection:
    """The collection if the actor may read it; 404 alike for unknown and not allowed."""
    source = REGISTRY.get(collection_id)
    if source is None or not conn.execute(text(f"SELECT {source.may_read}")).scalar_one():
        known = ", ".join(s.id for s in readable(conn)) or "none"
        raise NotFoundError(f"no collection {collection_id!r} you may read (yours: {known})")
    return source


def extent(conn: Connection) -> list[float]:
    """The actor's agreement areas, in lon/lat (all areas for the system; GB without any)."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Extent(ST_Transform(ST_Segmentize(ST_Envelope(geom), 1000), 4326)) AS e "
            "FROM areas WHERE app_is_system() OR area_id = ANY(app_areas())) s"
        )
    ).one()
    if row[0] is None:
        return [GB_LON[0], GB_LAT[0], GB_LON[1], GB_LAT[1]]
    return [round(float(v), 6) for v in row]
