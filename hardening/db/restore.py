"""Restore a `hardening db backup` file: the dump is loaded into a scratch database, checked, and
only then swapped in place of the configured database (drop-and-recreate done as
load-then-rename), so a bad or truncated file leaves the running database exactly as it was.

pg_dump does not dump roles: restore first creates `hardening_app` the way migration 001 does
(with HARDENING_APP_PASSWORD when set), so the dump's GRANTs find it. The maintenance policies
name the owner role, so restore as an owner role of the same name as the backup's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from hardening.db.backup import check_archive, client_tool, connect, errors, libpq_env, table_counts
from hardening.db.engine import ensure_database, make_engine
from hardening.db.migrate import applied_migrations, known_versions
from hardening.db.urls import APP_ROLE
from hardening.errors import UserInputError
from hardening.settings import Settings

MAX_IDENTIFIER = 63

# Same statement as sql/001_core.sql.
APP_ROLE_SQL = f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END $$"""

# pg_restore runs its script with an empty search_path. Two things in this schema then fail:
# bng_geometry_ok() (a CHECK) finds no ST_SRID while the data loads, and a trigger's
# `WHEN (old.geom IS DISTINCT FROM new.geom)` finds no geometry `=` (IS DISTINCT FROM cannot be
# schema-qualified). Every name in the script is qualified, so loading it with the schema's own
# search_path changes nothing else.
EMPTY_SEARCH_PATH = b"SELECT pg_catalog.set_config('search_path', '', false);\n"
SCHEMA_SEARCH_PATH = b"SELECT pg_catalog.set_config('search_path', 'public', false);\n"
HEADER_LINES = 100


def restore(url: URL, dump: Path, settings: Settings) -> dict[str, Any]:
    """Replace the database named in `url` by the dump's contents (created when missing)."""
    dump = dump.expanduser().resolve()
    check_archive(dump)
    started = time.perf_counter()
    target = str(url.database)
    admin = url.set(database="postgres")
    with connect(admin, autocommit=True) as conn:
        server_major = conn.info.server_version // 10000
        pg_restore = client_tool("pg_restore", server_major)
        psql = client_tool("psql", server_major)
        listing = subprocess.run(
            [str(pg_restore), "--list", str(dump)], capture_output=True, text=True, check=False
        )
        if listing.returncode != 0:
            raise UserInputError(f"{dump} cannot be read: {errors(listing.stderr)}")
        conn.execute(APP_ROLE_SQL)
        if settings.app_password:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(APP_ROLE), sql.Literal(settings.app_password)
                )
            )
    scratch = url.set(database=f"{target[: MAX_IDENTIFIER - 20]}_restore_{os.getpid()}")
    _drop(admin, str(scratch.database))
    try:
        ensure_database(settings, scratch)  # PostGIS and pg_trgm in place, owned by us
        problem = _load(pg_restore, psql, dump, scratch)
        if problem:
            raise UserInputError(f"restore failed, database {target} left as it was: {problem}")
        report = _inspect(scratch)
        replaced = _swap(admin, str(scratch.database), target)
    except BaseException:
        _drop(admin, str(scratch.database))
        raise
    return {
        "file": str(dump),
        "database": target,
        "replaced_existing": replaced,
        "seconds": round(time.perf_counter() - started, 3),
        **report,
    }


def _load(pg_restore: Path, psql: Path, dump: Path, scratch: URL) -> str | None:
    """Stream `pg_restore` into `psql` as one transaction; returns the error, if any."""
    conninfo, env = libpq_env(scratch)
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        reader = subprocess.Popen(
            [str(pg_restore), "--file=-", str(dump)], stdout=subprocess.PIPE, stderr=restore_err
        )
        writer = subprocess.Popen(
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", "-", f"-d{conninfo}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        assert reader.stdout is not None and writer.stdin is not None
        with suppress(BrokenPipeError):  # psql stopped at an error: its stderr says which
            _copy_with_search_path(reader.stdout, writer.stdin)
        reader.stdout.close()
        with suppress(BrokenPipeError):
            writer.stdin.close()
        writer_code, reader_code = writer.wait(), reader.wait()
        if writer_code == 0 and reader_code == 0:
            return None
        failed = psql_err if writer_code != 0 else restore_err
        failed.seek(0)
        return errors(failed.read().decode(errors="replace"))


def _copy_with_search_path(source: IO[bytes], sink: IO[bytes]) -> None:
    for _ in range(HEADER_LINES):
        line = source.readline()
        if not line:
            return
        if line == EMPTY_SEARCH_PATH:
            sink.write(SCHEMA_SEARCH_PATH)
            break
        sink.write(line)
    shutil.copyfileobj(source, sink, 1 << 20)


def _inspect(url: URL) -> dict[str, Any]:
    """Migrations and audit chain of the restored copy; refuses one this code cannot run."""
    from hardening.security import audit  # the db layer uses it only here

    with connect(url) as conn:
        applied = applied_migrations(conn)
        counts = table_counts(conn)
    if not applied:
        raise UserInputError("the backup holds no hardening schema (no schema_migrations table)")
    known = known_versions()
    unknown = sorted(set(applied) - set(known))
    if unknown:
        raise UserInputError(
            f"the backup has migrations this version does not know ({', '.join(unknown)}): "
            "restore it with the newer version of hardening"
        )
    edited = sorted(v for v, checksum in applied.items() if known[v] != checksum)
    if edited:
        raise UserInputError(
            f"the backup's migrations {', '.join(edited)} differ from sql/: wrong version?"
        )
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            chain = audit.verify(conn)
    finally:
        engine.dispose()
    return {
        "migrations_pending": [v for v in known if v not in applied],
        "audit_chain": {
            "ok": chain.ok,
            "rows": chain.rows,
            "problems": chain.problems,
            "chains": chain.chains,  # each chain's rows and head: compare with the backup's
        },
        "total_rows": sum(counts.values()),
        "tables": counts,
    }


def _swap(admin: URL, scratch: str, target: str) -> bool:
    """Put `scratch` in place of `target`: the old one closed, renamed aside, then dropped."""
    ident = sql.Identifier
    with connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone()
        old = f"{target[: MAX_IDENTIFIER - 20]}_replaced_{os.getpid()}"
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(old)))
        if exists:
            _allow_connections(conn, target, False)
            try:
                _rename_when_closed(conn, target, old)
            except psycopg.Error:
                _allow_connections(conn, target, True)
                raise
        try:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(scratch), ident(target))
            )
        except psycopg.Error:
            if exists:  # put the old one back as it was
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(old), ident(target))
                )
                _allow_connections(conn, target, True)
            raise
        if exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident(old)))
    return bool(exists)


def _allow_connections(conn: psycopg.Connection[Any], database: str, allow: bool) -> None:
    conn.execute(
        sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
            sql.Identifier(database), sql.SQL("true" if allow else "false")
        )
    )


def _rename_when_closed(conn: psycopg.Connection[Any], database: str, new_name: str) -> None:
    """Close the sessions still open on `database` (new ones are refused) and rename it."""
    rename = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(database), sql.Identifier(new_name)
    )
    for attempt in range(10):
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
        try:
            conn.execute(rename)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 9:
                raise
            time.sleep(0.2)


def _drop(admin: URL, database: str) -> None:
    with connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
