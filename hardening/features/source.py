"""What a feature collection is and how a table-backed one is read, always as the actor.

Every read runs in the caller's transaction (`hardening.db.engine.transaction(engine, actor)`),
so row-level security filters rows exactly as it does for the rest of the service; nothing here
bypasses it. A collection whose rows are personal data (SAFE markers) needs a reason and writes
one consultation row to the audit log per read, naming the features it returned.

Counting (`numberMatched`): under row-level security PostgreSQL will not use a GiST index for a
bbox test (PostGIS operators are not leakproof, so they run after the policy, on every row it
lets through). Collections whose table has a `tile_key` (sql/012, 015) turn the bbox into a few
key ranges of its btree index (integer comparisons are leakproof), so only the rows near the box
are read; the others cost one scan of the rows the policy admits. A bbox page is one
such scan that collects the matching keys (up to `count_cap`), counts them and fetches the
page's features by primary key (an index the policy does not block). Without a bbox the page is
an index scan in key order that stops early, and the count a scan capped at `count_cap` rows.
Counts are exact up to the cap; past it numberMatched is left out (OGC API Features makes it
optional) rather than estimated, so a number shown is always true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, text

from hardening.bbox import BBOX_BNG_SQL, BBox
from hardening.errors import NotFoundError, UserInputError
from hardening.security import audit
from hardening.tiles.keys import key_ranges

Kind = Literal["int", "float", "text", "date", "datetime"]
GEOJSON_DECIMALS = 7  # ~1 cm in Great Britain


@dataclass(frozen=True)
class Field:
    name: str
    sql: str
    kind: Kind = "text"
    description: str = ""  # for TileJSON's vector_layers


@dataclass(frozen=True)
class TileSpec:
    """How a collection is drawn at `/v1/tiles/{layer}/...`: one point per row from
    CLUSTER_ZOOM, gathered per grid square below it (`cluster`: one more count per square)."""

    layer: str
    title: str
    description: str
    kind: str  # the features' `kind` property
    fields: tuple[str | Field, ...]  # a name: the collection's own field; a Field: tile-only
    cluster: Field  # an aggregate over a square's rows (alias t)
    where: str | None = None  # the rows drawn, when not the collection's `where`
    audited: bool = True  # False: tiles of an audited collection need no reason


def geojson_feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature built in Python (`TableCollection` builds the same shape, with its
    `id`, in SQL, so a page of OGC items is one query and no Python object per feature)."""
    return {"type": "Feature", "geometry": geometry, "properties": properties}


@dataclass
class Page:
    """One page of features as GeoJSON Feature texts, and the exact count when it is known."""

    features: list[str]
    number_matched: int | None


@dataclass
class Rows:
    """Every selected feature as columns, for the exports; geometry as WKB in `srid`."""

    fields: tuple[Field, ...]
    columns: dict[str, list[Any]]
    wkb: list[bytes | None]
    srid: int
    geometry_type: str
    ids: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.wkb)


def _too_many(count: int, max_rows: int, what: str) -> UserInputError:
    return UserInputError(
        f"more than {max_rows} {what} selected ({count} or more): narrow it with a bbox"
    )


