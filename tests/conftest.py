"""Test database fixtures: a fresh, migrated PostGIS database per test session.

The database comes from HARDENING_TEST_DATABASE_URL (an owner URL) or the managed cluster, is
named per process so parallel runs never collide, and is dropped at the end. Each test that
takes `owner_conn` or `app_conn` runs inside a transaction that is rolled back. An unreachable
database fails the run: database tests never skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from engines import app_role_engine, service_engine_for
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL, make_url
from world import World
from world import build as build_world

from hardening.db.cluster import ManagedCluster
from hardening.db.engine import Actor, ensure_database, make_engine, set_actor, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo
from hardening.security.users import issue_token
from hardening.settings import PROJECT_ROOT, Settings, get_settings

TEST_DB = f"hardening_test_{os.getpid()}"


@pytest.fixture(scope="session")
def test_db_url() -> Iterator[URL]:
    base = Settings()
    if base.test_database_url:
        url = make_url(base.test_database_url).set(drivername="postgresql+psycopg")
    elif base.database_url:
        url = make_url(base.database_url).set(drivername="postgresql+psycopg")
    else:
        cluster = ManagedCluster(base.state_dir)
        cluster.up()
        url = make_url(cluster.url("postgres"))
    url = url.set(database=TEST_DB)
    try:
        _drop(url)
        ensure_database(base, url)
    except Exception as exc:  # the message says why; never a skip
        pytest.fail(f"test database unavailable at {url.render_as_string()}: {exc}")
    migrate(url)
    previous = os.environ.get("HARDENING_DATABASE_URL")
    os.environ["HARDENING_DATABASE_URL"] = url.render_as_string(hide_password=False)
    get_settings.cache_clear()
    yield url
    if previous is None:
        os.environ.pop("HARDENING_DATABASE_URL", None)
    else:
        os.environ["HARDENING_DATABASE_URL"] = previous
    get_settings.cache_clear()
    _drop(url)


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def owner_engine(test_db_url: URL) -> Iterator[Engine]:
    engine = make_engine(test_db_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app_engine(test_db_url: URL) -> Iterator[Engine]:
    """The application role's privileges and policies, on the owner's login: tests act as the
    system or as any world user without a credential (tooling trust, app_act_as_*), which the
    service's own login cannot (`service_engine`; tests/test_trust_boundary.py)."""
    engine = app_role_engine(test_db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def service_engine(test_db_url: URL) -> Iterator[Engine]:
    """The service's own login (hardening_app), as the API and the map connect."""
    engine = service_engine_for(test_db_url)
    yield engine
    engine.dispose()


def _rolled_back(engine: Engine, actor: Actor | None) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    if actor is not None:
        set_actor(conn, actor)
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def owner_conn(owner_engine: Engine) -> Iterator[Connection]:
    """A connection as the schema owner, rolled back after the test."""
    yield from _rolled_back(owner_engine, None)


@pytest.fixture
def app_conn(app_engine: Engine) -> Iterator[Connection]:
    """A connection as the application role acting as the system admin, rolled back after."""
    yield from _rolled_back(app_engine, Actor.system())


@pytest.fixture(scope="session")
def world(owner_engine: Engine) -> World:
    """The access-control test partnership (tests/world.py), committed once per session."""
    with owner_engine.begin() as conn:
        set_actor(conn, Actor.system())
        return build_world(conn)


@pytest.fixture(scope="module")
def tokens(owner_engine: Engine, world: World) -> dict[str, str]:
    """A bearer token for each of the world's actors, by role (a module's own world and
    database when it overrides them)."""
    with transaction(owner_engine, Actor.system()) as conn:
        return {
            name: issue_token(conn, f"t.{name.replace('_', '-')}", days=1).token
            for name in world.actors
        }


# Where the real public datasets sit beside a checkout when HARDENING_OPEN_DATA_DIR is unset.
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def open_data_dir() -> Path:
    """The real public datasets: HARDENING_OPEN_DATA_DIR, else ../shared/data beside the
    project; required in CI."""
    value = os.environ.get("HARDENING_OPEN_DATA_DIR")
    if not value:
        if SHARED_DATA.is_dir():
            return SHARED_DATA
        if os.environ.get("CI"):
            pytest.fail(f"HARDENING_OPEN_DATA_DIR is unset and {SHARED_DATA} is missing (CI)")
        pytest.skip(f"no open data at {SHARED_DATA}")  # outside CI only: CI fails above
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"HARDENING_OPEN_DATA_DIR={value} is not a directory")
    return path
