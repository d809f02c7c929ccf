"""Response shapes of address matching."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class CandidateOut(BaseModel):
    uprn: int
    full_address: str
    parent_uprn: int | None
    property_type: str
    score: float
    confidence: float
    has_marker: bool | None = None


class MatchOut(BaseModel):
    query: str
    status: Literal["matched", "ambiguous", "low_confidence", "no_match"]
    uprn: int | None
    confidence: float
    candidates: list[CandidateOut]