@dataclass(frozen=True)
class TableCollection:
    """A collection read straight from tables (alias `t`), filtered by their policies."""

    id: str
    title: str
    description: str
    geometry_type: str
    may_read: str  # a call of the named predicate the table's policy calls (sql/029)
    source: str  # FROM clause
    key: str  # the feature id expression (a bigint column)
    geom: str  # BNG geometry expression
    fields: tuple[Field, ...]
    where: str = "true"
    audit_object: str | None = None  # personal data: reason required, every read audited
    tile_key: str | None = None  # the geometry's Z-order key column (sql/012, 015), if any
    tile: TileSpec | None = None  # drawn as a vector tile layer, if set
    fid: str | None = None  # the feature id written and looked up, when not the key (text)

    @property
    def needs_reason(self) -> bool:
        return self.audit_object is not None

    @property
    def table(self) -> str:
        """The source's first table (alias t): the tile layers' table, which is all their source is.
        Queries use `source` whole, joins included."""
        return self.source.split(" ", 1)[0]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def tile_fields(self) -> tuple[Field, ...]:
        assert self.tile is not None
        return tuple(f if isinstance(f, Field) else self.field(f) for f in self.tile.fields)

    def record_read(
        self, conn: Connection, why: str | None, ids: list[Any], details: dict[str, Any]
    ) -> None:
        """The audit row of a read of personal data (the one path: pages, exports, tiles)."""
        if self.audit_object is not None:
            one = ids[0] if len(ids) == 1 else None
            audit.record(conn, "consultation", self.audit_object, one, why, details=details)

    def bbox_filter(self, bbox: BBox | None) -> tuple[str, dict[str, Any]]:
        """The WHERE condition (and its parameters) of the rows in the bbox, over `bbox_from`."""
        if bbox is None:
            return self.where, {}
        if bbox.clipped is None:
            return "false", {}
        where = f"({self.where}) AND {self.geom} && bbox.g AND ST_Intersects({self.geom}, bbox.g)"
        params = bbox.sql_params()
        if self.tile_key is not None:  # leakproof key ranges first: a btree the planner may use
            ranges = []
            for i, (lo, hi) in enumerate(key_ranges(bbox.bng_box())):
                params[f"key_lo{i}"], params[f"key_hi{i}"] = lo, hi
                ranges.append(f"{self.tile_key} BETWEEN :key_lo{i} AND :key_hi{i}")
            where = f"({' OR '.join(ranges)}) AND {where}"
        return where, params

    def bbox_from(self, bbox: BBox | None) -> str:
        """The FROM clause `bbox_filter` reads: the source and the box as BNG (`bbox.g`)."""
        if bbox is None or bbox.clipped is None:
            return self.source
        return f"{self.source} CROSS JOIN (SELECT {BBOX_BNG_SQL} AS g) bbox"

    def _feature_sql(self) -> str:
        props = ", ".join(f"'{f.name}', {f.sql}" for f in self.fields)
        return (
            f"json_build_object('type', 'Feature', 'id', {self.fid or self.key}, 'geometry', "
            f"ST_AsGeoJSON(ST_Transform({self.geom}, 4326), {GEOJSON_DECIMALS})::json, "
            f"'properties', json_build_object({props}))::text"
        )

    def _why(self, conn: Connection, reason: str | None) -> str | None:
        return audit.reason_for(conn, reason) if self.needs_reason else None

    def _audit(self, conn: Connection, why: str | None, ids: list[Any], **how: Any) -> None:
        self.record_read(conn, why, ids, {"collection": self.id, **how, "ids": ids})

    def page(
        self,
        conn: Connection,
        bbox: BBox | None,
        limit: int,
        offset: int,
        count_cap: int,
        reason: str | None = None,
    ) -> Page:
        why = self._why(conn, reason)
        found = self._bbox_page(conn, bbox, limit, offset, count_cap) if bbox else None
        if found is None:
            found = self._ordered_page(conn, bbox, limit, offset, count_cap)
        ids, features, matched = found
        self._audit(conn, why, ids, bbox=None if bbox is None else bbox.as_text(), offset=offset)
        return Page(features, matched)

    def _bbox_page(
        self, conn: Connection, bbox: BBox, limit: int, offset: int, count_cap: int
    ) -> tuple[list[Any], list[str], int | None] | None:
        """One scan for the count and the page: the matching keys (up to the cap), counted,
        and the page's features fetched by primary key. None when over the cap."""
        where, params = self.bbox_filter(bbox)
        row = conn.execute(
            text(
                f"WITH c AS MATERIALIZED (SELECT {self.key} AS id FROM {self.bbox_from(bbox)} "
                f"WHERE {where} LIMIT :cap), "
                "p AS (SELECT id FROM c ORDER BY id LIMIT :limit OFFSET :offset) "
                "SELECT (SELECT count(*) FROM c) AS matched, f.ids, f.features FROM ("
                "SELECT array_agg(id ORDER BY id) AS ids, array_agg(feature ORDER BY id) "
                f"AS features FROM (SELECT {self.key} AS id, {self._feature_sql()} AS feature "
                f"FROM {self.source} WHERE ({self.where}) AND {self.key} IN (SELECT id FROM p)"
                ") x) f"
            ),
            {**params, "cap": count_cap + 1, "limit": limit, "offset": offset},
        ).one()
        if row.matched > count_cap:
            return None
        return list(row.ids or []), list(row.features or []), int(row.matched)

    def _ordered_page(
        self, conn: Connection, bbox: BBox | None, limit: int, offset: int, count_cap: int
    ) -> tuple[list[Any], list[str], int | None]:
        """The page in key order (an index scan that stops early), then a capped count. A
        computed source (no tile_key: the risk grid) is read whole anyway: counted in the same
        scan rather than computed twice."""
        where, params = self.bbox_filter(bbox)
        counted = ", count(*) OVER () AS matched" if self.tile_key is None else ""
        rows = conn.execute(
            text(
                f"SELECT {self.key} AS id, {self._feature_sql()} AS feature{counted} "
                f"FROM {self.bbox_from(bbox)} WHERE {where} ORDER BY {self.key} "
                "LIMIT :limit OFFSET :offset"
            ),
            {**params, "limit": limit, "offset": offset},
        ).all()
        matched: int | None
        if len(rows) < limit and (rows or offset == 0):
            matched = offset + len(rows)  # the last page tells the count for free
        elif counted and rows:
            matched = int(rows[0].matched) if rows[0].matched <= count_cap else None
        else:
            capped = conn.execute(
                text(
                    f"SELECT count(*) FROM (SELECT 1 FROM {self.bbox_from(bbox)} WHERE {where} "
                    "LIMIT :cap) s"
                ),
                {**params, "cap": count_cap + 1},
            ).scalar_one()
            matched = int(capped) if capped <= count_cap else None
        return [r.id for r in rows], [r.feature for r in rows], matched

    def item(self, conn: Connection, feature_id: str, reason: str | None = None) -> str:
        why = self._why(conn, reason)
        digits = feature_id.isascii() and feature_id.isdigit() and len(feature_id) <= 19
        key: int | str = feature_id if self.fid else int(feature_id) if digits else 0
        if not (self.fid or 0 < int(key) < 2**63):
            raise NotFoundError(f"no feature {feature_id!r} in {self.id}")
        feature = conn.execute(
            text(
                f"SELECT {self._feature_sql()} FROM {self.source} "
                f"WHERE ({self.where}) AND {self.fid or self.key} = :key"
            ),
            {"key": key},
        ).scalar_one_or_none()
        if feature is None:
            raise NotFoundError(f"no feature {feature_id!r} in {self.id} (or not yours to see)")
        self._audit(conn, why, [key])
        return str(feature)

    def rows(
        self,
        conn: Connection,
        bbox: BBox | None,
        srid: int,
        max_rows: int,
        reason: str | None = None,
    ) -> Rows:
        why = self._why(conn, reason)
        where, params = self.bbox_filter(bbox)
        columns = ", ".join(f'{f.sql} AS "{f.name}"' for f in self.fields)
        result = conn.execute(
            text(
                f"SELECT {self.key} AS feature_id, {columns}, "
                f"ST_AsBinary(ST_Transform({self.geom}, CAST(:srid AS integer))) AS wkb "
                f"FROM {self.bbox_from(bbox)} WHERE {where} ORDER BY {self.key} LIMIT :limit"
            ),
            {**params, "srid": srid, "limit": max_rows + 1},
        ).all()
        if len(result) > max_rows:
            raise _too_many(len(result), max_rows, self.title)
        out = Rows(
            fields=self.fields,
            columns={f.name: [getattr(r, f.name) for r in result] for f in self.fields},
            wkb=[None if r.wkb is None else bytes(r.wkb) for r in result],
            srid=srid,
            geometry_type=self.geometry_type,
            ids=[r.feature_id for r in result],
        )
        self._audit(
            conn,
            why,
            out.ids,
            export=True,
            bbox=None if bbox is None else bbox.as_text(),
        )
        return out
