"""Coverage of an area by its working CCTV, what each faulty camera's repair would restore, and
where uncovered risk lies, as published (disclosure-controlled) grid cells.

Planners get aggregates only: area totals and shares, household counts through
`disclosure.publishable`, cells through `disclosure.publish_grid`. A weight or share is
withheld (null) with the household count it is about (`disclosure.with_count`,
`split_publishable`): a repair restoring 8 households shows neither their count nor their risk.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
from sqlalchemy import Connection

from hardening.coverage import data
from hardening.coverage.geometry import Walls
from hardening.coverage.matrix import cover_matrix
from hardening.coverage.matrix import views as camera_views
from hardening.geo import BNG, WGS84, transformer
from hardening.security.disclosure import (
    publish_grid,
    publishable,
    split_publishable,
    with_count,
)

GRID_M: Final = 250


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def coverage_report(
    conn: Connection,
    area_id: str,
    visibility: bool = True,
    days: int = 365,
    cell_m: int = GRID_M,
) -> dict[str, Any]:
    area = data.area_polygon(conn, area_id)
    fence = data.walls(conn, area) if visibility else Walls()
    dem = data.demand(conn, area_id, days=days, fence=fence)
    sites = data.cctv_sites(conn, area_id)
    polys = camera_views([_as_cand(s) for s in sites], fence)
    cover = cover_matrix(polys, dem.x, dem.y)
    working = np.array([s.status == "working" for s in sites], dtype=bool)
    level = np.asarray(cover[:, np.flatnonzero(working)].sum(axis=1)).ravel()
    covered = level > 0
    total_w, total_h = float(dem.weight.sum()), int(dem.households.sum())
    repairs: list[tuple[float, dict[str, Any]]] = []
    for j in np.flatnonzero(~working).tolist():
        col = sp.csc_matrix(cover[:, j])
        gain = np.zeros(len(dem), dtype=bool)
        gain[col.indices] = True
        gain &= ~covered
        households = publishable(int(dem.households[gain].sum()))
        weight = float(dem.weight[gain].sum())
        repairs.append(
            (
                weight if households is not None else 0.0,
                {
                    "site_id": sites[j].site_id,
                    "name": sites[j].name,
                    "restored_weight": with_count(households, round(weight, 3)),
                    "restored_share": with_count(households, _share(weight, total_w)),
                    "restored_households": households,
                },
            )
        )
    # Largest published repair first; withheld ones after, in site order (not by their weight).
    repairs.sort(key=lambda wr: (wr[1]["restored_weight"] is None, -wr[0], wr[1]["site_id"]))
    cells = uncovered_cells(dem, covered, cell_m)
    covered_h = int(dem.households[covered].sum())
    covered_w = float(dem.weight[covered].sum())
    # Covered and uncovered split the area: the covered weight, with the area's, gives the
    # uncovered one, and with the published cells' weights the one withheld cell's.
    lone_cell = sum(c["households"] is None for c in cells) == 1
    split = split_publishable(covered_h, total_h) and not lone_cell
    return {
        "area_id": area_id,
        "visibility": visibility,
        "walls": len(fence),
        "weight_basis": dem.basis,
        "note": None
        if dem.basis == "risk_scores"
        else "no risk scores yet: demand is weighted by recent incidents (plus 0.1 per household)",
        "cameras": {"working": int(working.sum()), "faulty": int((~working).sum())},
        "demand": {
            "households": publishable(total_h),
            "weight": with_count(publishable(total_h), round(total_w, 3)),
        },
        "covered": {
            "households": publishable(covered_h),
            "household_share": _share(covered_h, total_h) if split else None,
            "weight": round(covered_w, 3) if split else None,
            "weight_share": _share(covered_w, total_w) if split else None,
        },
        "repairs": [r for _, r in repairs],
        "uncovered_cells": cells,
    }


def _as_cand(site: data.Site) -> Any:
    from hardening.coverage.matrix import Candidate

    return Candidate(site.cam, "existing", 0.0, site.site_id)


def uncovered_cells(dem: data.Demand, covered: np.ndarray, cell_m: int) -> list[dict[str, Any]]:
    """Uncovered households per grid cell, published: suppressed cells carry null."""
    ix = np.floor(dem.x / cell_m).astype(np.int64)
    iy = np.floor(dem.y / cell_m).astype(np.int64)
    counts: dict[tuple[int, int], int] = {}
    weights: dict[tuple[int, int], float] = {}
    for a, b, h, w in zip(
        ix[~covered].tolist(),
        iy[~covered].tolist(),
        dem.households[~covered].tolist(),
        dem.weight[~covered].tolist(),
        strict=True,
    ):
        counts[(a, b)] = counts.get((a, b), 0) + h
        weights[(a, b)] = weights.get((a, b), 0.0) + w
    grid = publish_grid(counts)
    to_wgs = transformer(BNG, WGS84)
    out = []
    for (a, b), n in sorted(grid.cells.items()):
        lon, lat = to_wgs.transform((a + 0.5) * cell_m, (b + 0.5) * cell_m)
        out.append(
            {
                "ix": a,
                "iy": b,
                "cell_m": cell_m,
                "lon": round(float(lon), 6),
                "lat": round(float(lat), 6),
                "households": n,
                "weight": None if n is None else round(weights[(a, b)], 1),
            }
        )
    return out


def camera_views_lonlat(
    conn: Connection, area_id: str, visibility: bool = True
) -> list[dict[str, Any]]:
    """Each working or faulty camera's view (walls applied) as a lon/lat ring, for maps."""
    area = data.area_polygon(conn, area_id)
    fence = data.walls(conn, area) if visibility else Walls()
    sites = data.cctv_sites(conn, area_id)
    to_wgs = transformer(BNG, WGS84)
    out = []
    for site, poly in zip(sites, camera_views([_as_cand(s) for s in sites], fence), strict=True):
        if poly.is_empty:
            continue
        xy = np.asarray(poly.exterior.coords)
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        out.append(
            {
                "site_id": site.site_id,
                "name": site.name,
                "status": site.status,
                "ring": np.round(np.column_stack([lon, lat]), 6).tolist(),
            }
        )
    return out
