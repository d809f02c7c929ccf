"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) under /ogc.

The landing page, conformance and API definition hold no data and need no token; the
collections and their items need a bearer token and run, like every /v1 route, in one
transaction as the caller, so row-level security decides every feature. Collections are listed
per actor (`hardening.features.collections.readable`); one the caller may not read answers 404,
as an unknown one does.

Paging: `limit` (default 10; above the maximum, 10,000, it is clamped as the standard requires,
not refused), `offset`, and `next` / `prev` links; `numberMatched` is exact, and left out when
above the count cap (see `hardening.features.source`). Unknown query parameters are a 400, as
the standard requires. Errors are the API's usual `{"code", "description"}` JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from hardening.api.bbox import BBoxDep
from hardening.api.deps import ConnDep
from hardening.api.models import GEOJSON, ErrorBody, GeoJSONResponse
from hardening.bbox import CRS84
from hardening.errors import UserInputError
from hardening.features.collections import extent, readable, readable_one
from hardening.features.source import TableCollection
from hardening.ogc.models import (
    CollectionInfo,
    Collections,
    Conformance,
    LandingPage,
    OgcFeature,
    OgcFeatureCollection,
)
from hardening.ogc.openapi import ogc_definition
from hardening.ogc.settings import OgcSettings

JSON: Final = "application/json"
OPENAPI_JSON: Final = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE: Final = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
ITEM_PARAMS: Final = frozenset({"bbox", "bbox-crs", "limit", "offset", "f", "reason"})
FEATURE_PARAMS: Final = frozenset({"f", "reason"})
LARGEST: Final = 2**31 - 1  # limit or offset beyond this is a mistake, not a request
NEEDS_TOKEN: Final[dict[int | str, dict[str, Any]]] = {
    401: {
        "model": ErrorBody,
        "description": "Missing, invalid, expired or revoked API token (Bearer or Basic)",
    }
}


class OpenAPIResponse(JSONResponse):
    media_type = OPENAPI_JSON


router = APIRouter(
    prefix="/ogc",
    tags=["OGC API Features"],
    responses={
        400: {"model": ErrorBody, "description": "Bad bbox, limit, offset or parameter"},
        404: {"model": ErrorBody, "description": "No such collection or feature, or not yours"},
    },
)

CollectionId = Annotated[str, Path(alias="collectionId", max_length=64)]
ReasonQuery = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Why you look: required for safe-markers and work-orders (audited).",
    ),
]
ReasonHeader = Annotated[
    str | None,
    Header(alias="X-Reason", max_length=500, description="The reason, as a header instead."),
]
FormatQuery = Annotated[
    str | None, Query(alias="f", max_length=20, description="json or geojson (the only format).")
]


def _settings(request: Request) -> OgcSettings:
    settings = getattr(request.app.state, "ogc_settings", None)
    if settings is None:
        settings = request.app.state.ogc_settings = OgcSettings()
    return settings


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, kind: str, title: str | None = None) -> dict[str, Any]:
    link = {"href": href, "rel": rel, "type": kind}
    return {**link, "title": title} if title else link


def _check_params(request: Request, allowed: frozenset[str], f: str | None) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise UserInputError(
            f"unknown query parameter(s) {', '.join(unknown)}; this endpoint takes "
            f"{', '.join(sorted(allowed))}"
        )
    if f is not None and f.lower() not in ("json", "geojson"):
        raise UserInputError(f"format f={f!r} is not offered: use json")


def _integer(value: int | None, default: int, low: int, name: str) -> int:
    if value is None:
        return default
    if not low <= value <= LARGEST:
        raise UserInputError(f"{name} must be a whole number from {low} to {LARGEST}")
    return value


@router.get("", include_in_schema=False)
@router.get("/", response_model=LandingPage, summary="Landing page")
def landing(request: Request) -> JSONResponse:
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "title": _settings(request).title,
            "description": "Map layers of the hardening service (CCTV and ANPR sites, work "
            "orders, SAFE markers, aggregated risk) as each user may see them: an API token "
            "is required for collections and items, and row-level security applies.",
            "links": [
                _link(base + "/", "self", JSON, "This document"),
                _link(base + "/api", "service-desc", OPENAPI_JSON, "The API definition"),
                _link(root + "/docs", "service-doc", "text/html", "The API documentation"),
                _link(base + "/conformance", "conformance", JSON, "Conformance classes"),
                _link(base + "/collections", "data", JSON, "The collections"),
            ],
        }
    )


@router.get("/conformance", response_model=Conformance, summary="Conformance classes")
def conformance() -> JSONResponse:
    return JSONResponse({"conformsTo": CONFORMANCE})


