"""The audit chains' encoding and their anchored heads, on a database of this module's own.

The database is migrated up to just before 023_audit_encoding, given a few audit rows the old
way (version 1), then migrated to the end: so the version-1 rows here were really written before
the migration (and are chain 0 since 032_audit_chains). Tests then edit a chain as the database
owner (a superuser): by moving text between adjacent fields, by deleting, editing or reordering
rows, and by editing a row and re-hashing every later row of its chain. Rows are named by
audit_id: which of the 8 chains a transaction appends to depends on its backend and on what
else is writing.
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
from sqlalchemy.exc import IntegrityError, ProgrammingError
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


def _rechain(conn: Connection, audit_id: int) -> None:
    """What a superuser can do after an edit: re-hash that row and every later one of its chain,
    in order, with the functions the database itself uses."""
    chain, start = _place(conn, audit_id)
    seqs = conn.execute(
        text(
            "SELECT chain_seq FROM audit_log WHERE chain = :c AND chain_seq >= :s "
            "ORDER BY chain_seq"
        ),
        {"c": chain, "s": start},
    ).scalars()
    for seq in list(seqs):
        conn.execute(
            text(
                "UPDATE audit_log SET prev_hash = (SELECT row_hash FROM audit_log "
                "WHERE chain = :c AND chain_seq = :s - 1) WHERE chain = :c AND chain_seq = :s"
            ),
            {"c": chain, "s": seq},
        )
        conn.execute(
            text(
                "UPDATE audit_log a SET row_hash = audit_expected_hash(a) "
                "WHERE chain = :c AND chain_seq = :s"
            ),
            {"c": chain, "s": seq},
        )


def _place(conn: Connection, audit_id: int) -> tuple[int, int]:
    """The row's chain and its sequence number in it."""
    row = conn.execute(
        text("SELECT chain, chain_seq FROM audit_log WHERE audit_id = :i"), {"i": audit_id}
    ).one()
    return int(row.chain), int(row.chain_seq)


def _id_of(conn: Connection, justification: str) -> int:
    return int(
        conn.execute(
            text("SELECT audit_id FROM audit_log WHERE justification = :j"), {"j": justification}
        ).scalar_one()
    )


def _newest(conn: Connection) -> int:
    return int(conn.execute(text("SELECT max(audit_id) FROM audit_log")).scalar_one())


def _edited(conn: Connection) -> list[int]:
    return [
        p["audit_id"] for p in audit.verify(conn).problems if p["problem"].startswith("row was")
    ]


def test_rows_written_before_the_migration_still_verify(owner: Connection) -> None:
    rows = owner.execute(
        text("SELECT chain, hash_version, object_type, details FROM audit_log ORDER BY audit_id")
    ).all()
    assert [r.hash_version for r in rows[:4]] == [1, 1, 1, 1]
    seal = rows[4]
    assert (seal.hash_version, seal.object_type) == (2, "audit_chain")
    assert seal.details["v1_seal"]["rows"] == 4
    assert {r.chain for r in rows} == {0}  # written before 032: chain 0
    report = audit.verify(owner)
    assert report.ok, report.problems
    assert report.rows == len(rows)
    audit.record(owner, "consultation", "visit", 9, "after the migration")
    new = owner.execute(
        text("SELECT hash_version, row_hash, audit_row_hash_v2(a) AS v2 FROM audit_log a "
             "ORDER BY audit_id DESC LIMIT 1")
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
                text("SELECT audit_row_hash(a) FROM audit_log a WHERE audit_id = :s"), {"s": seq}
            ).scalar_one()
            owner.execute(text(f"UPDATE audit_log SET {change} WHERE audit_id = :s"), {"s": seq})
            after = owner.execute(
                text("SELECT audit_row_hash(a) FROM audit_log a WHERE audit_id = :s"), {"s": seq}
            ).scalar_one()
            assert after == before  # the old encoding cannot see this edit
            assert _edited(owner) == [seq]  # version 2 can
            edit.rollback()
    assert audit.verify(owner).ok


def test_moving_text_in_a_version_1_row_is_caught_by_the_seal(owner: Connection) -> None:
    legacy = 1  # ("consultation", "1", "fuzz", None), written before the migration: chain 0
    owner.execute(
        text("UPDATE audit_log SET object_id = NULL, justification = '1|fuzz' "
             "WHERE chain = 0 AND chain_seq = :s"),
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
             "justification = '1|fuzz' WHERE audit_id = :s"),
        {"s": seq},
    )  # fmt: skip
    _rechain(owner, seq)
    chain = _place(owner, seq)[0]
    assert [p["problem"] for p in audit.verify(owner).problems] == [
        "hash version 1 after a version 2 row (version changed)"
        if chain == 0
        else f"hash version 1 in chain {chain}, which began at version 2 (version changed)"
    ]


