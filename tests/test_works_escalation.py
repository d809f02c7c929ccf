"""Escalation of orders where an alert already stands, however old or overdue the order (the
sample town loads its orders with their history, so the live-event triggers never fired), and
the queue's clocks in words. Real PostGIS, each test rolled back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text
from world import HOUSING_A, HOUSING_B, World

from hardening.db.engine import Actor, set_actor
from hardening.works import board, orders, plan


def _old_order(conn: Connection, uprn: int, provider: str, priority: str, status: str) -> int:
    """An order as a repairs system's import (or the sample) writes it: raised 400 days ago,
    due 370 days ago, so the new-order trigger leaves it as recorded."""
    set_actor(conn, Actor.system())
    return int(
        conn.execute(
            text(
                "INSERT INTO work_orders (provider_org_id, uprn, measure_code, priority, status, "
                "due_at, created_at, area_id) SELECT :p, uprn, 'spy_hole', :q, :s, "
                "now() - interval '370 days', now() - interval '400 days', area_id "
                "FROM addresses WHERE uprn = :u RETURNING work_order_id"
            ),
            {"p": provider, "u": uprn, "q": priority, "s": status},
        ).scalar_one()
    )


def test_queue_escalates_an_old_overdue_order_where_a_marker_stands(
    app_conn: Connection, world: World
) -> None:
    hot = _old_order(app_conn, world.homes_a[1], HOUSING_A, "planned", "no_access")  # marked
    calm = _old_order(app_conn, world.homes_a[3], HOUSING_A, "routine", "approved")
    before = {r["work_order_id"]: r for r in app_conn.execute(
        text("SELECT work_order_id, version, due_at, escalated_at FROM work_orders "
             "WHERE work_order_id = ANY(:i)"), {"i": [hot, calm]}).mappings()}  # fmt: skip
    assert before[hot]["escalated_at"] is None  # the triggers did not fire: history
    set_actor(app_conn, world.actors["housing_a"])
    rows = {r.work_order_id: r for r in board.queue(app_conn, HOUSING_A)}
    assert rows[hot].escalated and rows[hot].priority == "emergency"
    assert rows[hot].escalation_reason == "alert"  # not "marker:cuckooing": housing
    set_actor(app_conn, Actor.system())
    recorded = app_conn.execute(
        text("SELECT escalation_reason FROM work_orders WHERE work_order_id = :i"), {"i": hot}
    ).scalar_one()
    assert recorded == "marker:cuckooing"  # the database keeps the source for auditors
    set_actor(app_conn, world.actors["housing_a"])
    assert rows[hot].due_at == before[hot]["due_at"]  # late already: never pushed later
    assert rows[hot].version == before[hot]["version"] + 1  # stale edits now fail
    assert rows[hot].sla_state == "overdue"
    assert rows[hot].sla_clock.startswith("370 days") and "overdue" in rows[hot].sla_clock
    assert not rows[calm].escalated and rows[calm].priority == "routine"
    # a second look changes nothing more
    assert orders.escalate_standing(app_conn, HOUSING_A) == 0


def test_a_provider_sweeps_only_its_own_orders(app_conn: Connection, world: World) -> None:
    hot = _old_order(app_conn, world.homes_a[1], HOUSING_A, "routine", "approved")
    set_actor(app_conn, world.actors["housing_b"])
    assert orders.escalate_standing(app_conn, HOUSING_A) == 0  # not B's to sweep
    board.queue(app_conn, HOUSING_B)
    set_actor(app_conn, world.actors["visit_team"])  # police may not sweep providers' orders
    assert orders.escalate_standing(app_conn, HOUSING_A) == 0
    set_actor(app_conn, Actor.system())
    row = app_conn.execute(
        text("SELECT priority, escalated_at FROM work_orders WHERE work_order_id = :i"),
        {"i": hot},
    ).one()
    assert row.priority == "routine" and row.escalated_at is None


def test_planning_treats_a_standing_alert_as_an_emergency(
    app_conn: Connection, world: World
) -> None:
    hot = _old_order(app_conn, world.homes_a[1], HOUSING_A, "planned", "approved")
    set_actor(app_conn, world.actors["housing_a"])
    result = plan.schedule(app_conn, HOUSING_A, datetime.now(UTC).date(), 1, seconds=1)
    assert result is not None
    assert orders.get(app_conn, hot).priority == "emergency"


def test_clock_words() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    made = now - timedelta(days=30)
    assert board.sla_clock(now - timedelta(days=3, hours=4), made, now) == (
        "3 days 4 h overdue",
        "overdue",
    )
    assert board.sla_clock(now + timedelta(hours=5, minutes=20), made, now)[0] == "5 h 20 min left"
    assert board.span(1440) == "1 day" and board.span(580161) == "402 days 21 h"
    assert board.span(12) == "12 min"
