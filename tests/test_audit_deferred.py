"""Deferred audit rows (the API's requests): appended, chained, when the block ends, right before
the commit; none when it ends in an error. Holding the chain's lock only for the append and the
commit is what keeps concurrent audited reads from queueing on it for a whole request."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

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
