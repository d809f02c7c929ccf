"""`/v1/tiles/...`: Mapbox Vector Tiles of the map layers, and a TileJSON document per layer.

A tile is computed as the caller, in the request's one transaction (row-level security), so it
is that user's alone: `Cache-Control: no-store` (set for every `/v1` response by
`hardening.api.nostore`), `Vary: Authorization`, a strong ETag of the tile's bytes and 304 Not
Modified on a matching If-None-Match (for a client that keeps tiles itself). A tile with no
features is `204 No Content` (MapLibre, OpenLayers and QGIS draw nothing and do not retry).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, Response

from hardening.api.deps import ActorDep, ConnDep
from hardening.api.models import ErrorBody
from hardening.geo import GB_LAT, GB_LON
from hardening.tiles.grid import MAX_ZOOM, TileId
from hardening.tiles.layers import LAYERS
from hardening.tiles.service import MEDIA_TYPE, Tile, check_layer, render

LayerPath = Annotated[str, Path(description=f"One of: {', '.join(LAYERS)}", max_length=40)]
ZPath = Annotated[int, Path(description=f"Zoom 0..{MAX_ZOOM}")]
XYPath = Annotated[int, Path(description="Column/row 0..2^z-1 (XYZ scheme, y down)")]
ReasonQuery = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=500,
        description="Why you look: required for `markers` (recorded in the audit log).",
    ),
]

router = APIRouter(
    prefix="/tiles",
    tags=["vector tiles"],
    responses={
        400: {"model": ErrorBody, "description": "Missing reason (markers)"},
        404: {"model": ErrorBody, "description": "No such layer, zoom or tile"},
    },
)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    summary="One vector tile of a layer, as the caller may see it",
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "The tile (Mapbox Vector Tile 2.1)"},
        204: {"description": "Nothing in this tile for the caller"},
        304: {"description": "Unchanged since the ETag sent in If-None-Match"},
    },
)
def get_tile(
    conn: ConnDep,
    layer: LayerPath,
    z: ZPath,
    x: XYPath,
    y: XYPath,
    reason: ReasonQuery = None,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    check_layer(layer)
    tile: Tile = render(conn, layer, TileId(z, x, y), reason)
    headers = {"Vary": "Authorization"}  # Cache-Control: no-store comes from the middleware
    if tile.empty:
        return Response(status_code=204, headers=headers)
    headers["ETag"] = tile.etag
    if _matches(if_none_match, tile.etag):
        return Response(status_code=304, headers=headers)
    return Response(tile.data, media_type=MEDIA_TYPE, headers=headers)


@router.get("/{layer}.json", summary="TileJSON 3.0 for one layer (for MapLibre, QGIS, ...)")
def get_tilejson(
    request: Request, actor: ActorDep, layer: LayerPath, reason: ReasonQuery = None
) -> dict[str, Any]:
    check_layer(layer)
    info = LAYERS[layer]
    template = str(request.url_for("get_tile", layer=layer, z="{z}", x="{x}", y="{y}"))
    template = template.replace("%7B", "{").replace("%7D", "}")
    if reason:
        template += "?reason=" + quote(reason)
    bounds = [GB_LON[0], GB_LAT[0], GB_LON[1], GB_LAT[1]]
    vector_layer = {"id": layer, "description": info.description, "fields": info.fields}
    return {
        "tilejson": "3.0.0",
        "name": info.title,
        "description": info.description,
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [vector_layer],
    }
