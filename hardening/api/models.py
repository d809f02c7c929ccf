"""Shared response/request shapes. Request models derive from `ApiModel`, which refuses NaN and
infinity, so a non-finite number is a 422, never a 500 further down."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")


class ErrorBody(BaseModel):
    """Every error the API returns (4xx and 5xx)."""

    code: str
    description: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Only on 422: each invalid field's location and message."
    )


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]


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