def test_a_rechained_edit_passes_verify_but_not_a_recorded_head(owner: Connection) -> None:
    for n in range(4):
        audit.record(owner, "consultation", "visit", n, f"rechain check {n}")
    edited = _id_of(owner, "rechain check 1")
    chain = _place(owner, edited)[0]
    recorded = audit.heads(owner)
    head = next(h for h in recorded if h.chain == chain)
    audit.record(owner, "consultation", "visit", 9, "after the head")
    assert audit.verify(owner, recorded).ok
    owner.execute(
        text("UPDATE audit_log SET justification = 'nothing to see' WHERE audit_id = :i"),
        {"i": edited},
    )
    assert _edited(owner) == [edited]
    _rechain(owner, edited)
    plain = audit.verify(owner)
    assert plain.ok  # the documented limit: a re-hashed chain is consistent again
    anchored = audit.verify(owner, recorded)
    assert anchored.heads == len(recorded)
    assert anchored.problems == [
        {
            "chain": chain,
            "chain_seq": head.chain_seq,
            "problem": f"recorded head {head.chain_seq} of chain {chain} ({head.at.isoformat()}) "
            f"does not match: the chain's row {head.chain_seq} has a different hash (rewritten "
            "since it was recorded)",
        }
    ]
    # The newest rows deleted: the chain is shorter but consistent; the head is gone.
    owner.execute(
        text("DELETE FROM audit_log WHERE chain = :c AND chain_seq >= :s"),
        {"c": chain, "s": head.chain_seq},
    )
    assert audit.verify(owner).ok
    gone = audit.verify(owner, [head]).problems
    assert [(p["chain"], p["chain_seq"]) for p in gone] == [(chain, head.chain_seq)]
    assert "no longer in the chain" in gone[0]["problem"]


