"""Deferred audit rows (the API's requests): appended, chained, when the block ends, right before
the commit (or with it, in one round trip); none when it ends in an error. Holding the chain's
lock only for the append and the commit is what keeps concurrent audited reads from queueing on
it for a whole request."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text

from hardening.db.engine import Actor, transaction
from hardening.errors import UserInputError
from hardening.security import audit

WHY = "checking the deferred audit append"


def _rows(conn: Connection) -> list[tuple[str, str | None, int | None]]:
    return [
        (str(r[0]), r[1], r[2])
        for r in conn.execute(
            text(
                "SELECT justification, object_id, chain_seq FROM audit_log "
                "WHERE justification = :w ORDER BY audit_id"
            ),
            {"w": WHY},
        )
    ]


def test_rows_wait_for_the_end_of_the_block_and_are_chained(app_conn: Connection) -> None:
    with audit.deferred(app_conn):
        audit.record(app_conn, "consultation", "safe_marker", 1, WHY)
        audit.record(app_conn, "consultation", "safe_marker", 2, WHY)
        assert _rows(app_conn) == []  # not yet: no chain lock held during the request
    rows = _rows(app_conn)
    assert [r[1] for r in rows] == ["1", "2"]
    first, second = (r[2] for r in rows)
    assert first is not None and second == first + 1
    audit.record(app_conn, "consultation", "safe_marker", 3, WHY)  # outside: at once
    assert [r[1] for r in _rows(app_conn)] == ["1", "2", "3"]
    assert audit.DEFERRED not in app_conn.info


def test_an_error_appends_nothing_and_bad_input_is_refused_at_once(app_conn: Connection) -> None:
    with pytest.raises(RuntimeError), audit.deferred(app_conn):
        audit.record(app_conn, "consultation", "safe_marker", 1, WHY)
        raise RuntimeError("the route failed")
    assert _rows(app_conn) == []
    assert audit.DEFERRED not in app_conn.info  # the pooled connection keeps nothing
    with audit.deferred(app_conn), pytest.raises(UserInputError, match="reason is required"):
        audit.record(app_conn, "consultation", "safe_marker", 1, " ")
    assert _rows(app_conn) == []


def test_the_request_commit_carries_its_rows(app_engine: Engine) -> None:
    """The API's requests: the rows and the commit in one round trip; the caller's own commit
    after it finds nothing left to do, and an error inside commits nothing."""
    why = f"{WHY}, committed with them"
    with transaction(app_engine, Actor.system()) as conn:
        with audit.deferred(conn, commit=True):
            audit.record(conn, "consultation", "safe_marker", 1, why)
            audit.record(conn, "consultation", "safe_marker", 2, why)
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # committed
    with (
        pytest.raises(RuntimeError),
        transaction(app_engine, Actor.system()) as conn,
        audit.deferred(conn, commit=True),
    ):
        audit.record(conn, "consultation", "safe_marker", 3, why)
        raise RuntimeError("the route failed")
    with transaction(app_engine, Actor.system()) as conn:
        rows = conn.execute(
            text(
                "SELECT object_id, chain, chain_seq FROM audit_log WHERE justification = :w "
                "ORDER BY audit_id"
            ),
            {"w": why},
        ).all()
        assert audit.verify(conn).ok
    assert [r.object_id for r in rows] == ["1", "2"]
    assert rows[1].chain == rows[0].chain  # one transaction, one chain
    assert rows[1].chain_seq == rows[0].chain_seq + 1
