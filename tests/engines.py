"""Engines for tests: the application role's privileges and policies on the owner's login.

Tests act as the system or as any user without a credential (the tooling trust of
sql/021_trust_boundary.sql: app_act_as_*), which the service's own login (hardening_app) cannot;
what they run is then checked by the same grants and policies as the service.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL

from hardening.db.engine import Actor, authenticate, make_engine, transaction
from hardening.db.urls import APP_ROLE, owner_url
from hardening.security.users import issue_token
from hardening.settings import get_settings


def app_role_engine(owner_url: URL, pool_size: int = 4) -> Engine:
    engine = make_engine(owner_url, pool_size=pool_size)

    @event.listens_for(engine, "connect")
    def as_application(dbapi_connection: Any, _: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}")
        dbapi_connection.commit()

    return engine


def service_engine_for(owner_url: URL, pool_size: int = 2) -> Engine:
    """The service's own login, as the API and the map connect."""
    return make_engine(owner_url.set(username=APP_ROLE, password=None), pool_size=pool_size)


def credentialed(actor: Actor | str) -> Actor:
    """A user (an actor of the world, or a username) as a page sees them after signing in: with
    a credential, since the pages run on the service's login (an API token here: the database
    accepts it like a sign-in session). The database is the current settings' one."""
    engine = make_engine(owner_url(get_settings()), pool_size=1)
    try:
        with transaction(engine, Actor.system()) as conn:
            username = (
                actor
                if isinstance(actor, str)
                else conn.execute(
                    text("SELECT username FROM users WHERE user_id = :u"), {"u": actor.user_id}
                ).scalar_one()
            )
            token = issue_token(conn, username, days=1).token
            return authenticate(conn, token)
    finally:
        engine.dispose()
