"""Shared response/request shapes. Request models derive from `ApiModel`, which refuses NaN and
infinity, so a non-finite number is a 422, never a 500 further down."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Final, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from hardening.api.jsontypes import has_nul, iso_date, iso_time, json_mismatch, type_error

# The largest id a JSON number carries exactly (clients parse numbers as doubles; a bound of
# 2**63 reads as 9.223372036854776e18 and lets 2**63 + 190 look valid).
MAX_ID = 2**53 - 1

# Dates and times in query strings: pydantic alone reads `?on=0` as 1970-01-01.
IsoDate = Annotated[date, BeforeValidator(iso_date)]
IsoTime = Annotated[time, BeforeValidator(iso_time)]


class ApiModel(BaseModel):
    """A JSON request body: finite numbers only, no unknown fields, and each value of the JSON
    type its schema says (`true` is not 1, `"5"` is not 5, `0` is not a date)."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and (reason := json_mismatch(field.annotation, value)):
            raise type_error(reason)
        if has_nul(value):
            raise ValueError("text may not contain NUL characters")
        return value


class ErrorBody(BaseModel):
    """Every error the API returns (4xx and 5xx)."""

    code: str
    description: str
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="Only when the request failed validation (422, or 400 for a rule): "
        "each invalid field's location and message.",
    )


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]


GEOJSON: Final = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


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
