"""The audit chain's encoding and its anchored heads, on a database of this module's own.

The database is migrated up to just before 023_audit_encoding, given a few audit rows the old
way (version 1), then migrated to the end: so the version-1 rows here were really written before
the migration. Tests then edit the chain as the database owner (a superuser): by moving text
between adjacent fields, and by editing a row and re-hashing every later row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from engines import app_role_engine
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from hardening.cli import app as cli_app
from hardening.db import migrate as migrations
from hardening.db.engine import Actor, ensure_database, make_engine, set_actor, transaction
from hardening.db.urls import libpq_conninfo
from hardening.errors import UserInputError
from hardening.security import audit
from hardening.settings import Settings, get_settings

ENCODING_MIGRATION = "023_audit_encoding"
AUDITOR = Actor(user_id=7, org_id="t-police", roles=("admin",), username="t.auditor")
# Rows written before the migration: (action, object_id, justification, recipient).
LEGACY: list[tuple[audit.Action, str | None, str | None, str | None]] = [
    ("consultation", "1", "fuzz", None),
    ("disclosure", "2", "court order", "county court"),
    ("collection", None, None, None),
]
LEGACY_BIDI = "written \u202e before the CHECK"  # stored before 023: not re-checked

runner = CliRunner()


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def chain_db(test_db_url: URL) -> Iterator[tuple[URL, Engine]]:
    url = test_db_url.set(database=f"{test_db_url.database}_audit")
    _drop(url)
    ensure_database(Settings(), url)
    everything = migrations.available_migrations()
    assert ENCODING_MIGRATION in [m.version for m in everything]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            migrations,
            "available_migrations",
            lambda: [m for m in everything if m.version < ENCODING_MIGRATION],
        )
        migrations.migrate(url)
    owner = make_engine(url, pool_size=2)
    with owner.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (org_id, name, kind) VALUES (:o, 'T', 'police')"),
            {"o": AUDITOR.org_id},
        )
        conn.execute(
            text(
                "INSERT INTO users (user_id, org_id, username, display_name, roles) "
                "OVERRIDING SYSTEM VALUE VALUES (:i, :o, :u, :u, '{admin}')"
            ),
            {"i": AUDITOR.user_id, "o": AUDITOR.org_id, "u": AUDITOR.username},
        )
    with transaction(owner, AUDITOR) as conn:
        for action, object_id, why, to in LEGACY:
            audit.record(conn, action, "visit", object_id, why, to)
        conn.execute(
            text(
                "INSERT INTO audit_log (action, object_type, justification) "
                "VALUES ('alteration', 'visit', :why)"
            ),
            {"why": LEGACY_BIDI},
        )
    assert ENCODING_MIGRATION in migrations.migrate(url)
    yield url, owner
    owner.dispose()
    _drop(url)


@pytest.fixture
def owner(chain_db: tuple[URL, Engine]) -> Iterator[Connection]:
    """The owner (a superuser here) in a transaction rolled back after the test."""
    conn = chain_db[1].connect()
    outer = conn.begin()
    set_actor(conn, AUDITOR)
    conn.execute(text("RESET ROLE"))  # acting as the auditor took the service's role
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


def _rechain(conn: Connection, from_seq: int) -> None:
    """What a superuser can do after an edit: re-hash that row and every later one, in order,
    with the functions the database itself uses."""
    seqs = conn.execute(
        text("SELECT chain_seq FROM audit_log WHERE chain_seq >= :s ORDER BY chain_seq"),
        {"s": from_seq},
    ).scalars()
    for seq in list(seqs):
        conn.execute(
            text(
                "UPDATE audit_log SET prev_hash = (SELECT row_hash FROM audit_log "
                "WHERE chain_seq = :s - 1) WHERE chain_seq = :s"
            ),
            {"s": seq},
        )
        conn.execute(
            text("UPDATE audit_log a SET row_hash = audit_expected_hash(a) WHERE chain_seq = :s"),
            {"s": seq},
        )


def _seq_of(conn: Connection, justification: str) -> int:
    return int(
        conn.execute(
            text("SELECT chain_seq FROM audit_log WHERE justification = :j"), {"j": justification}
        ).scalar_one()
    )


def _newest(conn: Connection) -> int:
    return int(conn.execute(text("SELECT max(chain_seq) FROM audit_log")).scalar_one())


def _edited(conn: Connection) -> list[int]:
    return [
        p["chain_seq"] for p in audit.verify(conn).problems if p["problem"].startswith("row was")
    ]


def test_rows_written_before_the_migration_still_verify(owner: Connection) -> None:
    rows = owner.execute(
        text("SELECT chain_seq, hash_version, object_type, details FROM audit_log ORDER BY 1")
    ).all()
    assert [r.hash_version for r in rows[:4]] == [1, 1, 1, 1]
    seal = rows[4]
    assert (seal.hash_version, seal.object_type) == (2, "audit_chain")
    assert seal.details["v1_seal"]["rows"] == 4
    report = audit.verify(owner)
    assert report.ok, report.problems
    assert report.rows == len(rows)
    audit.record(owner, "consultation", "visit", 9, "after the migration")
    new = owner.execute(
        text("SELECT hash_version, row_hash, audit_row_hash_v2(a) AS v2 FROM audit_log a "
             "ORDER BY chain_seq DESC LIMIT 1")
    ).one()  # fmt: skip
    assert new.hash_version == 2 and new.row_hash == new.v2
    assert audit.verify(owner).ok


def test_moving_text_between_fields_is_caught_without_heads(owner: Connection) -> None:
    audit.record(owner, "consultation", "visit", 1, "fuzz")
    first = _newest(owner)
    audit.record(owner, "consultation", "visit", 2, "fuzz-court", recipient="bob")
    second = _newest(owner)
    # (edit, the fields it changes): the text moves, the version-1 encoding would not change.
    moves = [
        (first, "object_id = NULL, justification = '1|fuzz'"),
        (second, "justification = 'fuzz-court|bob', recipient = NULL"),
    ]
    for seq, change in moves:
        with owner.begin_nested() as edit:
            before = owner.execute(
                text("SELECT audit_row_hash(a) FROM audit_log a WHERE chain_seq = :s"), {"s": seq}
            ).scalar_one()
            owner.execute(text(f"UPDATE audit_log SET {change} WHERE chain_seq = :s"), {"s": seq})
            after = owner.execute(
                text("SELECT audit_row_hash(a) FROM audit_log a WHERE chain_seq = :s"), {"s": seq}
            ).scalar_one()
            assert after == before  # the old encoding cannot see this edit
            assert _edited(owner) == [seq]  # version 2 can
            edit.rollback()
    assert audit.verify(owner).ok


def test_moving_text_in_a_version_1_row_is_caught_by_the_seal(owner: Connection) -> None:
    legacy = 1  # ("consultation", "1", "fuzz", None), written before the migration
    owner.execute(
        text("UPDATE audit_log SET object_id = NULL, justification = '1|fuzz' "
             "WHERE chain_seq = :s"),
        {"s": legacy},
    )  # fmt: skip
    report = audit.verify(owner)
    assert _edited(owner) == []  # its own (version-1) hash still matches...
    assert [p["problem"] for p in report.problems] == [
        "the version-1 rows before this seal were edited (their digest does not match)"
    ]  # ...but the seal over the version-1 rows does not


def test_a_row_turned_back_to_version_1_is_refused(owner: Connection) -> None:
    """Re-hashing a new row under the ambiguous encoding (and so re-opening the field-move
    edit) leaves a version-1 row after version-2 ones, which never happens otherwise."""
    audit.record(owner, "consultation", "visit", 1, "fuzz")
    seq = _newest(owner)
    owner.execute(
        text("UPDATE audit_log SET hash_version = 1, object_id = NULL, "
             "justification = '1|fuzz' WHERE chain_seq = :s"),
        {"s": seq},
    )  # fmt: skip
    _rechain(owner, seq)
    assert [p["problem"] for p in audit.verify(owner).problems] == [
        "hash version 1 after a version 2 row (version changed)"
    ]


def test_a_rechained_edit_passes_verify_but_not_a_recorded_head(owner: Connection) -> None:
    for n in range(4):
        audit.record(owner, "consultation", "visit", n, f"rechain check {n}")
    head = audit.head(owner)
    audit.record(owner, "consultation", "visit", 9, "after the head")
    assert audit.verify(owner, [head]).ok
    edited = _seq_of(owner, "rechain check 1")
    owner.execute(
        text("UPDATE audit_log SET justification = 'nothing to see' WHERE chain_seq = :s"),
        {"s": edited},
    )
    assert _edited(owner) == [edited]
    _rechain(owner, edited)
    plain = audit.verify(owner)
    assert plain.ok  # the documented limit: a re-hashed chain is consistent again
    anchored = audit.verify(owner, [head])
    assert anchored.heads == 1
    assert anchored.problems == [
        {
            "chain_seq": head.chain_seq,
            "problem": f"recorded head {head.chain_seq} ({head.at.isoformat()}) does not match: "
            f"the chain's row {head.chain_seq} has a different hash (rewritten since it was "
            "recorded)",
        }
    ]
    # The newest rows deleted: the chain is shorter but consistent; the head is gone.
    owner.execute(text("DELETE FROM audit_log WHERE chain_seq >= :s"), {"s": head.chain_seq})
    assert audit.verify(owner).ok
    gone = audit.verify(owner, [head]).problems
    assert [p["chain_seq"] for p in gone] == [head.chain_seq]
    assert "no longer in the chain" in gone[0]["problem"]


def test_the_application_role_cannot_choose_chain_fields(chain_db: tuple[URL, Engine]) -> None:
    engine = app_role_engine(chain_db[0], pool_size=1)
    try:
        with engine.connect() as conn, conn.begin() as outer:
            set_actor(conn, AUDITOR)
            newest = conn.execute(text("SELECT max(chain_seq) FROM audit_log")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO audit_log (action, object_type, justification, hash_version, "
                    "chain_seq, prev_hash, row_hash, at, actor_user_id, actor_org_id) VALUES "
                    "('collection', 'visit', 'forged', 1, 1000000, 'forged', 'forged', "
                    "'2000-01-01', 999, 'someone-else')"
                )
            )
            row = conn.execute(text("SELECT * FROM audit_log WHERE justification = 'forged'")).one()
            assert row.hash_version == 2 and row.chain_seq == newest + 1
            assert row.prev_hash != "forged" and row.row_hash != "forged"
            assert (row.actor_user_id, row.actor_org_id) == (AUDITOR.user_id, AUDITOR.org_id)
            assert abs(row.at - datetime.now(UTC)) < timedelta(minutes=5)
            assert audit.verify(conn).ok
            for change in ("hash_version = 1", "row_hash = 'x'"):
                with (
                    pytest.raises(ProgrammingError, match="permission denied"),
                    conn.begin_nested(),
                ):
                    conn.execute(text(f"UPDATE audit_log SET {change}"))
            outer.rollback()
    finally:
        engine.dispose()


def test_heads_file_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such heads file"):
        audit.read_heads(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    good = '{"chain_seq": 3, "row_hash": "ab", "at": "2025-01-01T00:00:00+00:00"}'
    for content, line in (
        (f"{good}\nnot json\n", 2),
        ('{"chain_seq": "3", "row_hash": "ab", "at": "2025-01-01T00:00:00+00:00"}\n', 1),
        ('{"chain_seq": 3, "at": "2025-01-01"}\n', 1),
        (f"{good}\n\n" + '{"chain_seq": 3, "row_hash": "ab", "at": "yesterday"}\n', 3),
    ):
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(UserInputError, match=f"bad.jsonl line {line}: not a recorded head"):
            audit.read_heads(bad)
    bad.write_text("\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="holds no recorded heads"):
        audit.read_heads(bad)


# -- through the CLI: it commits, so each edit below is undone before the test ends -----------


@pytest.fixture
def cli_db(chain_db: tuple[URL, Engine], monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The CLI pointed at this module's database; yields its owner engine."""
    monkeypatch.setenv("HARDENING_DATABASE_URL", chain_db[0].render_as_string(False))
    get_settings.cache_clear()
    yield chain_db[1]
    get_settings.cache_clear()


