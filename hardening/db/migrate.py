"""The migration runner: plain SQL files in sql/, each applied once in its own transaction.

Applied files are recorded with a checksum; a file edited after it landed is refused, since
migrations are never edited (add a new one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import URL

from hardening.db.urls import APP_ROLE, libpq_conninfo
from hardening.errors import SetupError
from hardening.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "sql"
QUEUE_VERSION = "procrastinate_schema"  # recorded beside our migrations
LOCK_KEY = 727_001  # advisory lock: two `migrate` runs never interleave


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration(p.stem, p) for p in sorted(directory.glob("[0-9][0-9][0-9]_*.sql"))]


def applied_migrations(conn: psycopg.Connection) -> dict[str, str]:
    exists = conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {version: checksum for version, checksum in rows}


def queue_schema_checksum() -> str:
    return hashlib.sha256(SchemaManager.get_schema().encode()).hexdigest()


def known_versions() -> dict[str, str]:
    """Every version `migrate` records, with its checksum: ours, then the queue's schema."""
    known = {m.version: m.checksum for m in available_migrations()}
    return known | {QUEUE_VERSION: queue_schema_checksum()}


def _install_queue_schema(conn: psycopg.Connection, done: dict[str, str]) -> list[str]:
    """The job queue's tables (procrastinate's own schema.sql) in their own schema, once.

    A procrastinate release that changes its schema changes the checksum: refused, like an
    edited migration, until its upgrade is written as a migration of ours."""
    schema_sql = SchemaManager.get_schema()
    checksum = queue_schema_checksum()
    if QUEUE_VERSION in done:
        if done[QUEUE_VERSION] != checksum:
            raise SetupError(
                "the installed procrastinate ships a different queue schema from the one in "
                "this database; pin procrastinate to the release in pyproject.toml or add a "
                "migration for its upgrade"
            )
        return []
    with conn.transaction():
        conn.execute("CREATE SCHEMA IF NOT EXISTS procrastinate")
        conn.execute("SET LOCAL search_path = procrastinate")
        conn.execute(schema_sql.encode())
        # Its functions and triggers name their tables unqualified: pin their search_path, so
        # they work from any session (ours do not have this schema on their path).
        functions = conn.execute(
            "SELECT oid::regprocedure::text FROM pg_proc "
            "WHERE pronamespace = 'procrastinate'::regnamespace"
        ).fetchall()
        for (function,) in functions:
            conn.execute(f"ALTER FUNCTION {function} SET search_path = procrastinate, pg_temp")
        conn.execute(
            "INSERT INTO public.schema_migrations (version, checksum) VALUES (%s, %s)",
            (QUEUE_VERSION, checksum),
        )
    return [QUEUE_VERSION]


def migrate(url: URL, app_password: str | None = None) -> list[str]:
    """Apply pending migrations; returns the versions applied now (empty when up to date)."""
    applied_now: list[str] = []
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
                "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = applied_migrations(conn)
            for migration in available_migrations():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise SetupError(
                            f"migration {migration.version} was edited after it was applied; "
                            "add a new migration instead"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                        (migration.version, migration.checksum),
                    )
                applied_now.append(migration.version)
            applied_now += _install_queue_schema(conn, done)
            if app_password:
                conn.execute(
                    psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        psycopg.sql.Identifier(APP_ROLE), psycopg.sql.Literal(app_password)
                    )
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now
