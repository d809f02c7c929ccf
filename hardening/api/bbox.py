"""The one `bbox` query parameter of `/v1/layers`, `/v1/exports` and OGC items: parsed into
`hardening.bbox.BBox`, so every face accepts and refuses the same boxes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from hardening.bbox import CRS84, BBox, check_crs


def bbox_param(
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="minlon,minlat,maxlon,maxlat in WGS84 (CRS84); only features that "
            "intersect it (a box partly outside Great Britain is clipped to it)",
            examples=["-3.26,54.09,-3.18,54.15"],
        ),
    ] = None,
    bbox_crs: Annotated[
        str | None,
        Query(alias="bbox-crs", max_length=100, description=f"Only {CRS84} (the default)."),
    ] = None,
) -> BBox | None:
    if bbox is None:
        if bbox_crs is not None:
            check_crs(bbox_crs)
        return None
    return BBox.parse(bbox, bbox_crs)


BBoxDep = Annotated[BBox | None, Depends(bbox_param)]
