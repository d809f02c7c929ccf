"""`/v1/match`: free-text address to UPRN, with a calibrated confidence (mounted under /v1).

Only addresses the caller may see are candidates (row-level security on the fetch)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hardening.addresses.match import match
from hardening.addresses.models import MatchOut
from hardening.api.deps import ConnDep
from hardening.api.models import ErrorBody

router = APIRouter(
    tags=["addresses"],
    responses={400: {"model": ErrorBody, "description": "Empty or over-long text"}},
)


@router.get("/match", response_model=MatchOut, summary="Match address text to a UPRN")
def get_match(
    conn: ConnDep,
    q: Annotated[str, Query(min_length=1, max_length=300, description="What the caller said")],
    top: Annotated[int, Query(ge=1, le=20, description="Candidates returned")] = 5,
) -> dict[str, Any]:
    """`status` is matched (confidence >= 0.9 and no close runner-up), ambiguous (two or more
    close candidates: ask the caller), low_confidence, or no_match."""
    return match(conn, q, top).as_dict()
