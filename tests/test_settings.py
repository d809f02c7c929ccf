"""Settings refuse placeholder secrets, and the CLI says so in one line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from hardening.cli import app
from hardening.settings import Settings, get_settings


@pytest.mark.parametrize("password", ["change-me", "another-secret", "hardening-demo", "short"])
def test_placeholder_app_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError, match="placeholder or shorter"):
        Settings(app_password=password)


def test_a_real_app_password_is_kept() -> None:
    assert Settings(app_password="x7-Plover-harbour-99").app_password == "x7-Plover-harbour-99"


def test_the_cli_reports_a_placeholder_secret_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARDENING_APP_PASSWORD", "change-me")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "status", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().startswith("error: HARDENING_APP_PASSWORD is a placeholder")
    assert "Traceback" not in result.output
