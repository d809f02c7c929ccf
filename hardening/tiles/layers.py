"""The tile layers: what each one holds at which zoom, for whom, and the one SQL statement that
builds its Mapbox Vector Tile with ST_AsMVTGeom / ST_AsMVT.

Every statement runs as the actor, so row-level security decides which rows a point layer
holds. Aggregated layers read the pre-counted squares of sql/012_tiles.sql through SECURITY
DEFINER functions that publish only disclosure-controlled counts. Below CLUSTER_ZOOM the other
point layers gather their points per grid square (one point at the members' mean position,
with how many), so a county's markers at zoom 10 are a few hundred features, not thousands.
A statement returns the tile and how many objects it holds (a cluster counts its members).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sqlalchemy import Connection, text

from hardening.tiles.grid import CLUSTER_ZOOM, POINT_ZOOM, BngBox, TileId
from hardening.tiles.keys import key_ranges

EXTENT: Final = 4096
BUFFER: Final = 64  # tile units drawn beyond the edge, so symbols are not cut at tile seams
POLICE: Final = frozenset({"control_room", "visit_team", "analyst", "admin"})
Shape = Literal["cells", "points", "clusters"]
CLUSTERED: Final = frozenset({"cctv", "anpr", "markers", "works"})  # gathered below CLUSTER_ZOOM
# Properties of a cluster (below CLUSTER_ZOOM, the point layers other than addresses and risk).
CLUSTER_FIELDS: Final = {
    "kind": f"'cluster' below zoom {CLUSTER_ZOOM}; from zoom {CLUSTER_ZOOM} one feature per object",
    "count": "cluster: how many objects it gathers",
    "cell_m": "cluster: side of the grid square it gathers, metres",
}


@dataclass(frozen=True)
class LayerInfo:
    name: str
    title: str
    description: str
    fields: dict[str, str]  # property -> description (TileJSON vector_layers)
    needs_reason: bool = False


LAYERS: Final = {
    info.name: info
    for info in (
        LayerInfo(
            "addresses",
            "Addresses",
            f"Below zoom {POINT_ZOOM}, and for anyone who may not see addresses: addresses "
            "counted per square of the British National Grid (squares under 10 left out, "
            f"counts rounded to 5). From zoom {POINT_ZOOM}, one point per address the actor "
            "may see (police in their areas, housing providers their own homes).",
            {
                "kind": "'cell' or 'address'",
                "count": "cell: addresses in the square (rounded to 5)",
                "cell_m": "cell: side of the square, metres",
                "ix": "cell: column of the square (easting // cell_m)",
                "iy": "cell: row of the square (northing // cell_m)",
                "uprn": "address: UPRN",
                "property_type": "address: house, flat, ...",
                "address": "address: the full address",
            },
        ),
        LayerInfo(
            "risk",
            "Cuckooing risk",
            "Below zoom 16: per grid square, dwellings scored, their mean score and how many "
            "are high or very high (planners, analysts and admins; squares under 10 left out). "
            "From zoom 16: each scored dwelling whose band row-level security lets the actor "
            "see (police in their areas, housing their own homes); others keep the squares.",
            {
                "kind": "'cell' or 'address'",
                "dwellings": "cell: dwellings scored (rounded to 5)",
                "mean_score": "cell: mean score 0-100",
                "high": "cell: dwellings in band high or very_high (rounded to 5; absent < 10)",
                "cell_m": "cell: side of the square, metres",
                "ix": "cell: column of the square (easting // cell_m)",
                "iy": "cell: row of the square (northing // cell_m)",
                "uprn": "address: UPRN",
                "score": "address: score 0-100",
                "band": "address: low, medium, high or very_high",
            },
        ),
        LayerInfo(
            "cctv",
            "CCTV sites",
            "Camera sites that are not removed; gathered per grid square below zoom "
            f"{CLUSTER_ZOOM}.",
            CLUSTER_FIELDS
            | {
                "faulty": "cluster: how many are faulty",
                "site_id": "id",
                "name": "name",
                "status": "working, faulty or planned",
                "bearing_deg": "direction the camera faces",
                "fov_deg": "field of view",
                "range_m": "range, metres",
            },
        ),
        LayerInfo(
            "anpr",
            "ANPR sites",
            "Number-plate camera sites that are not removed; gathered per grid square below "
            f"zoom {CLUSTER_ZOOM}.",
            CLUSTER_FIELDS
            | {
                "faulty": "cluster: how many are faulty",
                "site_id": "id",
                "name": "name",
                "road_name": "road",
                "direction": "direction of traffic read",
                "status": "working, faulty or planned",
            },
        ),
        LayerInfo(
            "markers",
            "SAFE markers",
            "Active SAFE alert markers the actor may see (police roles with the markers class, "
            f"in their areas), gathered per grid square below zoom {CLUSTER_ZOOM}. Every tile "
            "needs a reason and is recorded in the audit log.",
            CLUSTER_FIELDS
            | {
                "due_for_review": "cluster: how many are due for review",
                "marker_id": "id",
                "uprn": "address marked",
                "scope": "address or block",
                "reason_category": "why the marker exists",
                "state": "active or review_due",
                "review_due": "date of the next review",
            },
            needs_reason=True,
        ),
        LayerInfo(
            "works",
            "Security works",
            "Work orders (not cancelled) at their address: a housing provider's own; police "
            "analysts and admins read their areas'. Gathered per grid square below zoom "
            f"{CLUSTER_ZOOM}.",
            CLUSTER_FIELDS
            | {
                "urgent": "cluster: how many are emergency or urgent",
                "work_order_id": "id",
                "uprn": "address",
                "measure_code": "what is fitted",
                "priority": "emergency, urgent, routine or planned",
                "status": "requested .. completed",
                "due_on": "date due",
            },
        ),
    )
}


@dataclass(frozen=True)
class Access:
    """What the actor's roles and agreement classes let them see, read from the transaction.

    This only chooses a layer's form (squares or points); row-level security still decides
    every row. It mirrors the address and risk-band policies of sql/002_security.sql.
    """

    system: bool
    roles: frozenset[str]
    classes: frozenset[str]
    risk_cells: bool

    @classmethod
    def of(cls, conn: Connection) -> Access:
        """Read once per tile (JIT is off database-wide: `ensure_database`)."""
        row = conn.execute(
            text("SELECT app_is_system(), app_roles(), app_classes(), tile_risk_allowed()")
        ).one()
        return cls(bool(row[0]), frozenset(row[1]), frozenset(row[2]), bool(row[3]))

    @property
    def sees_addresses(self) -> bool:
        police = bool(self.roles & POLICE) and bool(
            self.classes & {"markers", "visits", "risk_factors"}
        )
        housing = "housing" in self.roles and "own_properties" in self.classes
        return self.system or police or housing

    @property
    def sees_scores(self) -> bool:
        return self.sees_addresses and (self.system or "risk_band" in self.classes)


@dataclass(frozen=True)
class Statement:
    """One tile's SQL and its parameters; shape says whether it draws squares, points or
    clusters of points."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    shape: Shape = "points"
    cell_m: int | None = None


