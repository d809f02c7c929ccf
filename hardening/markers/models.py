"""Request and response shapes of the marker, look-up and match routes."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from hardening.addresses.models import MatchOut
from hardening.markers.records import Marker, MarkerReason, Review
from hardening.models import MAX_ID, InputModel

ReasonText = Field(min_length=3, max_length=500, description="Why (recorded in the audit log).")


class MarkerCreate(InputModel):
    uprn: int = Field(gt=0, lt=10**12)
    scope: Literal["address", "block"] = "address"
    reason_category: MarkerReason
    grading_advice: str = Field(min_length=3, max_length=2000)
    review_due: date | None = None
    expires_on: date | None = None
    visit_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    org_id: str | None = Field(
        default=None, max_length=64, description="Only for the system actor (no organisation)."
    )


class MarkerReview(InputModel):
    version: int = Field(ge=1, description="The version you read: a stale one gets a 409.")
    reason: str = ReasonText
    next_review: date | None = None
    expires_on: date | None = Field(
        default=None, description="New expiry; required to retain a marker that has expired."
    )


class MarkerRevoke(InputModel):
    version: int = Field(ge=1, description="The version you read: a stale one gets a 409.")
    reason: str = ReasonText


# The API returns the service's records as they are; pydantic validates them under these names.
@pydantic_dataclass(frozen=True)
class MarkerOut(Marker):
    pass


@pydantic_dataclass(frozen=True)
class ReviewOut(Review):
    pass


class MarkerDetail(BaseModel):
    marker: MarkerOut
    reviews: list[ReviewOut]


class StreetAddressOut(BaseModel):
    uprn: int
    full_address: str
    house_number: str | None
    sub_building: str | None
    property_type: str
    parent_uprn: int | None
    markers: int = Field(description="SAFE markers in force on the address itself.")
    block_markers: int = Field(description="SAFE markers in force on its block.")
    has_marker: bool = Field(description="A marker in force on the address or its block.")
    reason_category: str | None = Field(description="The gravest reason of those markers.")
    lon: float
    lat: float


class StreetBlockOut(BaseModel):
    uprn: int
    full_address: str | None
    flats: int = Field(description="Its flats on this street.")
    marked_flats: int = Field(description="Of those, flats with a marker of their own.")
    block_markers: int = Field(description="Markers in force on the block itself.")


class StreetOut(BaseModel):
    street: str
    town: str
    addresses: int
    marked: int = Field(description="Addresses with a marker in force on them or their block.")
    blocks: list[StreetBlockOut]
    listed: list[StreetAddressOut] = Field(description="Marked addresses first.")
    truncated: bool


class StreetListingOut(BaseModel):
    """A street said without a number: each town's street of that name, with its addresses."""

    query: str
    streets: list[StreetOut]
    addresses: int
    marked: int


class LookupOut(BaseModel):
    """Everything the control room needs about an address, in one answer."""

    query: dict[str, Any]
    match: MatchOut | None
    address: dict[str, Any] | None
    status: Literal["marker", "block_marker", "nearby_marker", "none", "not_checked"] = Field(
        description="The banner: a marker on the address, on its block (or its flats), "
        "on a neighbour within the radius, or none; not_checked when the text resolved no "
        "single address (no match, ambiguous, low confidence): confirm it with the caller "
        "(see match.candidates and street)."
    )
    markers: list[dict[str, Any]]
    inactive_markers: list[dict[str, Any]]
    grading_advice: list[str]
    risk: dict[str, Any] | None
    incidents: dict[str, Any]
    centre: dict[str, float] | None
    reviews: dict[str, list[ReviewOut]] | None = None
    street: StreetListingOut | None = Field(
        default=None,
        description="When the text named a street but no single address: its addresses "
        "with their markers flagged, and its blocks.",
    )
