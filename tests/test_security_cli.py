"""The administration commands, run through the real CLI against the test database."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner
from world import HOUSING_A, World

from hardening.cli import app
from hardening.db.engine import set_actor
from hardening.errors import AuthenticationError
from hardening.security import retention
from hardening.security.users import sign_in

runner = CliRunner()


def _json(args: list[str], stdin: str | None = None) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_users_add_token_revoke(world: World) -> None:
    added = _json(
        ["users", "add", "t.cli-user", "--org", HOUSING_A, "--role", "housing", "--password-stdin"],
        stdin="a long enough password\n",
    )
    assert added["roles"] == ["housing"]
    issued = _json(["users", "token", "t.cli-user", "--days", "2"])
    assert str(issued["token"]).startswith("hdn_")
    assert _json(["users", "revoke", "t.cli-user"]) == {"revoked": 1}
    again = runner.invoke(app, ["users", "revoke", "t.cli-user"])
    assert again.exit_code == 1 and "no live token" in again.output


def test_users_passwd_sets_a_password_the_map_accepts(world: World, service_engine: Engine) -> None:
    _json(
        ["users", "add", "t.cli-pw", "--org", HOUSING_A, "--role", "housing", "--password-stdin"],
        stdin="the first long password\n",
    )
    assert _json(["users", "passwd", "t.cli-pw", "--password-stdin"], "a second long one\n") == {
        "username": "t.cli-pw"
    }
    assert sign_in(service_engine, "t.cli-pw", "a second long one").username == "t.cli-pw"
    with pytest.raises(AuthenticationError):
        sign_in(service_engine, "t.cli-pw", "the first long password")
    unknown = runner.invoke(
        app, ["users", "passwd", "t.nobody", "--password-stdin"], input="x" * 12
    )
    assert unknown.exit_code == 1 and "no user 't.nobody'" in unknown.output


def test_bad_input_is_one_line_and_exit_1(world: World) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "t.bad", "--org", HOUSING_A, "--role", "wizard", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "roles must be among" in result.output
    assert "Traceback" not in result.output


def test_audit_verify_reports_an_intact_chain(world: World) -> None:
    report = _json(["audit", "verify"])
    assert report["ok"] is True and report["problems"] == []


def test_review_due_and_decisions(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    due = retention.due(app_conn, date.today() + timedelta(days=120))
    kinds = {(r.object_type, r.uprn) for r in due}
    assert ("safe_marker", world.homes_a[1]) in kinds  # review due in 90 days
    assert ("visit", world.homes_a[1]) in kinds  # review due today
    assert not any(r.uprn in world.homes_b for r in due)
    visit_id = next(
        r.object_id for r in due if r.object_type == "visit" and r.uprn == world.homes_a[1]
    )
    retention.decide(
        app_conn,
        "visit",
        visit_id,
        "still at risk",
        retain_until=date.today() + timedelta(days=200),
    )
    later = retention.due(app_conn, date.today() + timedelta(days=120))
    assert visit_id not in {r.object_id for r in later if r.object_type == "visit"}
    retention.decide(app_conn, "visit", visit_id, "no longer needed", retain_until=None)
    assert (
        app_conn.execute(
            text("SELECT count(*) FROM visits WHERE visit_id = :v"), {"v": visit_id}
        ).scalar_one()
        == 0
    )
    assert (
        app_conn.execute(
            text("SELECT count(*) FROM review_decisions WHERE object_id = :v"), {"v": visit_id}
        ).scalar_one()
        == 2
    )


def test_review_cli_lists_due_items(world: World) -> None:
    rows = _json(["review", "due", "--on", (date.today() + timedelta(days=120)).isoformat()])
    assert isinstance(rows, list) and rows