def _geom(g: str, transform: bool = True) -> str:
    """g clipped to the tile in tile units (g is BNG unless transform is False: Mercator)."""
    mercator = f"ST_Transform({g}, 3857)" if transform else g
    return f"ST_AsMVTGeom({mercator}, ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true)"


def _mvt(select: str, layer: str, head: str = "", objects: str = "count(*)") -> str:
    """The tile and how many objects it holds (`objects`, over its features) from `select`
    (whose geom column is already clipped). f is materialized: inlined, its ST_AsMVTGeom would
    run twice per row (filter, then row)."""
    return (
        f"WITH {head}f AS MATERIALIZED ({select}) "
        f"SELECT coalesce(ST_AsMVT(f.*, '{layer}', {EXTENT}, 'geom'), ''::bytea), "
        f"coalesce({objects}, 0) FROM f WHERE f.geom IS NOT NULL"
    )


def _clusters(
    layer: str, head: str, source: str, extra: str, params: dict[str, Any], tile: TileId
) -> Statement:
    """The points of `source` (alias h) gathered per grid square of the tile's size: one point
    at the members' mean position with how many they are (and `extra` aggregates). Sources
    read a box grown by a square, so squares at the edge are whole; a cluster is drawn only in
    the tile that holds its point (no buffer), so no square is counted in two tiles."""
    centre = "ST_SetSRID(ST_MakePoint(avg(ST_X(h.geom)), avg(ST_Y(h.geom))), 27700)"
    clipped = (
        f"ST_AsMVTGeom(ST_Transform({centre}, 3857), ST_TileEnvelope(:z, :x, :y), {EXTENT}, 0)"
    )
    select = (
        f"SELECT {clipped} AS geom, 'cluster' AS kind, count(*)::int AS count, "
        f"CAST(:cell AS integer) AS cell_m{extra} FROM {source} "
        "GROUP BY floor(ST_X(h.geom) / :cell), floor(ST_Y(h.geom) / :cell)"
    )
    cell = tile.cell_m()
    return Statement(
        _mvt(select, layer, head, "sum(f.count)"), params | {"cell": cell}, "clusters", cell
    )


def _in_box(alias: str, params: dict[str, Any], box: BngBox) -> str:
    """Rows in the box, found through tile_key ranges (usable under RLS), then exactly."""
    ranges = key_ranges(box)
    clauses = []
    for i, (lo, hi) in enumerate(ranges):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
        clauses.append(f"{alias}.tile_key BETWEEN :lo{i} AND :hi{i}")
    return f"({' OR '.join(clauses)}) AND {alias}.geom && {_ENVELOPE}"


_ENVELOPE: Final = "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 27700)"
_MODEL: Final = (
    "(SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1)"
)


