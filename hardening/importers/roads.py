"""OSM road lines (any OGR format) -> roads.

The natural key is `osm:<id>#<part>` from the OSM id field (part 0 for a simple line, one row
per part of a multi-line). Extracts without an id field (e.g. the Cumbria main-roads shapefile)
are keyed by a hash of each part's geometry as read, plus the ordinal of identical parts: a
re-import of the same file changes nothing, an edited line arrives as a new row. The class
comes from the OSM highway tag; `_link` slip roads take their road's class.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection

from hardening.errors import UserInputError
from hardening.importers.core import (
    Batch,
    ImportReport,
    Origin,
    Progress,
    Record,
    RowRejected,
    ensure_acceptable,
    first_seen,
    text_value,
    write,
)
from hardening.importers.spatial import assign_areas, ewkb, geometries_to_bng, read_layer

ID_FIELDS = ("osm_id", "osmid", "@id", "full_id", "id")
HIGHWAY_FIELDS = ("highway", "type", "fclass", "road_class")
CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "service",
    "unclassified",
)
ALIASES = {"living_street": "residential"}
ONEWAY_YES = {"yes", "true", "1"}
TABLE_COLUMNS = ("source_ref", "name", "ref", "road_class", "oneway", "area_id", "geom")


def road_class(highway: str | None) -> str:
    """OSM highway tag -> schema road_class ('motorway_link' -> 'motorway', 'road' -> 'other')."""
    tag = (highway or "").strip().lower().removesuffix("_link")
    tag = ALIASES.get(tag, tag)
    return tag if tag in CLASSES else "other"


def parse(
    path: Path,
    crs: str | None = None,
    id_field: str | None = None,
    progress: Progress | None = None,
) -> Batch:
    layer = read_layer(path, crs)
    ids = layer.field(id_field) if id_field else layer.field(*ID_FIELDS)
    if id_field and ids is None:
        raise UserInputError(f"{path}: no field {id_field!r}; it has {', '.join(layer.fields)}")
    highway = layer.field(*HIGHWAY_FIELDS)
    names, refs, oneway = layer.field("name"), layer.field("ref"), layer.field("oneway")
    geoms, bad = geometries_to_bng(layer.geometries, layer.crs, ("LineString", "MultiLineString"))
    batch = Batch("roads", [str(path)])
    keys: dict[str, Origin] = {}
    identical: Counter[str] = Counter()

    def cell(column: Any, i: int) -> str | None:
        return None if column is None else text_value(column[i])

    for i in range(len(layer)):
        origin = layer.origin(i)
        attrs = {
            "has_id": ids is not None,
            "id": cell(ids, i),
            "name": cell(names, i),
            "ref": cell(refs, i),
            "highway": cell(highway, i),
            "oneway": (cell(oneway, i) or "").lower(),
        }
        batch.read += 1
        try:
            found = _parts(
                origin, attrs, layer.geometries[i], geoms[i], bad.get(i), keys, identical
            )
            batch.records.extend(found)
        except RowRejected as exc:
            batch.reject(origin, str(exc))
    if progress:
        progress(f"{path.name}: {batch.read} features read, {len(batch.records)} lines")
    return batch


def _parts(
    origin: Origin,
    attrs: dict[str, Any],
    source: Any,
    geom: Any,
    problem: str | None,
    keys: dict[str, Origin],
    identical: Counter[str],
) -> list[Record]:
    if attrs["has_id"] and attrs["id"] is None:
        raise RowRejected("OSM id is empty")
    if problem is not None:
        raise RowRejected(problem)
    parts, raw_parts = shapely.get_parts(geom), shapely.get_parts(source)
    records = []
    for n, (part, raw) in enumerate(zip(parts, raw_parts, strict=True)):
        if attrs["has_id"]:
            key = f"osm:{attrs['id']}#{n}"
            first_seen(keys, key, origin, "road")
        else:
            digest = hashlib.sha256(shapely.to_wkb(raw)).hexdigest()[:24]
            identical[digest] += 1
            key = f"geom:{digest}#{identical[digest]}"
        line = shapely.reverse(part) if attrs["oneway"] == "-1" else part
        values = {
            "source_ref": key,
            "name": attrs["name"],
            "ref": attrs["ref"],
            "road_class": road_class(attrs["highway"]),
            "oneway": attrs["oneway"] in ONEWAY_YES or attrs["oneway"] == "-1",
            "geom": ewkb(line),
        }
        mid = shapely.line_interpolate_point(line, 0.5, normalized=True)
        records.append(Record(origin, values, anchor=(mid.x, mid.y)))
    return records


def load(conn: Connection, batch: Batch, *, skip_bad: bool = False) -> ImportReport:
    ensure_acceptable(batch, skip_bad)
    assign_areas(conn, batch)
    counts = write(conn, batch, "roads", TABLE_COLUMNS, ("source_ref",))
    return ImportReport.of(batch, counts)


def import_file(conn: Connection, path: Path, *, skip_bad: bool = False) -> ImportReport:
    return load(conn, parse(path), skip_bad=skip_bad)
