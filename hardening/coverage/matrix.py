"""Candidate sites along streets and at junctions, and the sparse who-sees-whom matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
import shapely

from hardening.coverage.data import Road
from hardening.coverage.geometry import Camera, Walls, camera_view
from hardening.errors import UserInputError

STREET_CLASSES = (
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "unclassified",
    "service",
    "other",
)
JUNCTION_SNAP_M = 3.0


@dataclass(frozen=True)
class Candidate:
    cam: Camera
    kind: str  # 'existing', 'repair', 'new', 'user'
    cost: float
    site_id: int | None = None


def street_points(
    roads: Sequence[Road], area: shapely.Geometry, spacing_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points every spacing_m along streets, and junctions (a road end touching another road)."""
    if not 10.0 <= spacing_m <= 1000.0:
        raise UserInputError("candidate spacing must be between 10 and 1000 metres")
    lines = np.array([r.line for r in roads if r.road_class in STREET_CLASSES], dtype=object)
    if not len(lines):
        return np.empty((0, 2)), np.empty((0, 2))
    lengths = shapely.length(lines)
    counts = np.maximum(1, (lengths // spacing_m).astype(np.int64))
    owner = np.repeat(np.arange(len(lines)), counts)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    dist = (k + 0.5) * lengths[owner] / counts[owner]
    along = shapely.get_coordinates(shapely.line_interpolate_point(lines[owner], dist))
    ends = shapely.get_coordinates(
        np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    )
    end_owner = np.concatenate([np.arange(len(lines))] * 2)
    hit_end, hit_line = shapely.STRtree(lines).query(
        shapely.points(ends), predicate="dwithin", distance=JUNCTION_SNAP_M
    )
    junction = np.unique(hit_end[hit_line != end_owner[hit_end]])
    joints = np.unique(np.round(ends[junction], 0), axis=0)
    return _inside(area, along), _inside(area, joints)


def _inside(area: shapely.Geometry, p: np.ndarray) -> np.ndarray:
    return np.asarray(p[shapely.contains_xy(area, p[:, 0], p[:, 1])])


def views(cands: Sequence[Candidate], walls: Walls | None) -> np.ndarray:
    return np.array([camera_view(c.cam, walls) for c in cands], dtype=object)


def cover_matrix(view_polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> sp.csc_matrix:
    """cover[i, j] = 1 when demand point i lies in view j."""
    pts = shapely.points(x, y)
    if not len(pts) or not len(view_polys):
        return sp.csc_matrix((len(pts), len(view_polys)))
    tree = shapely.STRtree(pts)
    j, i = tree.query(view_polys, predicate="intersects")
    return sp.csc_matrix(
        (np.ones(len(i)), (i, j)), shape=(len(pts), len(view_polys)), dtype=np.float64
    )
