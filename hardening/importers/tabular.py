"""Generic point files users bring (CSV, GeoJSON or any OGR format) read through a column map.

`--map target=source` names the file's column for each target field; an unmapped target uses a
column of the same name (case-insensitive), and in CSV files x / y also recognise the usual
longitude / latitude / easting / northing names. Without x / y columns, an OGR file's own point
geometry is used. `--crs` says what the coordinates are (default EPSG:4326; an OGR file's own
CRS when its geometry is used and no --crs is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardening import geo
from hardening.errors import UserInputError
from hardening.importers.core import Origin, RowRejected, csv_with_header, number, text_value
from hardening.importers.spatial import crs_key, read_layer

CSV_SUFFIXES = {".csv", ".txt"}
XY_ALIASES = {
    "x": ("x", "lon", "long", "lng", "longitude", "easting", "eastings"),
    "y": ("y", "lat", "latitude", "northing", "northings"),
}


def parse_map(options: Sequence[str], targets: Sequence[str]) -> dict[str, str]:
    """['x=lon', 'id=camera_id'] -> {'x': 'lon', 'id': 'camera_id'}, checking the targets."""
    mapping: dict[str, str] = {}
    for option in options:
        target, sep, source = option.partition("=")
        target, source = target.strip().lower(), source.strip()
        if not sep or not target or not source:
            raise UserInputError(f"--map {option!r}: write it as target=column, e.g. x=lon")
        if target not in targets:
            raise UserInputError(
                f"--map {option!r}: unknown target {target!r}; targets are {', '.join(targets)}"
            )
        if target in mapping:
            raise UserInputError(f"--map: {target} is mapped twice")
        mapping[target] = source
    return mapping


@dataclass
class Row:
    origin: Origin
    cells: dict[str, Any]  # target -> value as read (text for CSV, typed for OGR)
    xy: tuple[float, float] | None = None
    problem: str | None = None  # why the coordinates are unusable, if they are


@dataclass
class Table:
    path: Path
    crs: int | str
    rows: list[Row] = field(default_factory=list)
    mapped: set[str] = field(default_factory=set)  # targets that have a column


def read_table(
    path: Path,
    targets: Sequence[str],
    mapping: dict[str, str],
    crs: str | None = None,
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    layer: str | None = None,
) -> Table:
    """aliases: further column names an unmapped target recognises (e.g. the names our own
    exports use); layer: which layer of a many-layer OGR file (a GeoPackage) to read."""
    if path.suffix.lower() in CSV_SUFFIXES:
        if layer is not None:
            raise UserInputError(f"{path}: a CSV file has no layers; leave out --layer")
        return _read_csv(path, targets, mapping, crs, aliases or {})
    return _read_ogr(path, targets, mapping, crs, aliases or {}, layer)


def _resolve(
    path: Path,
    columns: Sequence[str],
    targets: Sequence[str],
    mapping: dict[str, str],
    xy: bool,
    aliases: Mapping[str, Sequence[str]],
) -> dict[str, int]:
    """Column index per target: the mapped column, or a same-named one (then its aliases)."""
    lower = {c.strip().lower(): i for i, c in enumerate(columns)}
    found: dict[str, int] = {}
    for target in targets:
        if target in mapping:
            source = mapping[target].lower()
            if source not in lower:
                raise UserInputError(
                    f"{path}: column {mapping[target]!r} (mapped to {target}) is not in the "
                    f"file; its columns are {', '.join(c for c in columns if c)}"
                )
            found[target] = lower[source]
            continue
        names = (
            *(XY_ALIASES.get(target, (target,)) if xy else (target,)),
            *aliases.get(target, ()),
        )
        for name in names:
            if name in lower:
                found[target] = lower[name]
                break
    return found


def _coordinates(x: Any, y: Any, x_label: str, y_label: str) -> tuple[float, float]:
    return number(x, x_label), number(y, y_label)


def _read_csv(
    path: Path,
    targets: Sequence[str],
    mapping: dict[str, str],
    crs: str | None,
    aliases: Mapping[str, Sequence[str]],
) -> Table:
    table = Table(path, geo.parse_crs(crs) if crs else geo.WGS84)
    header, rows = csv_with_header(path)
    cols = _resolve(path, header, targets, mapping, True, aliases)
    if "x" not in cols or "y" not in cols:
        raise UserInputError(
            f"{path}: no coordinate columns found; map them, e.g. --map x=lon --map y=lat "
            f"(columns are {', '.join(h for h in header if h)})"
        )
    table.mapped = set(cols)
    for line, fields in rows:
        row = Row(Origin(path.name, line), {})
        if len(fields) != len(header):
            row.problem = f"expected {len(header)} fields, found {len(fields)} (malformed CSV row)"
        else:
            row.cells = {t: fields[i] for t, i in cols.items()}
            try:
                row.xy = _coordinates(
                    row.cells["x"], row.cells["y"], header[cols["x"]], header[cols["y"]]
                )
            except RowRejected as exc:
                row.problem = str(exc)
        table.rows.append(row)
    return table


def _read_ogr(
    path: Path,
    targets: Sequence[str],
    mapping: dict[str, str],
    crs: str | None,
    aliases: Mapping[str, Sequence[str]],
    layer_name: str | None,
) -> Table:
    layer = read_layer(path, crs, layer_name)
    names = list(layer.fields)
    cols = _resolve(path, names, targets, mapping, False, aliases)
    use_columns = "x" in mapping and "y" in mapping
    if ("x" in mapping) != ("y" in mapping):
        raise UserInputError("--map: map both x and y, or neither to use the file's geometry")
    if use_columns:
        key: int | str = geo.parse_crs(crs) if crs else geo.WGS84
    else:
        key = crs_key(layer.crs)
        cols.pop("x", None)
        cols.pop("y", None)
    table = Table(path, key, mapped=set(cols) | {"x", "y"})
    for i in range(len(layer)):
        row = Row(layer.origin(i), {t: layer.fields[names[j]][i] for t, j in cols.items()})
        try:
            if use_columns:
                row.xy = _coordinates(row.cells["x"], row.cells["y"], mapping["x"], mapping["y"])
            else:
                row.xy = _point(layer.geometries[i])
        except RowRejected as exc:
            row.problem = str(exc)
        table.rows.append(row)
    return table


def _point(geom: Any) -> tuple[float, float]:
    if geom is None:
        raise RowRejected("geometry is missing (map x and y columns, or give point features)")
    if geom.is_empty:
        raise RowRejected("geometry is empty")
    if geom.geom_type != "Point":
        raise RowRejected(f"geometry is a {geom.geom_type}, expected a Point")
    return number(geom.x, "x"), number(geom.y, "y")


def cell(row: Row, target: str) -> str | None:
    """A target's value as stripped text (None when unmapped or empty)."""
    return text_value(row.cells.get(target))
