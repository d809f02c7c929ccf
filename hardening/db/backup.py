"""Backups: `pg_dump -Fc` of the project database as the owner, written whole or not at all,
with row counts from the dump's own snapshot. Restoring is in `restore.py`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from hardening.db.migrate import applied_migrations
from hardening.db.urls import libpq_conninfo
from hardening.errors import DatabaseUnavailableError, SetupError, UserInputError

ARCHIVE_MAGIC = b"PGDMP"
CUSTOM_FORMAT = 1  # archCustom: byte 10 of the header (magic, 3 version bytes, 2 sizes)
PG_ROOTS = (Path("/usr/lib/postgresql"), Path("/usr/local/lib/postgresql"))

# Project tables (extension tables such as spatial_ref_sys left out), for counts and checks.
TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname"""


# -- binaries and connections ----------------------------------------------------------------
def _major(version_text: str) -> int | None:
    """`pg_dump (PostgreSQL) 15.20 (Debian ...)` -> 15."""
    for word in version_text.split():
        head = word.split(".")[0]
        if head.isdigit() and "." in word:
            return int(head)
    return None


def client_tool(name: str, server_major: int) -> Path:
    """pg_dump/pg_restore of the server's major version (a newer one also reads the server);
    Debian keeps each version in /usr/lib/postgresql/<v>/bin."""
    candidates: list[Path] = []
    for root in PG_ROOTS:
        if root.is_dir():
            exact = root / str(server_major) / "bin" / name
            newer = sorted(
                (p / "bin" / name for p in root.iterdir() if p.name.isdigit()),
                key=lambda p: int(p.parent.parent.name),
            )
            candidates += [exact, *newer]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for tool in candidates:
        if not tool.exists():
            continue
        out = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
        major = _major(out.stdout)
        if out.returncode == 0 and major is not None and major >= server_major:
            return tool
    raise SetupError(
        f"{name} for PostgreSQL {server_major} (or newer) not found: install it with "
        f"`sudo apt-get install postgresql-client-{server_major}`"
    )


def libpq_env(url: URL) -> tuple[str, dict[str, str]]:
    """A conninfo without the password (it would show in `ps`) and an env that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return libpq_conninfo(url.set(password=None)), env


@contextmanager
def connect(url: URL, autocommit: bool = False) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = psycopg.connect(libpq_conninfo(url), autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the database at {url.render_as_string()}: {exc}".strip()
        ) from exc
    with conn:
        yield conn


def table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (table,) in conn.execute(TABLES_SQL).fetchall():
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        counts[table] = int(conn.execute(query).fetchone()[0])  # type: ignore[index]
    return counts


def _bypasses_rls(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


# -- backup ------------------------------------------------------------------------------------
def backup(url: URL, out: Path, overwrite: bool = False) -> dict[str, Any]:
    """Dump the database to `out` (custom format, mode 0600): written to a temporary file in the
    same folder and renamed, so `out` is never half-written. Counts come from the dump's own
    snapshot, so they are exactly what the file holds."""
    out = out.expanduser().resolve()
    if not out.parent.is_dir():
        raise UserInputError(f"folder {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise UserInputError(f"{out} exists: pick another name or pass --overwrite")
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    started = time.perf_counter()
    with connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        server_version = conn.info.server_version
        pg_dump = client_tool("pg_dump", server_version // 10000)
        conninfo, env = libpq_env(url)
        args = [str(pg_dump), "--format=custom", f"--snapshot={snapshot}", f"--file={partial}"]
        if not _bypasses_rls(conn):
            args.append("--enable-row-security")  # FORCEd tables: the owner's maintenance policy
        try:
            result = subprocess.run(
                [*args, f"--dbname={conninfo}"], capture_output=True, text=True, env=env
            )
            if result.returncode != 0:
                raise SetupError(f"pg_dump failed: {errors(result.stderr)}")
            os.chmod(partial, 0o600)  # personal data: owner-only, whatever the umask
            counts = table_counts(conn)
            migrations = sorted(applied_migrations(conn))
            heads = _audit_heads(conn)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, out)
        finally:
            with suppress(FileNotFoundError):
                partial.unlink()
    return {
        "file": str(out),
        "bytes": out.stat().st_size,
        "seconds": round(time.perf_counter() - started, 3),
        "database": url.database,
        "server_version": server_version,
        "pg_dump": str(pg_dump),
        "migrations": migrations,
        "audit_chain_head": max(heads, key=lambda h: h["at"]) if heads else None,
        "audit_chain_heads": heads,
        "total_rows": sum(counts.values()),
        "tables": counts,
    }


def _audit_heads(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Each audit chain's newest row (sql/032): kept with a backup, they show later if rows
    were cut off a chain. (A database from before 032 has one chain, reported as chain 0.)"""
    if conn.execute("SELECT to_regclass('public.audit_log')").fetchone() == (None,):
        return []
    chained = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = 'audit_log'::regclass AND attname = 'chain'"
    ).fetchone()
    rows = conn.execute(
        "SELECT DISTINCT ON (chain) chain, chain_seq, row_hash, at FROM audit_log "
        "ORDER BY chain, chain_seq DESC"
        if chained
        else "SELECT 0, chain_seq, row_hash, at FROM audit_log "
        "ORDER BY chain_seq DESC NULLS LAST LIMIT 1"
    ).fetchall()
    return [
        {"chain": row[0], "chain_seq": row[1], "row_hash": row[2], "at": row[3].isoformat()}
        for row in rows
    ]


def errors(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    wanted = [line for line in lines if "error" in line.lower()] or lines
    return " | ".join(wanted[:3]) or "no message"


# -- restore -----------------------------------------------------------------------------------
def check_archive(path: Path) -> None:
    """Refuse anything that is not a pg_dump custom-format archive, before touching a database."""
    if not path.exists():
        raise UserInputError(f"backup file not found: {path}")
    if not path.is_file():
        raise UserInputError(f"{path} is not a file")
    with open(path, "rb") as handle:
        header = handle.read(11)
    if len(header) < 11 or not header.startswith(ARCHIVE_MAGIC):
        raise UserInputError(
            f"{path} is not a pg_dump custom-format archive (make one with `hardening db backup`)"
        )
    if header[10] != CUSTOM_FORMAT:
        raise UserInputError(
            f"{path} is a pg_dump archive but not custom format (-Fc); "
            "`hardening db backup` writes that format"
        )
