"""What a visit records and what it can put in place. The same models validate the API body,
the CLI's JSON file and the Streamlit form."""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

from pydantic import Field, model_validator

from hardening.markers.records import MarkerReason
from hardening.models import InputModel

SubjectType = Literal["class_a_user", "street_dealer", "house_dealer", "cuckooed_occupant", "other"]
Sign = Literal[
    "many_short_visits",
    "unknown_cars",
    "occupant_rarely_seen",
    "possessions_missing",
    "asb",
    "odd_hour_deliveries",
]
Service = Literal[
    "food_bank",
    "mental_health",
    "substance_misuse",
    "adult_social_care",
    "heating_grant",
    "housing",
    "other",
]
KitItem = Literal["sharps_box", "naloxone", "nitazene_test_strips", "clean_needles"]
ReferralStatus = Literal["made", "accepted", "engaged", "closed"]

SUBJECT_TYPES: tuple[str, ...] = get_args(SubjectType)
SIGNS: tuple[str, ...] = get_args(Sign)
SERVICES: tuple[str, ...] = get_args(Service)
KIT_ITEMS: tuple[str, ...] = get_args(KitItem)
REFERRAL_STATUSES: tuple[str, ...] = get_args(ReferralStatus)


class _Strict(InputModel):
    """No unknown fields, JSON types as the schema says, finite numbers (InputModel)."""


class MarkerRequest(_Strict):
    scope: Literal["address", "block"] = "address"
    reason_category: MarkerReason
    grading_advice: str = Field(min_length=3, max_length=2000)
    review_due: date


class PlanRequest(_Strict):
    visit_cadence_days: int = Field(ge=1, le=365)
    review_due: date


class ReferralRequest(_Strict):
    partner_org_id: str = Field(pattern=r"^[a-z0-9-]+$")
    service: Service


class VisitInput(_Strict):
    """One visit. No names: the subject is a pseudonymous reference."""

    uprn: int = Field(gt=0)
    visited_on: date
    team_user_ids: list[int] = Field(min_length=2, max_length=6)
    subject_ref: str = Field(pattern=r"^[A-Z0-9-]{4,32}$")
    subject_type: SubjectType
    signs: list[Sign] = Field(default_factory=list)
    occupant_vulnerable: bool = False
    outcome: str | None = Field(default=None, max_length=2000)
    intelligence_count: int = Field(default=0, ge=0, le=100)
    intelligence_grading: str | None = Field(default=None, pattern=r"^[1-5A-E]x[1-5A-E]x[1-5]$")
    # The support package.
    calling_card: bool = False
    marker: MarkerRequest | None = None
    protection_plan: PlanRequest | None = None
    referrals: list[ReferralRequest] = Field(default_factory=list, max_length=10)
    kit: dict[KitItem, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> VisitInput:
        if len(set(self.team_user_ids)) < 2:
            raise ValueError("a visit is made by a team of two: give two different team members")
        if any(q <= 0 or q > 500 for q in self.kit.values()):
            raise ValueError("harm reduction kit quantities must be between 1 and 500")
        if self.intelligence_grading and self.intelligence_count == 0:
            raise ValueError("an intelligence grading needs at least one submission")
        if len({(r.partner_org_id, r.service) for r in self.referrals}) < len(self.referrals):
            raise ValueError("the same referral is listed twice")
        return self


class ReferralUpdate(_Strict):
    status: ReferralStatus
    outcome: str | None = Field(default=None, max_length=2000)
    version: int = Field(ge=1)
