"""OGC API Features settings (env prefix HARDENING_OGC_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OgcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDENING_OGC_", extra="ignore")

    default_limit: int = Field(default=10, ge=1, le=10_000, description="Page size by default.")
    max_limit: int = Field(
        default=10_000, ge=1, le=100_000, description="Largest page; a larger limit is clamped."
    )
    count_cap: int = Field(
        default=100_000,
        ge=0,
        le=10_000_000,
        description="numberMatched is exact up to this many features, left out above it.",
    )
    title: str = "hardening OGC API - Features"
