"""`/v1/exports/{collection}`: a collection as the caller may see it, as a file download."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from hardening.api.bbox import BBoxDep
from hardening.api.deps import ConnDep
from hardening.api.models import ErrorBody
from hardening.errors import NotFoundError
from hardening.features.collections import REGISTRY
from hardening.features.export import FORMATS, ExportFormat, export, format_spec

router = APIRouter(
    prefix="/exports",
    tags=["exports"],
    responses={
        400: {"model": ErrorBody, "description": "Bad bbox, missing reason, or too many rows"},
        404: {"model": ErrorBody, "description": "No such collection, or not yours to read"},
    },
)


@router.get(
    "/{collection}",
    summary="Download a layer as GeoPackage, GeoJSON or CSV",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file (Content-Disposition: attachment)",
            "content": {spec.media_type: {} for spec in FORMATS.values()},
        }
    },
)
def get_export(
    conn: ConnDep,
    collection: Annotated[str, Path(max_length=64, description="A collection id (see /ogc)")],
    box: BBoxDep,
    fmt: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.gpkg,
    reason: Annotated[
        str | None,
        Query(
            max_length=500, description="Why (required for safe-markers and work-orders; audited)"
        ),
    ] = None,
) -> FileResponse:
    """GeoPackage in British National Grid (EPSG:27700); GeoJSON and CSV in WGS84. Row-level
    security applies: the file holds what the caller may see, nothing more."""
    if collection not in REGISTRY:
        raise NotFoundError(f"no collection {collection!r}")
    spec = format_spec(fmt.value)
    folder = FilePath(tempfile.mkdtemp(prefix="hardening-export-"))
    try:
        result = export(
            conn, collection, fmt.value, folder / f"{collection}{spec.suffix}", box, reason
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        result.path,
        media_type=spec.media_type,
        filename=result.path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
