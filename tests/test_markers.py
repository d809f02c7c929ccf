"""SAFE marker lifecycle on the real database: who may create, block markers from a flat, states
over time, optimistic concurrency, review and revoke, and the audit rows each leaves."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from test_control_room_town import Town, build_town
from typer.testing import CliRunner
from world import World

from hardening.db.engine import Actor, set_actor
from hardening.errors import ConflictError, NotFoundError, PermissionDeniedError, UserInputError
from hardening.markers import service
from hardening.markers.cli import app as markers_app

TODAY = date.today()


@pytest.fixture
def town(app_conn: Connection, world: World) -> Town:
    built = build_town(app_conn, world)
    set_actor(app_conn, world.actors["visit_team"])
    return built


def _audit(conn: Connection, object_type: str, object_id: object) -> list[Any]:
    """Audit rows about an object (read as the system actor, the auditor)."""
    set_actor(conn, Actor.system())
    rows = conn.execute(
        text(
            "SELECT action, justification, details FROM audit_log "
            "WHERE object_type = :t AND object_id IS NOT DISTINCT FROM :id ORDER BY audit_id"
        ),
        {"t": object_type, "id": None if object_id is None else str(object_id)},
    ).all()
    return list(rows)


def _add(conn: Connection, uprn: int, **extra: Any) -> service.Marker:
    return service.create_marker(
        conn,
        uprn=uprn,
        scope=extra.pop("scope", "address"),
        reason_category=extra.pop("reason_category", "cuckooing"),
        grading_advice=extra.pop("grading_advice", "Attend in pairs."),
        **extra,
    )


def test_a_visit_team_creates_an_audited_marker(app_conn: Connection, town: Town) -> None:
    marker = _add(app_conn, town["rs21"])
    assert (marker.uprn, marker.scope, marker.state, marker.version) == (
        town["rs21"],
        "address",
        "active",
        1,
    )
    assert marker.review_due == TODAY + timedelta(days=90)  # the configured default
    assert marker.org_id == "t-police" and marker.author_user_id is not None
    assert marker.area_id == "test-north"
    assert marker.full_address == "21 Ramsden Street, Testbury, TB1 1AB"
    assert [r.action for r in _audit(app_conn, "safe_marker", marker.marker_id)] == ["collection"]


def test_a_block_marker_asked_from_a_flat_goes_on_the_block(
    app_conn: Connection, town: Town
) -> None:
    marker = _add(app_conn, town["flat2"], scope="block", reason_category="weapons")
    assert marker.uprn == town["block"] and marker.scope == "block"
    with pytest.raises(UserInputError, match="neither a block"):
        _add(app_conn, town["rs21"], scope="block")


def test_only_visit_teams_and_admins_write_markers(
    app_conn: Connection, town: Town, world: World
) -> None:
    for role in ("control_room", "analyst", "housing_a", "planner"):
        set_actor(app_conn, world.actors[role])
        with pytest.raises(PermissionDeniedError):
            _add(app_conn, town["rs21"])
    set_actor(app_conn, world.actors["admin"])
    assert _add(app_conn, town["rs21"]).state == "active"


def test_bad_input_is_refused(app_conn: Connection, town: Town) -> None:
    with pytest.raises(UserInputError, match="reason category"):
        _add(app_conn, town["rs21"], reason_category="gossip")
    with pytest.raises(UserInputError, match="grading advice"):
        _add(app_conn, town["rs21"], grading_advice=" ")
    with pytest.raises(UserInputError, match="after today"):
        _add(app_conn, town["rs21"], review_due=TODAY)
    with pytest.raises(NotFoundError):
        _add(app_conn, 987_654_321)
    with pytest.raises(NotFoundError):
        _add(app_conn, town["rs21"], visit_id=987_654_321)


def test_system_actor_must_name_the_organisation(app_conn: Connection, town: Town) -> None:
    set_actor(app_conn, Actor.system())
    with pytest.raises(UserInputError, match="organisation"):
        _add(app_conn, town["rs21"])
    assert _add(app_conn, town["rs21"], org_id="t-police").org_id == "t-police"


def test_states_over_time_active_then_review_due_then_expired(
    app_conn: Connection, town: Town
) -> None:
    marker = _add(
        app_conn,
        town["rs21"],
        review_due=TODAY + timedelta(days=10),
        expires_on=TODAY + timedelta(days=20),
    )
    states = [
        service.fetch(app_conn, marker.marker_id, TODAY + timedelta(days=d)).state
        for d in (0, 9, 10, 19, 20, 30)
    ]
    assert states == ["active", "active", "review_due", "review_due", "expired", "expired"]


def test_review_retains_with_a_new_date_and_a_stale_version_conflicts(
    app_conn: Connection, town: Town
) -> None:
    marker = _add(app_conn, town["rs21"])
    reviewed = service.review_marker(
        app_conn,
        marker.marker_id,
        version=1,
        reason="Occupant still at risk",
        next_review=TODAY + timedelta(days=30),
    )
    assert (reviewed.version, reviewed.review_due) == (2, TODAY + timedelta(days=30))
    with pytest.raises(ConflictError, match="version 2, not 1"):
        service.review_marker(app_conn, marker.marker_id, version=1, reason="Second opinion")
    history = service.reviews_of(app_conn, [marker.marker_id])[marker.marker_id]
    assert [(r.decision, r.reason) for r in history] == [("retain", "Occupant still at risk")]
    actions = [r.action for r in _audit(app_conn, "safe_marker", marker.marker_id)]
    assert actions == ["collection", "alteration"]


def test_an_expired_marker_needs_a_new_expiry_to_be_retained(
    app_conn: Connection, town: Town
) -> None:
    marker = _add(app_conn, town["rs21"], expires_on=TODAY + timedelta(days=5))
    later = TODAY + timedelta(days=6)
    assert service.fetch(app_conn, marker.marker_id, later).state == "expired"
    with pytest.raises(ConflictError, match="expired"):
        service.review_marker(app_conn, marker.marker_id, version=1, reason="Still", today=later)
    kept = service.review_marker(
        app_conn,
        marker.marker_id,
        version=1,
        reason="Risk persists",
        expires_on=later + timedelta(days=180),
        today=later,
    )
    assert kept.state == "active" and kept.expires_on == later + timedelta(days=180)


def test_revoke_ends_the_marker_and_further_changes_conflict(
    app_conn: Connection, town: Town
) -> None:
    marker = _add(app_conn, town["rs21"])
    with pytest.raises(UserInputError):
        service.revoke_marker(app_conn, marker.marker_id, version=1, reason="")
    revoked = service.revoke_marker(app_conn, marker.marker_id, version=1, reason="Moved out")
    assert (revoked.state, revoked.status, revoked.version) == ("revoked", "revoked", 2)
    assert revoked.revoked_reason == "Moved out" and revoked.revoked_at is not None
    with pytest.raises(ConflictError, match="revoked"):
        service.review_marker(app_conn, marker.marker_id, version=2, reason="Oops")
    with pytest.raises(ConflictError):
        service.revoke_marker(app_conn, marker.marker_id, version=2, reason="Twice")


def test_listing_and_showing_need_a_reason_and_are_audited_once(
    app_conn: Connection, town: Town, world: World
) -> None:
    marker = _add(app_conn, town["rs21"])
    set_actor(app_conn, world.actors["control_room"])
    with pytest.raises(UserInputError, match="reason"):
        service.list_markers(app_conn, reason=None)
    listed = service.list_markers(app_conn, reason="Shift handover", uprn=town["rs21"])
    assert [m.marker_id for m in listed] == [marker.marker_id]
    shown, reviews = service.get_marker(app_conn, marker.marker_id, reason="Caller asked")
    assert shown == listed[0] and reviews == []
    listing_rows = [r for r in _audit(app_conn, "safe_marker", None) if r.action == "consultation"]
    assert listing_rows[-1].justification == "Shift handover"
    assert listing_rows[-1].details["marker_ids"] == [marker.marker_id]
    consulted = [r.action for r in _audit(app_conn, "safe_marker", marker.marker_id)]
    assert consulted == ["collection", "consultation"]


def test_partners_may_not_list_markers(app_conn: Connection, town: Town, world: World) -> None:
    for role in ("housing_a", "planner", "health"):
        set_actor(app_conn, world.actors[role])
        with pytest.raises(PermissionDeniedError):
            service.list_markers(app_conn, reason="Curious")


def test_state_filter(app_conn: Connection, town: Town) -> None:
    soon = _add(app_conn, town["rs21"], review_due=TODAY + timedelta(days=3))
    later = _add(app_conn, town["rs12a"], review_due=TODAY + timedelta(days=60))
    on = TODAY + timedelta(days=5)
    due = service.list_markers(app_conn, reason="Reviews", state="review_due", on=on)
    ids = {m.marker_id for m in due}
    assert soon.marker_id in ids and later.marker_id not in ids
    with pytest.raises(UserInputError):
        service.list_markers(app_conn, reason="Reviews", state="sleeping")


def test_cli_lifecycle(test_db_url: object, world: World, owner_engine: Engine) -> None:
    """add -> show -> review -> stale review (exit 1) -> revoke, committed in the session
    database as the system actor (the CLI's actor), on one of the world's homes."""
    runner = CliRunner()
    home = str(world.south_homes[5])
    added = runner.invoke(
        markers_app,
        ["add", home, "--reason-category", "weapons", "--advice", "Two officers", "--org",
         "t-police", "--json"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    marker = json.loads(added.stdout)
    mid = str(marker["marker_id"])
    shown = runner.invoke(markers_app, ["show", mid, "--reason", "Check", "--json"])
    assert json.loads(shown.stdout)["marker"]["version"] == 1
    args = ["review", mid, "--version", "1", "--reason", "Still there", "--json"]
    assert runner.invoke(markers_app, args).exit_code == 0
    stale = runner.invoke(markers_app, args)
    assert stale.exit_code != 0 and isinstance(stale.exception, ConflictError)
    revoked = runner.invoke(
        markers_app, ["revoke", mid, "--version", "2", "--reason", "Gone", "--json"]
    )
    assert json.loads(revoked.stdout)["state"] == "revoked"
    listed = runner.invoke(markers_app, ["list", "--reason", "Audit", "--uprn", home, "--json"])
    assert [m["marker_id"] for m in json.loads(listed.stdout)] == [marker["marker_id"]]
    with owner_engine.begin() as conn:  # leave the session's world as it was
        conn.execute(text("DELETE FROM marker_reviews WHERE marker_id = :m"), {"m": int(mid)})
        conn.execute(text("DELETE FROM safe_markers WHERE marker_id = :m"), {"m": int(mid)})