@router.get(
    "/api",
    summary="The API definition (OpenAPI 3.0)",
    response_class=OpenAPIResponse,
    responses={200: {"content": {OPENAPI_JSON: {}}, "description": "OpenAPI 3.0 document"}},
)
def api_definition(request: Request) -> OpenAPIResponse:
    cached = getattr(request.app.state, "ogc_openapi", None)
    if cached is None:
        settings = _settings(request)
        cached = ogc_definition(request.app.openapi(), settings.max_limit, settings.default_limit)
        request.app.state.ogc_openapi = cached
    return OpenAPIResponse(cached)


def _collection(base: str, source: TableCollection, box: list[float]) -> dict[str, Any]:
    here = f"{base}/collections/{source.id}"
    return {
        "id": source.id,
        "title": source.title,
        "description": source.description,
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [box], "crs": CRS84}},
        "crs": [CRS84],
        "links": [
            _link(here, "self", JSON, source.title),
            _link(here + "/items", "items", GEOJSON, f"{source.title} as GeoJSON"),
        ],
    }


@router.get(
    "/collections",
    response_model=Collections,
    summary="The collections you may read",
    responses=NEEDS_TOKEN,
)
def collections(request: Request, conn: ConnDep, f: FormatQuery = None) -> JSONResponse:
    _check_params(request, frozenset({"f"}), f)
    base, box = _base(request), extent(conn)
    return JSONResponse(
        {
            "links": [_link(base + "/collections", "self", JSON, "The collections")],
            "collections": [_collection(base, s, box) for s in readable(conn)],
        }
    )


@router.get("/collections/{collectionId}", response_model=CollectionInfo, summary="One collection")
def collection(
    request: Request, conn: ConnDep, collection_id: CollectionId, f: FormatQuery = None
) -> JSONResponse:
    _check_params(request, frozenset({"f"}), f)
    source = readable_one(conn, collection_id)
    return JSONResponse(_collection(_base(request), source, extent(conn)))


@router.get(
    "/collections/{collectionId}/items",
    response_model=OgcFeatureCollection,
    response_class=GeoJSONResponse,
    summary="Features of a collection",
    responses=NEEDS_TOKEN,
)
def items(
    request: Request,
    conn: ConnDep,
    collection_id: CollectionId,
    box: BBoxDep,
    limit: Annotated[
        int | None,
        Query(
            description="Page size: default 10; above 10,000 served as 10,000.",
            json_schema_extra={"minimum": 1, "maximum": LARGEST},
        ),
    ] = None,
    offset: Annotated[
        int | None,
        Query(
            description="Features to skip (see the next link).",
            json_schema_extra={"minimum": 0, "maximum": LARGEST},
        ),
    ] = None,
    reason: ReasonQuery = None,
    x_reason: ReasonHeader = None,
    f: FormatQuery = None,
) -> Response:
    _check_params(request, ITEM_PARAMS, f)
    settings = _settings(request)
    page_size = min(_integer(limit, settings.default_limit, 1, "limit"), settings.max_limit)
    skip = _integer(offset, 0, 0, "offset")
    source = readable_one(conn, collection_id)
    page = source.page(conn, box, page_size, skip, settings.count_cap, reason or x_reason)
    returned = len(page.features)
    links = [_link(str(request.url), "self", GEOJSON, "This page")]
    more = page.number_matched is None or skip + returned < page.number_matched
    if returned == page_size and more:
        next_url = request.url.include_query_params(offset=skip + returned, limit=page_size)
        links.append(_link(str(next_url), "next", GEOJSON, "Next page"))
    if skip > 0:
        prev_url = request.url.include_query_params(
            offset=max(skip - page_size, 0), limit=page_size
        )
        links.append(_link(str(prev_url), "prev", GEOJSON, "Previous page"))
    links.append(
        _link(f"{_base(request)}/collections/{source.id}", "collection", JSON, source.title)
    )
    tail: dict[str, Any] = {"numberReturned": returned}
    if page.number_matched is not None:
        tail["numberMatched"] = page.number_matched
    tail["timeStamp"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    tail["links"] = links
    body = (
        '{"type":"FeatureCollection","features":['
        + ",".join(page.features)
        + "],"
        + json.dumps(tail, separators=(",", ":"))[1:]
    )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    response_model=OgcFeature,
    response_class=GeoJSONResponse,
    summary="One feature",
    responses=NEEDS_TOKEN,
)
def feature(
    request: Request,
    conn: ConnDep,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(alias="featureId", max_length=64)],
    reason: ReasonQuery = None,
    x_reason: ReasonHeader = None,
    f: FormatQuery = None,
) -> Response:
    _check_params(request, FEATURE_PARAMS, f)
    source = readable_one(conn, collection_id)
    found = json.loads(source.item(conn, feature_id, reason or x_reason))
    here = f"{_base(request)}/collections/{source.id}"
    found["links"] = [
        _link(f"{here}/items/{feature_id}", "self", GEOJSON, "This feature"),
        _link(here, "collection", JSON, source.title),
    ]
    return Response(json.dumps(found, separators=(",", ":")), media_type=GEOJSON)
