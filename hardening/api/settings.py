"""API-only settings (env prefix HARDENING_API_); server, database and paths stay in
`hardening.settings`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDENING_API_", extra="ignore")

    max_body_bytes: int = Field(
        default=1_000_000, ge=0, description="Largest request body accepted; larger gets 413."
    )
    health_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="How long /healthz waits for the database."
    )
    title: str = "hardening API"
