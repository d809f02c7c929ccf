"""`hardening db backup` / `db restore` through the real CLI: the test database (the world plus a
few audit rows) is dumped, restored into a new database and compared table by table, with its
policies, RLS flags, grants, triggers and migrations; bad files leave the database untouched."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from engines import app_role_engine
from sqlalchemy import text
from sqlalchemy.engine import URL
from typer.testing import CliRunner, Result
from world import UPRN_BASE, World

from hardening.cli import app
from hardening.db.backup import TABLES_SQL, client_tool
from hardening.db.engine import Actor, transaction
from hardening.db.urls import APP_ROLE, libpq_conninfo
from hardening.security import audit
from hardening.settings import get_settings

runner = CliRunner()
REASON = "backup test: checking the restored chain"


def _run(args: list[str]) -> Result:
    return runner.invoke(app, args)


def _json(args: list[str]) -> dict[str, Any]:
    result = _run([*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@contextmanager
def _configured(url: URL) -> Iterator[None]:
    """Point the CLI's settings at another database for the duration."""
    previous = os.environ["HARDENING_DATABASE_URL"]
    os.environ["HARDENING_DATABASE_URL"] = url.render_as_string(hide_password=False)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ["HARDENING_DATABASE_URL"] = previous
        get_settings.cache_clear()