def _committed(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_cli_head_and_verify_heads(cli_db: Engine, tmp_path: Path) -> None:
    heads = tmp_path / "heads.jsonl"
    with transaction(cli_db, AUDITOR) as conn:
        for n in range(3):
            audit.record(conn, "consultation", "visit", n, f"cli check {n}")
    first = runner.invoke(cli_app, ["audit", "head", "--out", str(heads)])
    assert first.exit_code == 0, first.output
    assert "recorded head" in first.output and str(heads) in first.output
    with transaction(cli_db, AUDITOR) as conn:
        audit.record(conn, "consultation", "visit", 9, "cli check later")
    second = runner.invoke(cli_app, ["audit", "head", "--out", str(heads), "--json"])
    assert second.exit_code == 0, second.output
    reported = json.loads(second.stdout)
    lines = [json.loads(line) for line in heads.read_text(encoding="utf-8").splitlines()]
    assert [set(line) for line in lines] == [{"chain_seq", "row_hash", "at", "recorded_at"}] * 2
    assert lines[1]["chain_seq"] == lines[0]["chain_seq"] + 1 == reported["chain_seq"]
    assert lines[1]["row_hash"] == reported["row_hash"]

    ok = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {"ok": True, "rows": _rows(cli_db), "problems": [], "heads": 2}
    human = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads)])
    assert human.exit_code == 0 and "2 recorded heads held" in human.output

    edited = lines[0]["chain_seq"] - 1  # "cli check 1", before both heads
    _committed(
        cli_db, "UPDATE audit_log SET justification = 'nothing' WHERE chain_seq = :s", s=edited
    )
    try:
        caught = runner.invoke(cli_app, ["audit", "verify"])
        assert caught.exit_code == 1 and f"'chain_seq': {edited}" in caught.output
        with cli_db.begin() as conn:
            _rechain(conn, edited)
        plain = runner.invoke(cli_app, ["audit", "verify"])
        assert plain.exit_code == 0, plain.output  # the limit heads are there for
        anchored = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads)])
        assert anchored.exit_code == 1, anchored.output
        for line in lines:
            assert f"recorded head {line['chain_seq']} " in anchored.output
        assert "Traceback" not in anchored.output
    finally:
        _committed(
            cli_db, "UPDATE audit_log SET justification = 'cli check 1' WHERE chain_seq = :s",
            s=edited,
        )  # fmt: skip
        with cli_db.begin() as conn:
            _rechain(conn, edited)
    restored = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads)])
    assert restored.exit_code == 0, restored.output


