"""Marker and look-up settings (env prefix HARDENING_MARKERS_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MarkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDENING_MARKERS_", extra="ignore")

    review_days: int = Field(
        default=90, ge=1, le=730, description="Days from creation or review to the next review."
    )
    near_repeat_m: float = Field(
        default=400.0, gt=0, le=2000, description="Radius of related incidents (metres)."
    )
    near_repeat_days: int = Field(
        default=56, ge=1, le=365, description="How far back related incidents go (days)."
    )
    nearby_m: float = Field(
        default=50.0, gt=0, le=500, description="Radius of neighbouring addresses' markers."
    )
    max_radius_m: float = Field(
        default=1000.0, gt=0, le=5000, description="Largest radius a point look-up may ask."
    )
    max_incidents: int = Field(
        default=100, ge=1, le=1000, description="Related incidents listed at most."
    )


@lru_cache(maxsize=1)
def get_marker_settings() -> MarkerSettings:
    """Read once per process, like `hardening.settings.get_settings`: reading the environment
    and .env file cost a look-up about 1 ms of its 5 ms of Python."""
    return MarkerSettings()
