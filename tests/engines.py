"""Engines and signed-in users for tests.

Tests act as the system or as any user without a credential on `app_role_engine` (the service
role's privileges on the owner's login: the tooling trust of sql/021_trust_boundary.sql), which
the service's own login (`service_engine_for`) cannot; pages run on the service's login, so
their users need a credential (`credentialed`).
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from hardening.db.engine import Actor, app_role_engine, authenticate, make_engine, transaction
from hardening.db.urls import APP_ROLE, owner_url
from hardening.security.users import issue_token
from hardening.settings import get_settings


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


__all__ = ["app_role_engine", "credentialed", "service_engine_for"]


def run_queued_jobs(owner_engine: Engine) -> None:
    """What `hardening worker --once` does, on the test database: run every queued job."""
    from hardening.jobs.queue import queue_app
    from hardening.settings import Settings

    queue_app(Settings(), owner_engine).run_worker(
        queues=["heavy"], wait=False, install_signal_handlers=False
    )
