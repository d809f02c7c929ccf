"""Shared response shapes of the API (errors, GeoJSON, health). Request models derive from
`hardening.models.InputModel`, which refuses NaN and infinity, so a non-finite number is a 422,
never a 500 further down."""

from __future__ import annotations

from typing import Any, Final, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hardening.models import MAX_ID, IsoDate, IsoTime

# Shapes shared with the capabilities live in hardening.models (capabilities never import the
# API); these are re-exported for the routers.
__all__ = ["MAX_ID", "IsoDate", "IsoTime"]


class ErrorBody(BaseModel):
    """Every error the API returns (4xx and 5xx)."""

    code: str
    description: str
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="Only when the request failed validation (422, or 400 for a rule): "
        "each invalid field's location and message.",
    )


GEOJSON: Final = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


class MigrationState(BaseModel):
    applied: list[str]
    pending: list[str]
    unknown: list[str]


class Health(BaseModel):
    status: Literal["ok", "unhealthy"]
    database: Literal["ok", "unreachable", "not_ready"]
    version: str
    postgis: str | None = None
    migrations: MigrationState | None = None
    reason: str | None = None