def snapshot(url: URL) -> dict[str, Any]:
    """Everything a restore must keep, read as the owner."""
    with psycopg.connect(libpq_conninfo(url)) as conn:
        tables = [row[0] for row in conn.execute(TABLES_SQL).fetchall()]
        rows = {}
        for table in tables:
            quoted = psycopg.sql.Identifier(table).as_string(conn)
            rows[table] = conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {quoted} t"
            ).fetchone()

        def query(statement: str) -> list[tuple[Any, ...]]:
            return conn.execute(statement).fetchall()

        return {
            "rows": rows,
            "policies": query(
                "SELECT tablename, policyname, permissive, roles, cmd, qual, with_check "
                "FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2"
            ),
            "rls_flags": query(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') "
                "ORDER BY 1"
            ),
            "migrations": query(
                "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1"
            ),
            "table_grants": query(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                f"WHERE grantee = '{APP_ROLE}' ORDER BY 1, 2"
            ),
            "column_grants": query(
                "SELECT table_name, column_name, privilege_type "
                f"FROM information_schema.column_privileges WHERE grantee = '{APP_ROLE}' "
                "ORDER BY 1, 2, 3"
            ),
            "function_grants": query(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "WHERE p.pronamespace = 'public'::regnamespace "
                f"AND has_function_privilege('{APP_ROLE}', p.oid, 'EXECUTE') ORDER BY 1"
            ),
            "triggers": query(
                "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal ORDER BY 1, 2"
            ),
            "owners": query(
                "SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v') "
                "ORDER BY 1"
            ),
            "sequences": query(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
                "ORDER BY 1"
            ),
        }


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def backed_up(
    world: World, test_db_url: URL, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The test database plus a few committed audit rows, dumped; and its snapshot then."""
    engine = app_role_engine(test_db_url, pool_size=1)
    try:
        with transaction(engine, world.actors["control_room"]) as conn:
            for uprn in world.homes_a[:3]:
                audit.record(conn, "consultation", "address", uprn, justification=REASON)
    finally:
        engine.dispose()
    out = tmp_path_factory.mktemp("backup") / "hardening.dump"
    report = _json(["db", "backup", "--out", str(out)])
    return out, report, snapshot(test_db_url)


@pytest.fixture(scope="module")
def restored(
    backed_up: tuple[Path, dict[str, Any], dict[str, Any]], test_db_url: URL
) -> Iterator[tuple[URL, dict[str, Any]]]:
    """The dump restored into a new, uniquely named database (dropped at the end)."""
    url = test_db_url.set(database=f"hardening_restore_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    try:
        with _configured(url):
            report = _json(["db", "restore", str(backed_up[0]), "--yes"])
        yield url, report
    finally:
        _drop(url)


def test_backup_writes_a_private_custom_format_file(
    backed_up: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    path, report, source = backed_up
    assert path.read_bytes()[:5] == b"PGDMP"
    assert path.stat().st_mode & 0o777 == 0o600
    assert report["bytes"] == path.stat().st_size > 0
    assert report["tables"] == {table: count for table, (count, _) in source["rows"].items()}
    assert report["tables"]["addresses"] >= 30
    heads = report["audit_chain_heads"]  # one per chain written to (sql/032)
    assert sum(h["chain_seq"] for h in heads) == report["tables"]["audit_log"] >= 3
    assert report["audit_chain_head"] == max(heads, key=lambda h: h["at"])
    assert not list(path.parent.glob(".*partial*"))
    before = path.read_bytes()
    again = _run(["db", "backup", "--out", str(path)])
    assert again.exit_code == 1 and "exists" in again.output and "Traceback" not in again.output
    assert path.read_bytes() == before
    nowhere = _run(["db", "backup", "--out", str(path.parent / "missing" / "x.dump")])
    assert nowhere.exit_code == 1 and nowhere.output.startswith("error: ")
    assert "does not exist" in nowhere.output


def test_round_trip_keeps_rows_policies_flags_grants_and_migrations(
    backed_up: tuple[Path, dict[str, Any], dict[str, Any]],
    restored: tuple[URL, dict[str, Any]],
) -> None:
    url, report = restored
    source = backed_up[2]
    copy = snapshot(url)
    for key in source:
        assert copy[key] == source[key], key
    assert ("addresses", True, True) in copy["rls_flags"]
    assert ("audit_log", True, True) in copy["rls_flags"]
    assert any(p[0] == "addresses" for p in copy["policies"])
    assert report["replaced_existing"] is False
    assert report["migrations_pending"] == []
    assert report["audit_chain"]["ok"] is True
    held = [
        {k: h[k] for k in ("chain", "chain_seq", "row_hash")}
        for h in backed_up[1]["audit_chain_heads"]
    ]
    assert [
        {k: c[k] for k in ("chain", "chain_seq", "row_hash")}
        for c in report["audit_chain"]["chains"]
    ] == held  # each chain restored up to the head the backup recorded


def test_restored_database_needs_no_migration_and_its_audit_chain_verifies(
    backed_up: tuple[Path, dict[str, Any], dict[str, Any]],
    restored: tuple[URL, dict[str, Any]],
) -> None:
    url, _ = restored
    with _configured(url):
        assert _json(["db", "migrate"]) == {"applied": []}
        verified = _json(["audit", "verify"])
    assert verified["ok"] is True
    assert verified["rows"] == backed_up[2]["rows"]["audit_log"][0] >= 3


def test_app_role_is_still_filtered_by_rls_in_the_restored_database(
    world: World, restored: tuple[URL, dict[str, Any]]
) -> None:
    url, _ = restored
    engine = app_role_engine(url, pool_size=1)
    ours = text("SELECT uprn FROM addresses WHERE uprn BETWEEN :lo AND :hi")
    span = {"lo": UPRN_BASE, "hi": UPRN_BASE + 29}
    try:
        seen = {}
        for name in ("housing_a", "housing_b", "control_room", "planner"):
            with transaction(engine, world.actors[name]) as conn:
                seen[name] = set(conn.execute(ours, span).scalars())
        with transaction(engine, Actor(user_id=None, org_id=None)) as conn:
            nobody = conn.execute(ours, span).all()
            owner = conn.execute(text("SELECT current_user")).scalar_one()
        # The chain goes on from the restored head: trigger, sequence and grants came back.
        with transaction(engine, world.actors["control_room"]) as conn:
            audit.record(conn, "consultation", "address", world.homes_a[0], justification=REASON)
        with transaction(engine, Actor.system()) as conn:
            chain = audit.verify(conn)
    finally:
        engine.dispose()
    assert seen["housing_a"] == set(world.homes_a)
    assert seen["housing_b"] == set(world.homes_b)
    assert seen["control_room"] == set(world.homes_a + world.homes_b + world.south_homes)
    assert seen["planner"] == set()
    assert nobody == [] and owner == APP_ROLE
    assert chain.ok and chain.rows >= 4


def _leftovers(url: URL) -> list[str]:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres"))) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
            (f"{url.database}_restore_%", f"{url.database}_replaced_%"),
        ).fetchall()
    return [row[0] for row in rows]


def test_bad_files_leave_the_database_untouched_and_a_good_one_replaces_it(
    backed_up: tuple[Path, dict[str, Any], dict[str, Any]],
    restored: tuple[URL, dict[str, Any]],
    tmp_path: Path,
) -> None:
    url, _ = restored
    dump, _, source = backed_up
    before = snapshot(url)
    not_a_dump = tmp_path / "notes.dump"
    not_a_dump.write_text("SELECT 1;\n")
    empty = tmp_path / "empty.dump"
    empty.write_bytes(b"")
    cut_toc = tmp_path / "cut_toc.dump"
    cut_toc.write_bytes(dump.read_bytes()[: dump.stat().st_size // 4])
    cut_data = tmp_path / "cut_data.dump"  # its table of contents reads; its data does not
    cut_data.write_bytes(dump.read_bytes()[:-16])
    foreign = tmp_path / "foreign.dump"  # a good custom-format dump of another database
    conninfo = libpq_conninfo(url.set(database="postgres"))
    with psycopg.connect(conninfo) as conn:
        pg_dump = client_tool("pg_dump", conn.info.server_version // 10000)
    subprocess.run([str(pg_dump), "-Fc", f"--file={foreign}", f"--dbname={conninfo}"], check=True)
    cases = [
        ([str(tmp_path / "missing.dump"), "--yes"], "backup file not found"),
        ([str(not_a_dump), "--yes"], "not a pg_dump custom-format archive"),
        ([str(empty), "--yes"], "not a pg_dump custom-format archive"),
        ([str(tmp_path), "--yes"], "is not a file"),
        ([str(dump)], "--yes"),
        ([str(cut_toc), "--yes"], "cannot be read"),
        ([str(cut_data), "--yes"], "left as it was"),
        ([str(foreign), "--yes"], "holds no hardening schema"),
    ]
    with _configured(url):
        for args, message in cases:
            result = _run(["db", "restore", *args])
            assert result.exit_code == 1, (args, result.output)
            assert result.output.startswith("error: ") and message in result.output, args
            assert "Traceback" not in result.output
        assert snapshot(url) == before
        assert _leftovers(url) == []
        report = _json(["db", "restore", str(dump), "--yes"])
    assert report["replaced_existing"] is True
    assert snapshot(url) == source  # the row the previous test added is gone again
    assert _leftovers(url) == []
