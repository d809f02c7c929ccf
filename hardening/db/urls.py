"""Which server and which role: the owner URL (migrations) and the application URL (requests)."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

from hardening.db.cluster import ManagedCluster
from hardening.settings import Settings

APP_ROLE = "hardening_app"


def _with_psycopg(url: URL) -> URL:
    return url.set(drivername="postgresql+psycopg")


def owner_url(settings: Settings, database: str | None = None) -> URL:
    """The URL that owns the schema: HARDENING_DATABASE_URL, or the managed cluster's."""
    if settings.database_url:
        url = _with_psycopg(make_url(settings.database_url))
    else:
        url = make_url(ManagedCluster(settings.state_dir).url(settings.database_name))
    return url.set(database=database) if database else url


def app_url_for(owner: URL, settings: Settings) -> URL:
    """The same server and database, as the non-owner application role."""
    if settings.app_database_url:
        return _with_psycopg(make_url(settings.app_database_url)).set(database=owner.database)
    return owner.set(username=APP_ROLE, password=settings.app_password)


def libpq_conninfo(url: URL) -> str:
    """A libpq URI for plain psycopg (multi-statement migrations, COPY)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
