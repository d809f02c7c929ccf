"""`clikit.system_connection`, the one way a CLI command reaches the database: a transaction
as the system actor, on an engine that is disposed when the command's work ends."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, QueuePool, text
from sqlalchemy.engine import URL

from hardening import clikit
from hardening.db.engine import system_engine
from hardening.errors import UserInputError
from hardening.settings import Settings


@pytest.fixture
def engines(test_db_url: URL, monkeypatch: pytest.MonkeyPatch) -> list[Engine]:
    """The real engines the helper makes, kept to look at after it is done with them."""
    made: list[Engine] = []

    def kept(settings: Settings) -> Engine:
        made.append(system_engine(settings))
        return made[-1]

    monkeypatch.setattr(clikit, "system_engine", kept)
    return made


def _pool(engine: Engine) -> QueuePool:
    assert isinstance(engine.pool, QueuePool)
    return engine.pool


def test_acts_as_the_system_then_disposes_its_engine(engines: list[Engine]) -> None:
    with clikit.system_connection() as conn:
        assert conn.execute(text("SELECT app_is_system()")).scalar_one() is True
        assert _pool(engines[0]).checkedout() == 1
    assert len(engines) == 1 and _pool(engines[0]).checkedin() == 0  # no pooled connection left


def test_an_error_rolls_back_and_still_disposes(engines: list[Engine]) -> None:
    with pytest.raises(UserInputError), clikit.system_connection() as conn:
        conn.execute(text("CREATE TABLE clikit_probe (n int)"))
        raise UserInputError("refused half-way")
    assert _pool(engines[0]).checkedin() == 0
    with clikit.system_connection() as conn:
        assert conn.execute(text("SELECT to_regclass('clikit_probe')")).scalar_one() is None
