"""`/v1/lookup` and `/v1/markers`: the control room's look-up and the marker lifecycle.

Mounted by the app under /v1 (`app.include_router(router, prefix="/v1")`). Every route runs in
the request's one transaction as the caller (ConnDep), so row-level security decides what it
sees; look-ups and listings need a reason and are audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from hardening.api.deps import ConnDep
from hardening.api.models import MAX_ID, ErrorBody, IsoDate
from hardening.markers import service
from hardening.markers.lookup import lookup
from hardening.markers.models import (
    LookupOut,
    MarkerCreate,
    MarkerDetail,
    MarkerOut,
    MarkerReview,
    MarkerRevoke,
)

router = APIRouter(
    tags=["control room"],
    responses={
        400: {"model": ErrorBody, "description": "Bad parameters (e.g. swapped lon/lat)"},
        403: {"model": ErrorBody, "description": "Not a police role, or outside the agreement"},
        404: {"model": ErrorBody, "description": "No such marker or address (or not yours)"},
    },
)

# Required unless the token has a standing purpose (audit.reason_for): then a 400 without it.
ReasonQuery = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=500,
        description="Why you look (recorded in the audit log); a token with a standing purpose "
        "may leave it out.",
    ),
]
MarkerId = Annotated[int, Path(gt=0, le=MAX_ID)]


@router.get("/lookup", response_model=LookupOut, summary="Markers, advice and events at an address")
def get_lookup(
    conn: ConnDep,
    reason: ReasonQuery = None,
    uprn: Annotated[int | None, Query(gt=0, lt=10**12)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=300, description="Address text")
    ] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False)] = None,
    x: Annotated[float | None, Query(description="BNG easting", allow_inf_nan=False)] = None,
    y: Annotated[float | None, Query(description="BNG northing", allow_inf_nan=False)] = None,
    radius: Annotated[
        float | None, Query(gt=0, le=5000, allow_inf_nan=False, description="Metres")
    ] = None,
    history: Annotated[bool, Query(description="Include the markers' review history")] = False,
) -> dict[str, Any]:
    """Give exactly one of `uprn`, `q` (what the caller said) or a point (`lon`+`lat`, or
    `x`+`y` in British National Grid, with an optional `radius`)."""
    return lookup(
        conn,
        reason=reason,
        uprn=uprn,
        q=q,
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        radius_m=radius,
        history=history,
    )


@router.post(
    "/markers",
    response_model=MarkerOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a SAFE marker on an address or a block",
)
def post_marker(conn: ConnDep, body: MarkerCreate) -> dict[str, Any]:
    return service.create_marker(conn, **body.model_dump()).as_dict()


@router.get("/markers", response_model=list[MarkerOut], summary="List markers (audited)")
def get_markers(
    conn: ConnDep,
    reason: ReasonQuery = None,
    uprn: Annotated[int | None, Query(gt=0, lt=10**12)] = None,
    state: Annotated[str | None, Query(pattern="^(active|review_due|expired|revoked)$")] = None,
    area: Annotated[str | None, Query(max_length=64)] = None,
    review_due_by: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 100,
) -> list[dict[str, Any]]:
    markers = service.list_markers(
        conn,
        reason=reason,
        uprn=uprn,
        state=state,
        area_id=area,
        review_due_by=review_due_by,
        limit=limit,
    )
    return [m.as_dict() for m in markers]


@router.get(
    "/markers/{marker_id}", response_model=MarkerDetail, summary="One marker and its reviews"
)
def get_marker(conn: ConnDep, marker_id: MarkerId, reason: ReasonQuery = None) -> dict[str, Any]:
    marker, reviews = service.get_marker(conn, marker_id, reason=reason)
    return {"marker": marker.as_dict(), "reviews": [r.as_dict() for r in reviews]}


@router.post(
    "/markers/{marker_id}/review",
    response_model=MarkerOut,
    summary="Retain a marker with a reason and a new review date",
    responses={409: {"model": ErrorBody, "description": "Stale version, or revoked"}},
)
def post_review(conn: ConnDep, marker_id: MarkerId, body: MarkerReview) -> dict[str, Any]:
    return service.review_marker(conn, marker_id, **body.model_dump()).as_dict()


@router.post(
    "/markers/{marker_id}/revoke",
    response_model=MarkerOut,
    summary="Revoke a marker",
    responses={409: {"model": ErrorBody, "description": "Stale version, or already revoked"}},
)
def post_revoke(conn: ConnDep, marker_id: MarkerId, body: MarkerRevoke) -> dict[str, Any]:
    return service.revoke_marker(conn, marker_id, **body.model_dump()).as_dict()
