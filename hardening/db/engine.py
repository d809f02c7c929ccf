"""Engines and the one way to run a unit of work: a transaction that first sets the actor.

The database establishes the actor (sql/021_trust_boundary.sql): the service presents the
user's credential (an API token or a sign-in session's token) to `app_authenticate`; the
system actor and acting as a named user without a credential are open only to sessions that
logged in as the schema owner (`system_engine`: importers, CLI maintenance). The actor lives
for one transaction, so a pooled connection cannot carry one request's identity into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.sql
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, ProgrammingError

from hardening.db.urls import APP_ROLE, app_url_for, libpq_conninfo, owner_url
from hardening.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    NotFoundError,
    PermissionDeniedError,
)
from hardening.settings import Settings


@dataclass(frozen=True)
class Actor:
    """Who is acting. The fields say who the database established (`authenticate`); the
    credential is what proves it again in each transaction (never shown, never compared)."""

    user_id: int | None
    org_id: str | None
    roles: tuple[str, ...] = field(default_factory=tuple)
    username: str = "system"
    credential: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def system(cls) -> Actor:
        """Importers and the sample loader act as the admin of no organisation."""
        return cls(user_id=None, org_id=None, roles=("admin",), username="system")

    @property
    def is_system(self) -> bool:
        return self.user_id is None and "admin" in self.roles


NOBODY = Actor(user_id=None, org_id=None)


def make_engine(url: URL, pool_size: int = 5) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def app_engine(settings: Settings) -> Engine:
    return make_engine(app_url_for(owner_url(settings), settings), settings.pool_size)


def owner_engine(settings: Settings) -> Engine:
    return make_engine(owner_url(settings), pool_size=2)


def app_role_engine(url: URL, pool_size: int = 4) -> Engine:
    """The service role's privileges and policies on the owner's login (url: the owner's), for
    tools that act as the system or as named users without a credential, and must be checked
    like the service: tests and benchmarks. Never for the API or the map."""
    engine = make_engine(url, pool_size)

    @event.listens_for(engine, "connect")
    def as_application(dbapi_connection: Any, _: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}")
        dbapi_connection.commit()

    return engine


def system_engine(settings: Settings) -> Engine:
    """For system work (importers, scoring, CLI maintenance): the schema owner's login, which
    the service's credentials cannot reach."""
    return owner_engine(settings)


def authenticate(conn: Connection, credential: str) -> Actor:
    """Act, for the rest of conn's transaction, as whoever the credential belongs to."""
    row = conn.execute(
        text("SELECT user_id, org_id, roles, username FROM app_authenticate(:c)"),
        {"c": credential},
    ).first()
    if row is None:
        raise AuthenticationError("invalid, expired or revoked token, or the session has ended")
    return Actor(int(row.user_id), str(row.org_id), tuple(row.roles), str(row.username),
                 credential)  # fmt: skip


def authenticate_basic(conn: Connection, username: str, token: str) -> Actor | str:
    """HTTP Basic: act as `username` when `token` is one of their live API tokens; else why
    not (a wrong try counts towards the sign-in guard, so commit before refusing)."""
    row = conn.execute(
        text(
            "SELECT outcome, user_id, org_id, roles, username, locked_until "
            "FROM app_authenticate_basic(:u, :t)"
        ),
        {"u": username, "t": token},
    ).one()
    if row.outcome == "locked":
        return (
            f"too many failed sign-ins: this account is locked until {row.locked_until:%H:%M} (UTC)"
        )
    if row.outcome != "ok":
        return "wrong username or API token (HTTP Basic takes an API token as the password)"
    return Actor(int(row.user_id), str(row.org_id), tuple(row.roles), str(row.username), token)


def set_actor(conn: Connection, actor: Actor) -> None:
    """Establish actor for the rest of conn's transaction: by its credential when it has one;
    the system or a named user only on a schema owner's session (else PermissionDeniedError)."""
    if actor.credential is not None:
        if authenticate(conn, actor.credential).user_id != actor.user_id:
            raise AuthenticationError("the credential belongs to another user")
        return
    if actor.user_id is None and not actor.is_system:
        conn.execute(text("SELECT app_act_as_nobody()"))
        return
    try:
        if actor.is_system:
            conn.execute(text("SELECT app_act_as_system()"))
            return
        conn.execute(text("SELECT app_act_as_user(:u)"), {"u": actor.user_id})
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) == "P0002":  # no_data_found
            raise NotFoundError(f"no user with id {actor.user_id}") from exc
        raise PermissionDeniedError(
            "this connection may act only with a user's credential (the service's role); "
            "system work runs on the schema owner's connection (system_engine)"
        ) from exc
    # A named user on the owner's session takes the service's privileges: their policies apply.
    conn.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))


@contextmanager
def transaction(engine: Engine, actor: Actor) -> Iterator[Connection]:
    """One unit of work as one actor; commits on success, rolls back on any error. A new
    transaction has no actor (auth_context is per transaction), so acting as nobody costs no
    statement here: the API authenticates its token right after, on the hot path."""
    try:
        with engine.begin() as conn:
            if actor != NOBODY:
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
