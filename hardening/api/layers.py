"""`/v1/layers/...`: read-only GeoJSON map layers (WGS84), the same service functions the
Streamlit map calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hardening import layers
from hardening.api.bbox import BBoxDep
from hardening.api.deps import ConnDep
from hardening.api.models import ErrorBody, GeoJSONResponse
from hardening.models import FeatureCollection

IncludeRemoved = Annotated[
    bool, Query(description="Also list sites whose camera has been removed.")
]
Simplify = Annotated[
    float,
    Query(ge=0, le=1000, allow_inf_nan=False, description="Simplification tolerance, metres."),
]

router = APIRouter(
    prefix="/layers",
    tags=["map layers"],
    default_response_class=GeoJSONResponse,
    responses={400: {"model": ErrorBody, "description": "Bad bbox or parameters"}},
)


@router.get("/stations", response_model=FeatureCollection, summary="Railway and bus stations")
def get_stations(conn: ConnDep, bbox: BBoxDep) -> dict[str, Any]:
    return layers.feature_collection(layers.stations(conn, bbox))


@router.get(
    "/cctv",
    response_model=FeatureCollection,
    summary="CCTV sites with status, bearing, field of view and range",
)
def get_cctv(
    conn: ConnDep, bbox: BBoxDep, include_removed: IncludeRemoved = False
) -> dict[str, Any]:
    return layers.feature_collection(layers.cctv_sites(conn, bbox, include_removed))


@router.get("/anpr", response_model=FeatureCollection, summary="ANPR camera sites")
def get_anpr(
    conn: ConnDep, bbox: BBoxDep, include_removed: IncludeRemoved = False
) -> dict[str, Any]:
    return layers.feature_collection(layers.anpr_sites(conn, bbox, include_removed))


@router.get(
    "/address-density",
    response_model=FeatureCollection,
    summary="Addresses counted per square of the British National Grid",
    description="Each feature is one grid square (polygon in WGS84) with its `count`; "
    "squares without addresses are left out.",
)
def get_address_density(
    conn: ConnDep,
    bbox: BBoxDep,
    cell: Annotated[
        int,
        Query(ge=layers.CELL_MIN_M, le=layers.CELL_MAX_M, description="Square size, metres."),
    ] = layers.CELL_DEFAULT_M,
) -> dict[str, Any]:
    return layers.feature_collection(layers.address_density(conn, cell, bbox))


@router.get(
    "/roads",
    response_model=FeatureCollection,
    summary="Street centre lines (context for a map without a basemap)",
)
def get_roads(
    conn: ConnDep,
    bbox: BBoxDep,
    main_only: Annotated[
        bool, Query(description="Only motorway, trunk, primary, secondary, tertiary.")
    ] = False,
    simplify: Simplify = 0.0,
) -> dict[str, Any]:
    return layers.feature_collection(layers.roads(conn, bbox, main_only, simplify))


@router.get("/areas", response_model=FeatureCollection, summary="Force-area boundaries")
def get_areas(conn: ConnDep, bbox: BBoxDep, simplify: Simplify = 0.0) -> dict[str, Any]:
    return layers.feature_collection(layers.areas(conn, bbox, simplify))
