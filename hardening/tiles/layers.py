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

from hardening.features.collections import REGISTRY
from hardening.features.source import TableCollection
from hardening.tiles.grid import CLUSTER_ZOOM, POINT_ZOOM, BngBox, TileId
from hardening.tiles.keys import key_ranges

EXTENT: Final = 4096
BUFFER: Final = 64  # tile units drawn beyond the edge, so symbols are not cut at tile seams
Shape = Literal["cells", "points", "clusters"]
# Properties of a cluster (below CLUSTER_ZOOM, the registry's point layers).
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
    collection: TableCollection | None = None  # a point layer: the registry entry it draws


def _point_layer(c: TableCollection) -> LayerInfo:
    assert c.tile is not None
    cluster = {c.tile.cluster.name: c.tile.cluster.description}
    fields = CLUSTER_FIELDS | cluster | {f.name: f.description for f in c.tile_fields()}
    needs_reason = c.needs_reason and c.tile.audited
    return LayerInfo(c.tile.layer, c.tile.title, c.tile.description, fields, needs_reason, c)


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
        *(_point_layer(c) for c in REGISTRY.values() if c.tile),
    )
}


@dataclass(frozen=True)
class Access:
    """Whether the actor may see addresses and scores (the predicates the address and score
    policies call, sql/029_access_predicates.sql) and risk squares, read from the transaction.

    This only chooses a layer's form (squares or points); row-level security still decides
    every row.
    """

    sees_addresses: bool
    sees_scores: bool
    risk_cells: bool

    @classmethod
    def of(cls, conn: Connection) -> Access:
        """Read once per tile (JIT is off database-wide: `ensure_database`)."""
        row = conn.execute(
            text("SELECT app_sees_addresses(), app_sees_scores(), risk_grid_allowed()")
        ).one()
        return cls(bool(row[0]), bool(row[1]), bool(row[2]))


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


def _points(c: TableCollection, tile: TileId, box: BngBox) -> Statement:
    """A registry entry's rows in the tile (found through its tile_key ranges, usable under
    RLS), one point each from CLUSTER_ZOOM. Below it they are gathered per grid square of the
    tile's size: one point at the members' mean position with how many they are (and the
    entry's cluster count). Clusters read a box grown by a square, so squares at the edge are
    whole; a cluster is drawn only in the tile that holds its point (no buffer), so no square is
    counted in two tiles. The rows' own test stays outside the key scan: inside it, the planner
    may prefer walking a partial index (safe_markers' on active markers, 005) whole."""
    spec = c.tile
    assert spec is not None
    clustered = tile.z < CLUSTER_ZOOM
    box = box.grown(tile.cell_m()) if clustered else box
    params = _params(tile, box)
    hits = f"hits AS MATERIALIZED (SELECT * FROM {c.table} t WHERE {_in_box('t', params, box)}), "
    rows = f"hits t WHERE {spec.where or c.where}"
    if not clustered:
        props = "".join(f", {f.sql} AS {f.name}" for f in c.tile_fields())
        select = f"SELECT {_geom('t.geom')} AS geom, '{spec.kind}' AS kind{props} FROM {rows}"
        return Statement(_mvt(select, spec.layer, hits), params)
    centre = "ST_SetSRID(ST_MakePoint(avg(ST_X(t.geom)), avg(ST_Y(t.geom))), 27700)"
    clipped = (
        f"ST_AsMVTGeom(ST_Transform({centre}, 3857), ST_TileEnvelope(:z, :x, :y), {EXTENT}, 0)"
    )
    select = (
        f"SELECT {clipped} AS geom, 'cluster' AS kind, count(*)::int AS count, "
        f"CAST(:cell AS integer) AS cell_m, ({spec.cluster.sql})::int AS {spec.cluster.name} "
        f"FROM {rows} GROUP BY floor(ST_X(t.geom) / :cell), floor(ST_Y(t.geom) / :cell)"
    )
    cell = tile.cell_m()
    return Statement(
        _mvt(select, spec.layer, hits, "sum(f.count)"), params | {"cell": cell}, "clusters", cell
    )


def _params(tile: TileId, box: BngBox) -> dict[str, Any]:
    return {"z": tile.z, "x": tile.x, "y": tile.y, "x0": box.x0, "y0": box.y0, "x1": box.x1,
            "y1": box.y1}  # fmt: skip


def _in_box(alias: str, params: dict[str, Any], box: BngBox) -> str:
    """Rows in the box, found through tile_key ranges (usable under RLS), then exactly."""
    ranges = key_ranges(box)
    clauses = []
    for i, (lo, hi) in enumerate(ranges):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
        clauses.append(f"{alias}.tile_key BETWEEN :lo{i} AND :hi{i}")
    return f"({' OR '.join(clauses)}) AND {alias}.geom && {_ENVELOPE}"


_ENVELOPE: Final = "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 27700)"


def statement(layer: str, tile: TileId, box: BngBox, access: Access | None) -> Statement | None:
    """The statement for one tile of one layer, or None when the actor gets nothing there
    (`access` is needed by the addresses and risk layers only)."""
    collection = LAYERS[layer].collection
    if collection is not None:
        return _points(collection, tile, box)
    assert access is not None
    params = _params(tile, box)
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
            "FROM hits h JOIN risk_scores s ON s.uprn = h.uprn "
            "AND s.model_version = (SELECT risk_model_shown())"
        )
        return Statement(_mvt(select, layer, hits), params)
    if layer == "risk":
        if not access.risk_cells:
            return None
        cell = tile.cell_m()
        select = (
            f"SELECT {_geom('c.outline', False)} AS geom, 'cell' AS kind, c.dwellings, "
            "c.mean_score, c.high, CAST(:cell AS integer) AS cell_m, c.ix, c.iy FROM c"
        )
        # the one risk grid's published form (sql/034), with its squares' outlines (sql/012)
        head = (
            "c AS MATERIALIZED (SELECT * FROM risk_squares(:cell, :x0, :y0, :x1, :y1, "
            "published => true)), "
        )
        return Statement(_mvt(select, layer, head), params | {"cell": cell}, "cells", cell)
    raise KeyError(layer)
