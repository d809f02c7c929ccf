"""The audit log: reasons required, actor recorded, chain verified, tampering detected."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from world import World

from hardening.db.engine import set_actor
from hardening.errors import UserInputError
from hardening.security import audit


def test_consultation_needs_a_reason_and_records_the_actor(
    app_conn: Connection, world: World
) -> None:
    actor = world.actors["control_room"]
    set_actor(app_conn, actor)
    with pytest.raises(UserInputError, match="reason"):
        audit.record(app_conn, "consultation", "safe_marker", 1, justification="  ")
    with pytest.raises(UserInputError, match="recipient"):
        audit.record(app_conn, "disclosure", "visit", 1, justification="court order")
    audit.record(
        app_conn, "consultation", "safe_marker", 42, justification="call CAD-123 at the address"
    )
    set_actor(app_conn, world.actors["admin"])
    row = app_conn.execute(
        text(
            "SELECT actor_user_id, actor_org_id, action, object_id, justification, at "
            "FROM audit_log WHERE justification = 'call CAD-123 at the address'"
        ),
    ).one()
    assert (row.actor_user_id, row.actor_org_id) == (actor.user_id, actor.org_id)
    assert (row.action, row.object_id, row.justification) == (
        "consultation",
        "42",
        "call CAD-123 at the address",
    )
    assert row.at.utcoffset() is not None


def test_other_roles_cannot_read_the_audit_log(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["control_room"])
    audit.record(app_conn, "consultation", "safe_marker", 1, justification="a call")
    assert app_conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_verify_catches_superuser_update_and_delete(owner_conn: Connection, world: World) -> None:
    set_actor(owner_conn, world.actors["visit_team"])
    for n in range(4):
        audit.record(owner_conn, "consultation", "visit", n, justification=f"tamper check {n}")
    owner_conn.execute(text("RESET ROLE"))  # acting as the user took the service's role
    ids = (
        owner_conn.execute(
            text(
                "SELECT audit_id FROM audit_log WHERE justification LIKE 'tamper check %' "
                "ORDER BY audit_id"
            )
        )
        .scalars()
        .all()
    )
    assert audit.verify(owner_conn).ok

    with owner_conn.begin_nested() as edit:
        owner_conn.execute(
            text("UPDATE audit_log SET justification = 'nothing to see' WHERE audit_id = :i"),
            {"i": ids[1]},
        )
        problems = audit.verify(owner_conn).problems
        assert [p["problem"] for p in problems] == ["row was edited (hash does not match)"]
        edit.rollback()

    with owner_conn.begin_nested() as removal:
        owner_conn.execute(text("DELETE FROM audit_log WHERE audit_id = :i"), {"i": ids[2]})
        report = audit.verify(owner_conn)
        assert not report.ok
        assert any("missing" in p["problem"] for p in report.problems)
        assert any("link" in p["problem"] for p in report.problems)
        removal.rollback()
    assert audit.verify(owner_conn).ok


def test_application_cannot_update_or_delete(app_conn: Connection, world: World) -> None:
    audit.record(app_conn, "collection", "test", 1)
    with pytest.raises(Exception, match="permission denied"), app_conn.begin_nested():
        app_conn.execute(text("UPDATE audit_log SET justification = 'x'"))
    with pytest.raises(Exception, match="permission denied"), app_conn.begin_nested():
        app_conn.execute(text("DELETE FROM audit_log"))
