"""`hardening db ...`: the database's lifecycle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from hardening.clikit import JsonOption, emit, info
from hardening.db import backup, restore
from hardening.db.cluster import ManagedCluster
from hardening.db.engine import ensure_database
from hardening.db.migrate import applied_migrations, known_versions, migrate
from hardening.db.urls import libpq_conninfo, owner_url
from hardening.errors import DatabaseUnavailableError, UserInputError
from hardening.settings import get_settings

app = typer.Typer(help="Start, stop, migrate and inspect the database.", no_args_is_help=True)

MAIN_TABLES = (
    "areas", "organisations", "sharing_agreements", "agreement_areas", "users", "api_tokens",
    "lsoas", "imd_deciles", "postcode_units", "addresses", "buildings", "transport_hubs", "roads",
    "incidents", "county_lines", "county_line_status", "visits", "safe_markers", "marker_reviews",
    "protection_plans", "referrals", "harm_reduction_items", "installed_measures", "work_orders",
    "operatives", "cctv_sites", "anpr_sites", "risk_scores", "audit_log", "review_decisions",
)  # fmt: skip


def _cluster() -> ManagedCluster | None:
    settings = get_settings()
    return None if settings.database_url else ManagedCluster(settings.state_dir)


@app.command()
def up() -> None:
    """Start the managed local cluster (or check HARDENING_DATABASE_URL) and create the database."""
    settings = get_settings()
    cluster = _cluster()
    if cluster is not None:
        started = cluster.up()
        info(
            f"managed PostgreSQL {'started' if started else 'already running'} "
            f"(data {cluster.data_dir}, socket {cluster.socket_dir})"
        )
    ensure_database(settings, owner_url(settings))
    info(f"database ready: {owner_url(settings).render_as_string()}")


@app.command()
def down() -> None:
    """Stop the managed local cluster (nothing to do with HARDENING_DATABASE_URL)."""
    cluster = _cluster()
    if cluster is None:
        info("HARDENING_DATABASE_URL is set: that server is not ours to stop")
        return
    info("stopped" if cluster.down() else "was not running")


@app.command("migrate")
def migrate_command(as_json: JsonOption = False) -> None:
    """Apply pending migrations from sql/ (re-running is a no-op)."""
    settings = get_settings()
    url = owner_url(settings)
    ensure_database(settings, url)
    applied = migrate(url, settings.app_password)
    info(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    emit({"applied": applied}, as_json, lambda d: "up to date" if not d["applied"] else "done")


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Server and PostGIS versions, migrations and row counts of the main tables."""
    settings = get_settings()
    url = owner_url(settings)
    report: dict[str, Any] = {"url": url.render_as_string(), "managed": _cluster() is not None}
    try:
        with psycopg.connect(libpq_conninfo(url), connect_timeout=5) as conn:
            report["server_version"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            postgis = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
            ).fetchone()
            report["postgis_version"] = postgis[0] if postgis else None
            applied = applied_migrations(conn)
            report["migrations"] = {
                "applied": sorted(applied),
                "pending": [v for v in known_versions() if v not in applied],
            }
            counts: dict[str, int | None] = {}
            for table in MAIN_TABLES:
                exists = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
                counts[table] = (
                    conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
                    if exists and exists[0]
                    else None
                )
            report["row_counts"] = counts
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"database not reachable ({exc}); run `hardening db up`"
        ) from exc
    emit(report, as_json, _status_text)


def _status_text(report: dict[str, Any]) -> str:
    lines = [
        f"server  {report['server_version']}  postgis {report['postgis_version']}",
        f"migrations applied {len(report['migrations']['applied'])}, "
        f"pending {len(report['migrations']['pending'])}",
    ]
    lines += [f"  {table:<20} {count}" for table, count in report["row_counts"].items()]
    return "\n".join(lines)


@app.command()
def reset(yes: bool = typer.Option(False, "--yes", help="Confirm dropping all data.")) -> None:
    """Drop and recreate the database, then migrate. Destroys all data."""
    if not yes:
        raise UserInputError("reset drops every table and row: re-run with --yes to confirm")
    settings = get_settings()
    url = owner_url(settings)
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    ensure_database(settings, url)
    applied = migrate(url, settings.app_password)
    info(f"database {url.database} recreated; applied {len(applied)} migration(s)")


@app.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="File to write (pg_dump custom format).")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the file if it exists.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Back up the database with pg_dump (custom format) as the owner; the file is mode 0600."""
    report = backup.backup(owner_url(get_settings()), out, overwrite)
    emit(report, as_json, _backup_text)


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A dump made by `hardening db backup`.")],
    yes: bool = typer.Option(False, "--yes", help="Confirm replacing the database."),
    as_json: JsonOption = False,
) -> None:
    """Replace the database with a backup (loaded aside, swapped in only when whole)."""
    if not yes:
        raise UserInputError("restore replaces the whole database: re-run with --yes to confirm")
    settings = get_settings()
    report = restore.restore(owner_url(settings), file, settings)
    if not report["audit_chain"]["ok"]:
        info("warning: the restored audit chain does not verify: run `hardening audit verify`")
    if report["migrations_pending"]:
        info("the backup is from an older version: run `hardening db migrate`")
    emit(report, as_json, _backup_text)


def _backup_text(report: dict[str, Any]) -> str:
    if "bytes" in report:
        head = f"{report['database']} -> {report['file']} ({report['bytes']:,} bytes)"
    else:
        head = f"{report['file']} -> {report['database']}"
    lines = [f"{head} in {report['seconds']:.1f} s, {report['total_rows']:,} rows"]
    lines += [f"  {table:<28} {count:,}" for table, count in report["tables"].items() if count]
    return "\n".join(lines)
