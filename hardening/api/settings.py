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

    # The connection budget (docs/capacity.md). Look-ups and the control room use the main
    # pool (HARDENING_POOL_SIZE, doubled by overflow); heavy work (siting plans, schedules, the
    # yearly KPIs) has its own small pool and never waits long for it.
    heavy_pool_size: int = Field(
        default=3, ge=1, le=50, description="Connections for heavy routes' short transactions."
    )
    heavy_pool_timeout_s: float = Field(
        default=20.0, gt=0, le=60, description="How long heavy work waits for one, then 503."
    )
    heavy_in_flight: int = Field(
        default=24,
        ge=1,
        le=1000,
        description="Heavy requests admitted at once (solving or queued for a solver); more "
        "get 503. Keep it under the server's worker threads (40) so look-ups keep threads.",
    )
    heavy_per_user: int = Field(
        default=2, ge=1, le=100, description="Heavy requests one user may have in flight."
    )
    solver_processes: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Worker processes that run solvers (0: in the request's thread).",
    )
    solver_nice: int = Field(
        default=10, ge=0, le=19, description="Niceness of solver processes: look-ups first."
    )
    retry_after_s: int = Field(
        default=15, ge=1, le=3600, description="Retry-After sent with a 503 for saturation."
    )
