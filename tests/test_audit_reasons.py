"""Audit reasons are one line of plain text: control characters (C0, C1, Unicode bidi controls)
are refused by the one check in Python (API, CLI, service calls) and by a CHECK in the database."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner
from world import World

from hardening.api.app import create_app
from hardening.cli import app as cli_app
from hardening.db.engine import set_actor
from hardening.errors import UserInputError
from hardening.security import audit

# Each with the code point the message must name.
HOSTILE = {
    "call \u202eCAD-123": "U+202E",  # RIGHT-TO-LEFT OVERRIDE
    "call \u2066CAD\u2069-123": "U+2066",  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
    "call \u200fCAD-123": "U+200F",  # RIGHT-TO-LEFT MARK
    "call \u200eCAD-123": "U+200E",  # LEFT-TO-RIGHT MARK
    "call \u202aCAD-123": "U+202A",  # LEFT-TO-RIGHT EMBEDDING
    "call CAD\n2024-01-01 admin erased everything": "U+000A",  # a forged second line
    "call\tCAD-123": "U+0009",
    "call \x1b[2KCAD-123": "U+001B",  # a terminal escape
    "call \x85CAD-123": "U+0085",  # C1 NEXT LINE
    "call \x9bCAD-123": "U+009B",  # C1 CONTROL SEQUENCE INTRODUCER
    "call \x7fCAD-123": "U+007F",
}
# Plain text in other scripts and with joiners is not a control character.
FRIENDLY = [
    "Café visit — follow-up at 10h",
    "زيارة متابعة للعنوان",  # Arabic, right-to-left without any control
    "family 👨\u200d👩\u200d👧 at the address",  # ZERO WIDTH JOINER is allowed
    "ref 1|fuzz",
]


def test_python_and_database_refuse_the_same_characters(owner_conn: Connection) -> None:
    in_database = set(
        owner_conn.execute(
            text(
                "SELECT i FROM generate_series(1, 1114111) AS i "
                "WHERE i NOT BETWEEN 55296 AND 57343 AND NOT audit_text_printable(chr(i))"
            )
        ).scalars()
    )
    in_python = {
        i
        for i in range(1, 0x110000)
        if not 0xD800 <= i <= 0xDFFF and audit.FORBIDDEN_IN_TEXT.search(chr(i))
    }
    assert in_database == in_python
    assert {0x0A, 0x85, 0x202E, 0x2066, 0x2069, 0x200E, 0x200F, 0x061C} <= in_python
    assert 0x200D not in in_python and 0x20 not in in_python


def test_reasons_with_control_characters_are_refused_with_the_code_point(
    app_conn: Connection, world: World
) -> None:
    set_actor(app_conn, world.actors["control_room"])
    for reason, code in HOSTILE.items():
        with pytest.raises(UserInputError, match=re.escape(f"control characters: {code}")):
            audit.require_reason(reason)
        with pytest.raises(UserInputError, match=re.escape(code)):
            audit.record(app_conn, "consultation", "visit", 1, justification=reason)
        with pytest.raises(UserInputError, match=re.escape(code)):
            audit.record(app_conn, "alteration", "visit", 1, justification=reason)
        with pytest.raises(UserInputError, match=rf"recipient must not .* {re.escape(code)}"):
            audit.record(app_conn, "disclosure", "visit", 1, "court order", recipient=reason)
    for reason in FRIENDLY:
        assert audit.require_reason(f"  {reason} ") == reason
        audit.record(app_conn, "consultation", "visit", 1, justification=reason)
    # A newline at either end is trimmed like any whitespace, not stored.
    assert audit.require_reason("call CAD-123\n") == "call CAD-123"


def test_database_refuses_control_characters_in_new_audit_rows(
    app_conn: Connection, world: World
) -> None:
    """Whatever the Python side lets through, the application role cannot store them."""
    set_actor(app_conn, world.actors["visit_team"])
    insert = text(
        "INSERT INTO audit_log (action, object_type, object_id, justification, recipient) "
        "VALUES (:action, 'visit', '1', :why, :to)"
    )
    for reason in HOSTILE:
        for values in (
            {"action": "consultation", "why": reason, "to": None},
            {"action": "disclosure", "why": "court order", "to": reason},
        ):
            with (
                pytest.raises(IntegrityError, match="audit_text_printable"),
                app_conn.begin_nested(),
            ):
                app_conn.execute(insert, values)
    for reason in FRIENDLY:
        app_conn.execute(insert, {"action": "consultation", "why": reason, "to": None})


@pytest.fixture(scope="module")
def client(test_db_url: object) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def _audit_rows(owner_engine: Engine) -> int:
    with owner_engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_api_refuses_control_characters_in_reasons(
    client: TestClient, tokens: dict[str, str], owner_engine: Engine, world: World
) -> None:
    auth = {"Authorization": f"Bearer {tokens['visit_team']}"}
    before = _audit_rows(owner_engine)
    for reason, code in HOSTILE.items():
        response = client.get("/v1/visits", params={"reason": reason}, headers=auth)
        assert response.status_code == 400, response.text
        assert f"must not contain control characters: {code}" in response.json()["description"]
    # As a header: the bytes of U+202E arrive as Latin-1 text holding a C1 control (U+0080).
    for header, code in ((b"map \xe2\x80\xae review", "U+0080"), (b"map\treview", "U+0009")):
        response = client.get(
            "/ogc/collections/safe-markers/items",
            headers={"Authorization": f"Bearer {tokens['control_room']}", "X-Reason": header},
        )
        assert response.status_code == 400, response.text
        assert code in response.json()["description"]
    assert _audit_rows(owner_engine) == before  # refused whole: nothing read, nothing logged
    fine = client.get("/v1/visits", params={"reason": FRIENDLY[0]}, headers=auth)
    assert fine.status_code == 200, fine.text
    assert _audit_rows(owner_engine) == before + 1


def test_cli_refuses_control_characters_in_reasons(world: World) -> None:
    result = CliRunner().invoke(
        cli_app, ["review", "decide", "visit", "1", "--reason", "gone\u202e", "--delete"]
    )
    assert result.exit_code == 1, result.output
    assert "must not contain control characters: U+202E" in result.output
    assert "Traceback" not in result.output