def test_the_application_role_cannot_choose_chain_fields(chain_db: tuple[URL, Engine]) -> None:
    engine = app_role_engine(chain_db[0], pool_size=1)
    try:
        with engine.connect() as conn, conn.begin() as outer:
            set_actor(conn, AUDITOR)
            own = conn.execute(text("SELECT pg_backend_pid() % 8")).scalar_one()  # free: taken
            newest = conn.execute(
                text("SELECT coalesce(max(chain_seq), 0) FROM audit_log WHERE chain = :c"),
                {"c": own},
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO audit_log (action, object_type, justification, hash_version, "
                    "chain, chain_seq, prev_hash, row_hash, at, actor_user_id, actor_org_id) "
                    "VALUES ('collection', 'visit', 'forged', 1, :other, 1000000, 'forged', "
                    "'forged', '2000-01-01', 999, 'someone-else')"
                ),
                {"other": (own + 1) % 8},
            )
            row = conn.execute(text("SELECT * FROM audit_log WHERE justification = 'forged'")).one()
            assert row.hash_version == 2 and (row.chain, row.chain_seq) == (own, newest + 1)
            assert row.prev_hash != "forged" and row.row_hash != "forged"
            assert (row.actor_user_id, row.actor_org_id) == (AUDITOR.user_id, AUDITOR.org_id)
            assert abs(row.at - datetime.now(UTC)) < timedelta(minutes=5)
            assert audit.verify(conn).ok
            for change in ("hash_version = 1", "row_hash = 'x'", "chain = 0"):
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
        ('{"chain": 8, "chain_seq": 3, "row_hash": "ab", "at": "2025-01-01"}\n', 1),
        (f"{good}\n\n" + '{"chain_seq": 3, "row_hash": "ab", "at": "yesterday"}\n', 3),
    ):
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(UserInputError, match=f"bad.jsonl line {line}: not a recorded head"):
            audit.read_heads(bad)
    bad.write_text("\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="holds no recorded heads"):
        audit.read_heads(bad)


# -- several chains (sql/032) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def two_chains(chain_db: tuple[URL, Engine]) -> tuple[int, int]:
    """Committed rows in two chains: two transactions open at once append without waiting for
    each other (the second would wait on the first's lock if there were one chain; the lock
    timeout turns that wait into an error). Returns the two chains."""
    engine = make_engine(chain_db[0], pool_size=2)
    chains: list[int] = []
    try:
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                conn.begin()
                set_actor(conn, AUDITOR)
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            for n in range(3):
                for label, conn in (("a", first), ("b", second)):
                    audit.record(conn, "consultation", "visit", n, f"two chains {label}{n}")
            for conn in (first, second):
                chains.append(_place(conn, _newest(conn))[0])
                conn.commit()
    finally:
        engine.dispose()
    assert chains[0] != chains[1]
    return chains[0], chains[1]


def _row(conn: Connection, label: str) -> int:
    return _id_of(conn, f"two chains {label}")


def test_concurrent_writers_append_to_chains_of_their_own(
    owner: Connection, two_chains: tuple[int, int]
) -> None:
    a, b = two_chains
    places = [_place(owner, _row(owner, f"{x}{n}")) for x in "ab" for n in range(3)]
    assert [c for c, _ in places] == [a] * 3 + [b] * 3  # a transaction keeps to one chain
    assert [s for _, s in places[:3]] == list(range(places[0][1], places[0][1] + 3))
    report = audit.verify(owner)
    assert report.ok, report.problems
    assert {a, b} <= {c["chain"] for c in report.chains}
    assert sum(c["rows"] for c in report.chains) == report.rows
    assert {h.chain for h in audit.heads(owner)} == {c["chain"] for c in report.chains}


def test_a_deleted_edited_or_reordered_row_in_another_chain_is_found(
    owner: Connection, two_chains: tuple[int, int]
) -> None:
    b = two_chains[1]
    middle = _row(owner, "b1")
    seq = _place(owner, middle)[1]
    with owner.begin_nested() as edit:
        owner.execute(text("DELETE FROM audit_log WHERE audit_id = :i"), {"i": middle})
        problems = audit.verify(owner).problems
        assert {"chain": b, "chain_seq": seq, "problem": f"rows {seq}..{seq} are missing"} in (
            problems
        )
        edit.rollback()
    with owner.begin_nested() as edit:
        owner.execute(
            text("UPDATE audit_log SET object_id = '7' WHERE audit_id = :i"), {"i": middle}
        )
        assert _edited(owner) == [middle]
        edit.rollback()
    with owner.begin_nested() as edit:  # b0 and b1 swap places
        first = _row(owner, "b0")
        for row, place in ((first, 0), (middle, seq - 1), (first, seq)):  # (chain, seq) unique
            owner.execute(
                text("UPDATE audit_log SET chain_seq = :s WHERE audit_id = :i"),
                {"i": row, "s": place},
            )
        broken = [p for p in audit.verify(owner).problems if p["chain"] == b]
        assert {p["problem"] for p in broken} >= {
            "row was edited (hash does not match)",
            "link to the previous row is broken",
        }
        edit.rollback()
    assert audit.verify(owner).ok


def test_a_chain_cut_short_is_found_by_its_recorded_head(
    owner: Connection, two_chains: tuple[int, int], tmp_path: Path
) -> None:
    b = two_chains[1]
    recorded = audit.heads(owner)
    path = tmp_path / "heads.jsonl"
    audit.append_heads(path, recorded)
    head = next(h for h in recorded if h.chain == b)
    owner.execute(
        text("DELETE FROM audit_log WHERE chain = :c AND chain_seq >= :s"),
        {"c": b, "s": head.chain_seq - 1},
    )
    assert audit.verify(owner).ok  # shorter but consistent
    problems = audit.verify(owner, audit.read_heads(path)).problems
    assert [(p["chain"], p["chain_seq"]) for p in problems] == [(b, head.chain_seq)]
    assert "no longer in the chain" in problems[0]["problem"]


def test_a_heads_line_without_a_chain_is_chain_0(owner: Connection, tmp_path: Path) -> None:
    """Heads files recorded before sql/032 name no chain: their rows are chain 0's."""
    zero = next(h for h in audit.heads(owner) if h.chain == 0)
    old = tmp_path / "old.jsonl"
    old.write_text(
        json.dumps(
            {"chain_seq": zero.chain_seq, "row_hash": zero.row_hash, "at": zero.at.isoformat()}
        )
        + "\n",
        encoding="utf-8",
    )
    (read,) = audit.read_heads(old)
    assert read.chain == 0
    assert audit.verify(owner, [read]).ok
    owner.execute(
        text("UPDATE audit_log SET row_hash = 'x' WHERE chain = 0 AND chain_seq = :s"),
        {"s": zero.chain_seq},
    )
    assert any("does not match" in p["problem"] for p in audit.verify(owner, [read]).problems)


def test_a_chain_named_by_anyone_else_is_waited_for_not_forked(
    chain_db: tuple[URL, Engine],
) -> None:
    """The transaction's chain is remembered in a setting the application role can also set;
    the trigger takes that chain's lock anyway, so a forged value can only choose where the
    row goes (and an impossible one is refused), never fork a chain."""
    engine = app_role_engine(chain_db[0], pool_size=1)
    try:
        with engine.connect() as conn, conn.begin() as outer:
            set_actor(conn, AUDITOR)
            conn.execute(text("SELECT set_config('hardening.audit_chain', '5', true)"))
            audit.record(conn, "consultation", "visit", 1, "named chain")
            row = conn.execute(
                text("SELECT chain FROM audit_log WHERE justification = 'named chain'")
            ).one()
            assert row.chain == 5 and audit.verify(conn).ok
            with pytest.raises(IntegrityError, match="audit_chain_number"), conn.begin_nested():
                conn.execute(text("SELECT set_config('hardening.audit_chain', '9', true)"))
                audit.record(conn, "consultation", "visit", 1, "no such chain")
            outer.rollback()
    finally:
        engine.dispose()


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
    assert "recorded heads of" in first.output and str(heads) in first.output
    with transaction(cli_db, AUDITOR) as conn:
        audit.record(conn, "consultation", "visit", 9, "cli check later")
        later = _place(conn, _newest(conn))
    second = runner.invoke(cli_app, ["audit", "head", "--out", str(heads), "--json"])
    assert second.exit_code == 0, second.output
    reported = json.loads(second.stdout)
    lines = [json.loads(line) for line in heads.read_text(encoding="utf-8").splitlines()]
    fields = {"chain", "chain_seq", "row_hash", "at", "recorded_at"}
    assert all(set(line) == fields for line in lines)
    assert (reported["chain"], reported["chain_seq"]) == later  # the newest of the heads
    assert [(h["chain"], h["row_hash"]) for h in reported["heads"]] == [
        (line["chain"], line["row_hash"]) for line in lines[-len(reported["heads"]) :]
    ]  # one line per chain

    ok = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads), "--json"])
    assert ok.exit_code == 0, ok.output
    verified = json.loads(ok.stdout)
    assert {k: verified[k] for k in ("ok", "rows", "problems", "heads")} == {
        "ok": True,
        "rows": _rows(cli_db),
        "problems": [],
        "heads": len(lines),
    }
    assert sum(c["rows"] for c in verified["chains"]) == verified["rows"]
    human = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads)])
    assert human.exit_code == 0 and f"{len(lines)} recorded heads held" in human.output

    with cli_db.connect() as conn:
        edited = _id_of(conn, "cli check 1")  # before both heads
        chain, seq = _place(conn, edited)
    _committed(
        cli_db, "UPDATE audit_log SET justification = 'nothing' WHERE audit_id = :i", i=edited
    )
    try:
        caught = runner.invoke(cli_app, ["audit", "verify"])
        assert caught.exit_code == 1 and f"'chain': {chain}, 'chain_seq': {seq}" in caught.output
        with cli_db.begin() as conn:
            _rechain(conn, edited)
        plain = runner.invoke(cli_app, ["audit", "verify"])
        assert plain.exit_code == 0, plain.output  # the limit heads are there for
        anchored = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads)])
        assert anchored.exit_code == 1, anchored.output
        for line in lines:
            if line["chain"] == chain:
                assert f"recorded head {line['chain_seq']} of chain {chain} " in anchored.output
        assert "Traceback" not in anchored.output
    finally:
        _committed(
            cli_db, "UPDATE audit_log SET justification = 'cli check 1' WHERE audit_id = :i",
            i=edited,
        )  # fmt: skip
        with cli_db.begin() as conn:
            _rechain(conn, edited)
    restored = runner.invoke(cli_app, ["audit", "verify", "--heads", str(heads)])
    assert restored.exit_code == 0, restored.output


def test_cli_verify_catches_moved_text_without_heads(cli_db: Engine) -> None:
    with transaction(cli_db, AUDITOR) as conn:
        audit.record(conn, "consultation", "visit", 1, "fuzz moved")
    with cli_db.connect() as conn:
        seq = _id_of(conn, "fuzz moved")
    move = "UPDATE audit_log SET object_id = {}, justification = {} WHERE audit_id = :s"
    _committed(cli_db, move.format("NULL", "'1|fuzz moved'"), s=seq)
    try:
        result = runner.invoke(cli_app, ["audit", "verify", "--json"])
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert report["ok"] is False and "heads" not in report
        assert [p["audit_id"] for p in report["problems"]] == [seq]
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
    printed = [json.loads(line) for line in stdout.stdout.splitlines()]
    assert printed and all(
        set(line) == {"chain", "chain_seq", "row_hash", "at", "recorded_at"} for line in printed
    )
