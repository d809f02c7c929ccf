"""Engines and the one way to run a unit of work: a transaction that first sets the actor.

The actor travels in transaction-scoped settings (`set_config(..., true)`), never `SET` at
session level, so a pooled connection cannot carry one request's identity into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import psycopg.sql
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from hardening.db.urls import app_url_for, libpq_conninfo, owner_url
from hardening.errors import DatabaseUnavailableError
from hardening.settings import Settings


@dataclass(frozen=True)
class Actor:
    """Who is acting: RLS policies read these from the transaction's settings."""

    user_id: int | None
    org_id: str | None
    roles: tuple[str, ...] = field(default_factory=tuple)
    username: str = "system"

    @classmethod
    def system(cls) -> Actor:
        """Importers and the sample loader act as the admin of no organisation."""
        return cls(user_id=None, org_id=None, roles=("admin",), username="system")


def make_engine(url: URL, pool_size: int = 5) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def app_engine(settings: Settings) -> Engine:
    return make_engine(app_url_for(owner_url(settings), settings), settings.pool_size)


def owner_engine(settings: Settings) -> Engine:
    return make_engine(owner_url(settings), pool_size=2)


def set_actor(conn: Connection, actor: Actor) -> None:
    conn.execute(
        text(
            "SELECT set_config('app.user_id', :user_id, true), "
            "set_config('app.org_id', :org_id, true), "
            "set_config('app.roles', :roles, true), "
            "set_config('app.username', :username, true)"
        ),
        {
            "user_id": "" if actor.user_id is None else str(actor.user_id),
            "org_id": actor.org_id or "",
            "roles": ",".join(actor.roles),
            "username": actor.username,
        },
    )


@contextmanager
def transaction(engine: Engine, actor: Actor) -> Iterator[Connection]:
    """One unit of work as one actor; commits on success, rolls back on any error."""
    try:
        with engine.begin() as conn:
            set_actor(conn, actor)
            yield conn
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"database unavailable: {exc.orig}") from exc


def ensure_database(settings: Settings, url: URL) -> None:
    """Create the database named in url (and PostGIS in it) when missing."""
    try:
        with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{url.database}"')
        with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # No JIT: our queries are short and run under RLS, whose opaque policy functions
            # push cost estimates past the JIT thresholds (measured: JIT took 650 ms of a
            # 950 ms count). New sessions only; an analyst may still SET jit = on.
            conn.execute(
                psycopg.sql.SQL("ALTER DATABASE {} SET jit = off").format(
                    psycopg.sql.Identifier(str(url.database))
                )
            )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the database at {url.render_as_string()}: {exc}".strip()
        ) from exc
    except psycopg.errors.FeatureNotSupported as exc:
        raise DatabaseUnavailableError(f"PostGIS is not installed on that server: {exc}") from exc