def test_cli_verify_catches_moved_text_without_heads(cli_db: Engine) -> None:
    with transaction(cli_db, AUDITOR) as conn:
        audit.record(conn, "consultation", "visit", 1, "fuzz moved")
    with cli_db.connect() as conn:
        seq = _seq_of(conn, "fuzz moved")
    move = "UPDATE audit_log SET object_id = {}, justification = {} WHERE chain_seq = :s"
    _committed(cli_db, move.format("NULL", "'1|fuzz moved'"), s=seq)
    try:
        result = runner.invoke(cli_app, ["audit", "verify", "--json"])
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert report["ok"] is False and "heads" not in report
        assert [p["chain_seq"] for p in report["problems"]] == [seq]
    finally:
        _committed(cli_db, move.format("'1'", "'fuzz moved'"), s=seq)
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 0


def test_cli_heads_help_and_bad_files(cli_db: Engine, tmp_path: Path) -> None:
    help_text = runner.invoke(cli_app, ["audit", "head", "--help"]).output
    assert "another machine" in help_text
    assert "--heads" in runner.invoke(cli_app, ["audit", "verify", "--help"]).output
    missing = runner.invoke(cli_app, ["audit", "verify", "--heads", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no such heads file" in missing.output
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("chain_seq=3\n", encoding="utf-8")
    bad = runner.invoke(cli_app, ["audit", "verify", "--heads", str(garbage)])
    assert bad.exit_code == 1 and "line 1: not a recorded head" in bad.output
    assert "Traceback" not in bad.output
    stdout = runner.invoke(cli_app, ["audit", "head", "--out", "-"])
    assert stdout.exit_code == 0
    assert set(json.loads(stdout.stdout)) == {"chain_seq", "row_hash", "at", "recorded_at"}
