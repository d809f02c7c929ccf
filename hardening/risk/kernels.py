"""The radius kernels (and the distance to the nearest station) of a full run, vectorised in
Python (numpy + a k-d tree).

In SQL the kernels are grid-cell hash joins over every (unit, event point) pair, single-core in
the executor: most of a full run's factor time. Here the units' coordinates are read once from
the work table risk_u (binary COPY, so the actor's row-level-security view is still what gets
scored), each kernel's event points come from the same SQL as in factor_sql.kernel (selector,
window and time weights unchanged), and the values go back into a temporary table `risk_k` by
binary COPY, joined into risk_fv like any other factor.

Same arithmetic as the SQL: d = sqrt(dx^2 + dy^2), the pair kept when dx^2 + dy^2 <= r^2, the
spatial weight (1 - d/r) or (1 - (d/r)^2)^2, and ln(1 + sum) (not log1p), so the values agree
with the SQL to the last bits but for the order of the sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree
from sqlalchemy import Connection, text

from hardening.risk.factor_sql import Params, kernel_points, station_points

Floats = npt.NDArray[np.float64]
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, no header extension
UNITS = np.dtype(
    [("n", ">i2"), ("l0", ">i4"), ("id", ">i8"), ("l1", ">i4"), ("x", ">f8"), ("l2", ">i4"),
     ("y", ">f8")]
)  # fmt: skip
MIN_UNITS = 2000  # fewer units: the SQL join is as quick, and no round trip


def _copy_out(conn: Connection, sql: str) -> bytes:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)") as copy:
        return b"".join(bytes(block) for block in copy)


def units(conn: Connection) -> tuple[npt.NDArray[np.int64], Floats]:
    """risk_u's unit ids and coordinates (binary COPY parsed by numpy: no row objects)."""
    raw = _copy_out(conn, "SELECT unit_id, x, y FROM risk_u WHERE x IS NOT NULL AND y IS NOT NULL")
    body = np.frombuffer(raw, UNITS, count=(len(raw) - len(HEADER) - 2) // UNITS.itemsize,
                         offset=len(HEADER))  # fmt: skip
    ids = body["id"].astype(np.int64)
    xy = np.column_stack([body["x"], body["y"]]).astype(np.float64)
    return ids, xy


def kernel_values(xy: Floats, tree: cKDTree, points: Floats, p: Params) -> Floats:
    """One kernel factor at every unit: points are (x, y, w) rows of one radius."""
    n = len(xy)
    if len(points) == 0:
        return np.zeros(n)
    r = float(p["radius_m"])
    # candidates a hair beyond r; the exact test below is the SQL's
    pairs = cKDTree(points[:, :2]).sparse_distance_matrix(
        tree, r * (1 + 1e-9) + 1e-6, output_type="ndarray"
    )
    point, unit = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    dx, dy = xy[unit, 0] - points[point, 0], xy[unit, 1] - points[point, 1]
    d2 = dx * dx + dy * dy
    keep = d2 <= r * r
    unit, point, d = unit[keep], point[keep], np.sqrt(d2[keep])
    q = d / r
    space = (1 - q) if p.get("space", "linear") == "linear" else np.power(1 - q * q, 2)
    total: Floats = np.bincount(unit, points[point, 2] * space, n).astype(np.float64)
    if p.get("log", True):
        return np.asarray(np.log(1 + total), dtype=np.float64)
    return total


def nearest_values(xy: Floats, points: Floats, p: Params) -> Floats:
    """The transport factor at every unit: 1 - d/r to the nearest point within r (0 beyond),
    d recomputed as the SQL does."""
    out = np.zeros(len(xy))
    if len(points) == 0:
        return out
    r = float(p["radius_m"])
    _, nearest = cKDTree(points[:, :2]).query(xy, distance_upper_bound=r * (1 + 1e-9) + 1e-6)
    unit = np.flatnonzero(nearest < len(points))
    point = nearest[unit]
    dx, dy = xy[unit, 0] - points[point, 0], xy[unit, 1] - points[point, 1]
    d2 = dx * dx + dy * dy
    keep = d2 <= r * r
    out[unit[keep]] = 1 - np.sqrt(d2[keep]) / r
    return out


def compute(
    conn: Connection, columns: Sequence[tuple[str, Params]], binds: Mapping[str, Any]
) -> bool:
    """Create risk_k (unit_id, one float8 column per factor) for the named kernels (and
    transport: params with "kinds"); False (and nothing created) when there are too few units
    for it to pay."""
    if not columns:
        return False
    ids, xy = units(conn)
    if len(ids) < MIN_UNITS:
        return False
    tree = cKDTree(xy)
    values = []
    for i, (_, p) in enumerate(columns):
        stations = "kinds" in p
        sql, part = (station_points if stations else kernel_points)(f"k{i}", p)
        rows = conn.execute(text(sql), {**binds, **part}).all()
        points = np.array(rows, dtype=np.float64).reshape(-1, 2 if stations else 3)
        values.append(
            nearest_values(xy, points, p) if stations else kernel_values(xy, tree, points, p)
        )
    names = [name for name, _ in columns]
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.risk_k"))
    conn.execute(
        text(
            "CREATE TEMP TABLE risk_k (unit_id bigint PRIMARY KEY, "
            + ", ".join(f"{name} float8 NOT NULL" for name in names)
            + ") ON COMMIT DROP"
        )
    )
    stack = np.column_stack(values)
    keep = np.any(stack != 0, axis=1)
    _copy_in(conn, "risk_k", ids[keep], stack[keep])
    conn.execute(text("ANALYZE risk_k (unit_id)"))
    return True


def _copy_in(conn: Connection, table: str, ids: npt.NDArray[np.int64], values: Floats) -> None:
    """Binary COPY of (id, v1..vk) rows built by numpy."""
    k = values.shape[1]
    fields = [("n", ">i2"), ("l0", ">i4"), ("id", ">i8")]
    for j in range(k):
        fields += [(f"l{j + 1}", ">i4"), (f"v{j}", ">f8")]
    rows = np.zeros(len(ids), np.dtype(fields))
    rows["n"], rows["l0"], rows["id"] = 1 + k, 8, ids
    for j in range(k):
        rows[f"l{j + 1}"], rows[f"v{j}"] = 8, values[:, j]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(HEADER + rows.tobytes() + b"\xff\xff")
