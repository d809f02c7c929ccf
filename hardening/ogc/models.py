"""Response shapes of the OGC API Features router, for the API definition (the routes answer
with pre-built JSON; these document it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hardening.models import Feature, FeatureCollection


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class SpatialExtent(BaseModel):
    bbox: list[list[float]]
    crs: str


class Extent(BaseModel):
    spatial: SpatialExtent


class CollectionInfo(BaseModel):
    id: str
    title: str
    description: str
    itemType: Literal["feature"] = "feature"
    extent: Extent
    crs: list[str]
    links: list[Link]


class Collections(BaseModel):
    links: list[Link]
    collections: list[CollectionInfo]


class OgcFeature(Feature):
    """The API's GeoJSON Feature with the OGC `id` (and a null geometry allowed)."""

    model_config = ConfigDict(extra="allow")

    id: int | str
    geometry: dict[str, Any] | None  # type: ignore[assignment]


class OgcFeatureCollection(FeatureCollection):
    features: list[OgcFeature]  # type: ignore[assignment]
    numberMatched: int | None = Field(
        default=None, description="Exact; left out when above the server's count cap."
    )
    numberReturned: int
    timeStamp: str
    links: list[Link]