def statement(layer: str, tile: TileId, box: BngBox, access: Access) -> Statement | None:
    """The statement for one tile of one layer, or None when the actor gets nothing there."""
    clustered = layer in CLUSTERED and tile.z < CLUSTER_ZOOM
    if clustered:  # read whole squares at the edges
        box = box.grown(tile.cell_m())
    params: dict[str, Any] = {"z": tile.z, "x": tile.x, "y": tile.y, "x0": box.x0, "y0": box.y0}
    params |= {"x1": box.x1, "y1": box.y1}
    points = tile.z >= POINT_ZOOM
    if layer == "addresses" and points and access.sees_addresses:
        where = _in_box("a", params, box)
        select = (
            f"SELECT {_geom('h.geom')} AS geom, 'address' AS kind, h.uprn, h.property_type, "
            "h.full_address AS address FROM hits h"
        )
        hits = (
            "hits AS MATERIALIZED (SELECT a.uprn, a.geom, a.property_type, a.full_address "
            f"FROM addresses a WHERE {where} AND a.property_type <> 'block'), "
        )
        return Statement(_mvt(select, layer, hits), params)
    if layer == "addresses":
        cell = tile.cell_m()
        select = (
            f"SELECT {_geom('c.geom', False)} AS geom, 'cell' AS kind, c.n AS count, "
            "CAST(:cell AS integer) AS cell_m, c.ix, c.iy FROM c"
        )
        head = "c AS MATERIALIZED (SELECT * FROM tile_address_cells(:cell, :x0, :y0, :x1, :y1)), "
        return Statement(_mvt(select, layer, head), params | {"cell": cell}, "cells", cell)
    if layer == "risk" and points and access.sees_scores:
        where = _in_box("a", params, box)
        hits = (
            "hits AS MATERIALIZED (SELECT a.uprn, a.geom FROM addresses a "
            f"WHERE {where} AND a.property_type NOT IN ('block', 'commercial')), "
        )
        select = (
            f"SELECT {_geom('h.geom')} AS geom, 'address' AS kind, h.uprn, "
            "round(s.score::numeric, 1)::float8 AS score, s.band "
            f"FROM hits h JOIN risk_scores s ON s.uprn = h.uprn AND s.model_version = {_MODEL}"
        )
        return Statement(_mvt(select, layer, hits), params)
    if layer == "risk":
        if not access.risk_cells:
            return None
        cell = tile.cell_m()
        select = (
            f"SELECT {_geom('c.geom', False)} AS geom, 'cell' AS kind, c.dwellings, c.mean_score, "
            "c.high, CAST(:cell AS integer) AS cell_m, c.ix, c.iy FROM c"
        )
        head = "c AS MATERIALIZED (SELECT * FROM tile_risk_cells(:cell, :x0, :y0, :x1, :y1)), "
        return Statement(_mvt(select, layer, head), params | {"cell": cell}, "cells", cell)
    if layer in ("cctv", "anpr"):
        if clustered:
            source = f"{layer}_sites h WHERE h.status <> 'removed' AND h.geom && {_ENVELOPE}"
            faulty = ", count(*) FILTER (WHERE h.status = 'faulty')::int AS faulty"
            return _clusters(layer, "", source, faulty, params, tile)
        fields = (
            "s.bearing_deg, s.fov_deg, s.range_m" if layer == "cctv" else "s.road_name, s.direction"
        )
        select = (
            f"SELECT {_geom('s.geom')} AS geom, 'site' AS kind, s.site_id, s.name, s.status, "
            f"{fields} FROM {layer}_sites s WHERE s.status <> 'removed' AND s.geom && {_ENVELOPE}"
        )
        return Statement(_mvt(select, layer), params)
    if layer == "markers":
        # The status test stays outside the key scan: inside it, the planner may prefer walking
        # a partial index on active markers (005) whole over the tile's few key ranges.
        where = _in_box("m", params, box)
        hits = f"hits AS MATERIALIZED (SELECT * FROM safe_markers m WHERE {where}), "
        live = (
            "hits h WHERE h.status = 'active' "
            "AND (h.expires_on IS NULL OR h.expires_on > current_date)"
        )
        state = "marker_state(h.status, h.review_due, h.expires_on, current_date)"
        if clustered:
            due = f", count(*) FILTER (WHERE {state} = 'review_due')::int AS due_for_review"
            return _clusters(layer, hits, live, due, params, tile)
        select = (
            f"SELECT {_geom('h.geom')} AS geom, 'marker' AS kind, h.marker_id, h.uprn, h.scope, "
            f"h.reason_category, {state} AS state, h.review_due::text AS review_due FROM {live}"
        )
        return Statement(_mvt(select, layer, hits), params)
    if layer == "works":
        where = _in_box("w", params, box)
        hits = (
            "hits AS MATERIALIZED (SELECT * FROM work_orders w WHERE w.status <> 'cancelled' "
            f"AND {where}), "
        )
        if clustered:
            urgent = (
                ", count(*) FILTER (WHERE h.priority IN ('emergency', 'urgent'))::int AS urgent"
            )
            return _clusters(layer, hits, "hits h", urgent, params, tile)
        select = (
            f"SELECT {_geom('h.geom')} AS geom, 'work_order' AS kind, h.work_order_id, h.uprn, "
            "h.measure_code, h.priority, h.status, "
            "(h.due_at AT TIME ZONE 'UTC')::date::text AS due_on FROM hits h"
        )
        return Statement(_mvt(select, layer, hits), params)
    raise KeyError(layer)
