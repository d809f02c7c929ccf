"""Request and response shapes of the marker, look-up and match routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hardening.addresses.models import MatchOut
from hardening.api.models import MAX_ID, ApiModel
from hardening.markers.records import MarkerReason

ReasonText = Field(min_length=3, max_length=500, description="Why (recorded in the audit log).")


class MarkerCreate(ApiModel):
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


class MarkerReview(ApiModel):
    version: int = Field(ge=1, description="The version you read: a stale one gets a 409.")
    reason: str = ReasonText
    next_review: date | None = None
    expires_on: date | None = Field(
        default=None, description="New expiry; required to retain a marker that has expired."
    )


class MarkerRevoke(ApiModel):
    version: int = Field(ge=1, description="The version you read: a stale one gets a 409.")
    reason: str = ReasonText


class MarkerOut(BaseModel):
    marker_id: int
    uprn: int
    full_address: str | None
    scope: str
    reason_category: str
    grading_advice: str
    org_id: str
    author_user_id: int | None
    visit_id: int | None
    created_at: datetime
    review_due: date
    expires_on: date | None
    status: str
    state: Literal["active", "review_due", "expired", "revoked"]
    revoked_at: datetime | None
    revoked_reason: str | None
    version: int
    area_id: str | None


class ReviewOut(BaseModel):
    review_id: int
    marker_id: int
    reviewed_by: int | None
    reviewed_at: datetime
    decision: str
    reason: str
    new_review_due: date | None


class MarkerDetail(BaseModel):
    marker: MarkerOut
    reviews: list[ReviewOut]


class LookupOut(BaseModel):
    """Everything the control room needs about an address, in one answer."""

    query: dict[str, Any]
    match: MatchOut | None
    address: dict[str, Any] | None
    status: Literal["marker", "block_marker", "nearby_marker", "none"] = Field(
        description="The banner: a marker on the address, on its block (or its flats), "
        "on a neighbour within the radius, or none."
    )
    markers: list[dict[str, Any]]
    inactive_markers: list[dict[str, Any]]
    grading_advice: list[str]
    risk: dict[str, Any] | None
    incidents: dict[str, Any]
    centre: dict[str, float] | None
    reviews: dict[str, list[ReviewOut]] | None = None
