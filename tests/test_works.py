"""Work orders against the real PostGIS: state machine, versions, SLA, escalation, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, text
from world import HOUSING_A, World

from hardening.db.engine import Actor, set_actor
from hardening.errors import ConflictError, NotFoundError, UserInputError
from hardening.works import orders, plan
from hardening.works.solver import solve

LONDON = ZoneInfo("Europe/London")


def _as(conn: Connection, world: World, who: str) -> None:
    set_actor(conn, world.actors[who])


def test_priority_and_due_from_band_and_provider_sla(app_conn: Connection, world: World) -> None:
    _as(app_conn, world, "housing_a")
    now = datetime.now(UTC)
    order = orders.create(app_conn, world.homes_a[2], "spy_hole", now=now)
    assert order.priority == "planned"  # band medium -> planned by default
    assert abs((order.due_at - now) - timedelta(days=90)) < timedelta(seconds=1)
    orders.set_sla(app_conn, HOUSING_A, "routine", 14 * 24, "medium")
    order = orders.create(app_conn, world.homes_a[3], "spy_hole", now=now)
    assert order.priority == "routine"
    assert abs((order.due_at - now) - timedelta(days=14)) < timedelta(seconds=1)
    with pytest.raises(UserInputError):
        orders.create(app_conn, world.homes_a[3], "no_such_measure")


def test_state_machine_versions_and_audit(app_conn: Connection, world: World) -> None:
    _as(app_conn, world, "housing_a")
    o = orders.create(app_conn, world.homes_a[2], "door_chain", priority="urgent")
    assert (o.status, o.version) == ("requested", 1)
    with pytest.raises(UserInputError, match="cannot become completed"):
        orders.transition(app_conn, o.work_order_id, 1, "completed")
    o = orders.transition(app_conn, o.work_order_id, 1, "approved")
    with pytest.raises(ConflictError):
        orders.transition(app_conn, o.work_order_id, 1, "cancelled")  # stale version
    start = datetime.now(UTC) + timedelta(days=1)
    op = _operative(app_conn, world)
    o = orders.schedule_one(app_conn, o.work_order_id, 2, op, start, start + timedelta(hours=1))
    o = orders.no_access(app_conn, o.work_order_id, o.version)
    assert (o.status, o.no_access_attempts) == ("no_access", 1)
    o = orders.transition(app_conn, o.work_order_id, o.version, "cancelled")
    with pytest.raises(UserInputError):
        orders.transition(app_conn, o.work_order_id, o.version, "approved")
    set_actor(app_conn, Actor.system())
    actions = app_conn.execute(
        text(
            "SELECT action FROM audit_log WHERE object_type = 'work_order' AND object_id = :i "
            "ORDER BY audit_id"
        ),
        {"i": str(o.work_order_id)},
    ).scalars()
    assert list(actions) == ["collection"] + ["alteration"] * 4


def _operative(conn: Connection, world: World) -> int:
    """A joiner working every day (the tests run on any weekday)."""
    return int(
        conn.execute(
            text(
                "INSERT INTO operatives (provider_org_id, name, skills, working_days, base) "
                "VALUES (:p, 'T Joiner', '{joiner}', '{1,2,3,4,5,6,7}', "
                "ST_SetSRID(ST_MakePoint(421000, 521000), 27700)) RETURNING operative_id"
            ),
            {"p": HOUSING_A},
        ).scalar_one()
    )


def test_provider_isolation(app_conn: Connection, world: World) -> None:
    _as(app_conn, world, "housing_a")
    mine = orders.list_orders(app_conn)
    assert mine and {o.provider_org_id for o in mine} == {HOUSING_A}
    _as(app_conn, world, "housing_b")
    theirs = mine[0]
    with pytest.raises(NotFoundError):
        orders.transition(app_conn, theirs.work_order_id, theirs.version, "approved")
    with pytest.raises(NotFoundError):  # B cannot even see A's homes
        orders.create(app_conn, world.homes_a[0], "spy_hole", provider="t-housing-b")


def test_marker_by_police_escalates_provider_order(app_conn: Connection, world: World) -> None:
    """The visit team cannot see the order, yet its marker escalates it (trigger)."""
    _as(app_conn, world, "housing_a")
    o = orders.create(app_conn, world.homes_a[4], "spy_hole", priority="planned")
    _as(app_conn, world, "visit_team")
    assert not app_conn.execute(text("SELECT 1 FROM work_orders")).first()
    # the visit team places a marker (plain SQL as that actor: escalation is the trigger's job)
    app_conn.execute(
        text(
            "INSERT INTO safe_markers (uprn, scope, reason_category, grading_advice, org_id, "
            "review_due, area_id) SELECT uprn, 'address', 'threat_to_life', 'Armed occupant', "
            "'t-police', current_date + 90, area_id FROM addresses WHERE uprn = :u"
        ),
        {"u": world.homes_a[4]},
    )
    _as(app_conn, world, "housing_a")
    after = orders.get(app_conn, o.work_order_id)
    assert after.priority == "emergency"
    # the provider learns that an alert stands, not that it is a marker, nor why
    assert after.escalation_reason == "alert"
    assert "threat_to_life" not in str(orders.list_orders(app_conn, HOUSING_A))
    assert after.due_at <= datetime.now(UTC) + timedelta(hours=24, seconds=5)
    assert after.version == o.version + 1
    with pytest.raises(ConflictError):  # the housing officer's stale copy is refused
        orders.transition(app_conn, o.work_order_id, o.version, "approved")
    # a new order where the marker stands starts escalated
    fresh = orders.create(app_conn, world.homes_a[4], "door_chain", priority="planned")
    assert fresh.priority == "emergency"


def test_incident_escalates_only_open_orders_and_right_categories(
    app_conn: Connection, world: World
) -> None:
    _as(app_conn, world, "housing_a")
    o = orders.create(app_conn, world.homes_a[5], "spy_hole", priority="routine")
    done = orders.create(app_conn, world.homes_a[5], "letterbox_guard", priority="routine")
    done = orders.transition(app_conn, done.work_order_id, 1, "cancelled")
    set_actor(app_conn, Actor.system())
    cases = (("asb", "asb", 0, "routine"), ("old", "cuckooing", 30, "routine"),
             ("cuck", "cuckooing", 0, "emergency"))  # fmt: skip
    for ref, category, days_ago, expected in cases:  # a back-filled old incident is no alarm
        app_conn.execute(
            text(
                "INSERT INTO incidents (source, source_ref, category, occurred_at, uprn, "
                "area_id, geom) SELECT 'test', :r, :c, now() - make_interval(days => :d), "
                "uprn, area_id, geom FROM addresses WHERE uprn = :u"
            ),
            {"r": f"works-{ref}", "c": category, "u": world.homes_a[5], "d": days_ago},
        )
        _as(app_conn, world, "housing_a")
        assert orders.get(app_conn, o.work_order_id).priority == expected
        set_actor(app_conn, Actor.system())
    assert orders.get(app_conn, done.work_order_id).priority == "routine"


def test_replanning_keeps_todays_committed_job(app_conn: Connection, world: World) -> None:
    """Today's 09:00 (local: BST in summer) job stays at 09:00 when an emergency arrives."""
    _as(app_conn, world, "housing_a")
    op = _operative(app_conn, world)
    today = datetime.now(LONDON).date()
    nine = datetime.combine(today, time(9), LONDON)
    kept = orders.create(app_conn, world.homes_a[6], "spy_hole", priority="routine")
    kept = orders.transition(app_conn, kept.work_order_id, 1, "approved")
    kept = orders.schedule_one(app_conn, kept.work_order_id, 2, op, nine,
                               nine + timedelta(minutes=30))  # fmt: skip
    urgent = orders.create(app_conn, world.homes_a[7], "door_chain", priority="emergency")
    orders.transition(app_conn, urgent.work_order_id, 1, "approved")
    problem = plan.load_problem(app_conn, HOUSING_A, today, 2)
    fixed = {j.job_id: j.fixed for j in problem.jobs}
    assert fixed[kept.work_order_id] == (op, 9 * 60)
    assert fixed[urgent.work_order_id] is None
    result = plan.to_dict(problem, solve(problem, seconds=1))
    assert result["violations"] == []
    mine = next(v for v in result["visits"] if v["work_order_id"] == kept.work_order_id)
    assert mine["start"] == nine and mine["committed"]
