"""Settings, one class per concern, read from the environment with the HARDENING_ prefix.

Built by `get_settings()` (never at import time) so tests and commands can change the
environment before anything reads it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Example and demo values that must never guard a real database role.
PLACEHOLDER_SECRETS = frozenset(
    {"change-me", "changeme", "password", "secret", "another-secret", "hardening-demo", "postgres"}
)
MIN_SECRET_LENGTH = 16  # as docker-compose.yml's init check


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDENING_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="Owner/admin URL of an existing server; unset = the managed local cluster.",
    )
    app_database_url: str | None = Field(
        default=None,
        description="URL the service connects with (the non-owner application role); "
        "derived from database_url with user hardening_app when unset.",
    )
    app_password: str | None = Field(
        default=None, description="Password given to the application role (external servers)."
    )

    @field_validator("app_password")
    @classmethod
    def _refuse_placeholder_password(cls, value: str | None) -> str | None:
        if value is not None and (
            value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"HARDENING_APP_PASSWORD is a placeholder or shorter than {MIN_SECRET_LENGTH} "
                "characters: choose a real secret"
            )
        return value

    test_database_url: str | None = Field(
        default=None, description="Owner URL of a server for the test database."
    )
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".state",
        description="Where the managed cluster, logs and other local state live.",
    )
    database_name: str = "hardening"
    open_data_dir: Path | None = None
    sample_dir: Path = PROJECT_ROOT / "sample_data"
    pool_size: int = 5
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str | None = Field(
        default=None,
        description="The API's address as users' clients (QGIS) reach it, written into the "
        "map page's QGIS project; unset = http://api_host:api_port.",
    )

    @property
    def api_public_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
