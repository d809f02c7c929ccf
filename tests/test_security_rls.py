"""Row-level security, proved per role on the hand-built partnership in tests/world.py."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from world import HEALTH, HOUSING_A, HOUSING_B, NORTH, World

from hardening.db.engine import Actor, set_actor

RLS_TABLES = (
    "organisations",
    "sharing_agreements",
    "users",
    "api_tokens",
    "addresses",
    "incidents",
    "visits",
    "safe_markers",
    "referrals",
    "work_orders",
    "cctv_sites",
    "risk_scores",
    "risk_explanations",
    "audit_log",
    "buildings",
)


def _count(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(text(sql), params).scalar_one())


def _test_uprns(conn: Connection, table: str) -> set[int]:
    rows = conn.execute(
        text(f"SELECT uprn FROM {table} WHERE uprn BETWEEN 5000000000 AND 5000000099")
    )
    return {int(r[0]) for r in rows}


def test_no_actor_sees_nothing(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, Actor(user_id=None, org_id=None, roles=()))
    for table in RLS_TABLES:
        assert _count(app_conn, f"SELECT count(*) FROM {table}") == 0, table


def test_housing_sees_only_its_own_homes_and_works(app_conn: Connection, world: World) -> None:
    for actor, own, other, org in (
        ("housing_a", world.homes_a, world.homes_b, HOUSING_A),
        ("housing_b", world.homes_b, world.homes_a, HOUSING_B),
    ):
        set_actor(app_conn, world.actors[actor])
        assert _test_uprns(app_conn, "addresses") == set(own)
        assert _test_uprns(app_conn, "risk_scores") == set(own)
        providers = app_conn.execute(text("SELECT DISTINCT provider_org_id FROM work_orders"))
        assert [r[0] for r in providers] == [org]
        assert not set(other) & _test_uprns(app_conn, "work_orders")


def test_housing_never_sees_police_information(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["housing_a"])
    for table in (
        "incidents",
        "visits",
        "safe_markers",
        "referrals",
        "risk_explanations",
        "county_lines",
        "protection_plans",
        "audit_log",
    ):
        assert _count(app_conn, f"SELECT count(*) FROM {table}") == 0, table


def test_housing_cannot_write_for_another_provider(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["housing_a"])
    with pytest.raises(DBAPIError, match="row-level security"), app_conn.begin_nested():
        app_conn.execute(
            text(
                "INSERT INTO work_orders (provider_org_id, uprn, measure_code, priority, due_at, "
                "area_id) VALUES (:p, :u, 'spy_hole', 'routine', now(), :a)"
            ),
            {"p": HOUSING_B, "u": world.homes_b[1], "a": NORTH},
        )
    updated = app_conn.execute(
        text("UPDATE work_orders SET priority = 'emergency' WHERE provider_org_id = :p"),
        {"p": HOUSING_B},
    ).rowcount
    assert updated == 0


def test_planner_gets_no_personal_rows(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["planner"])
    for table in ("addresses", "incidents", "visits", "safe_markers", "risk_scores", "work_orders"):
        assert _count(app_conn, f"SELECT count(*) FROM {table}") == 0, table
    assert _count(app_conn, "SELECT count(*) FROM cctv_sites WHERE source = 'test'") == 1


def test_control_room_sees_markers_in_its_areas(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["control_room"])
    assert _test_uprns(app_conn, "safe_markers") == {world.homes_a[1], world.south_homes[0]}
    assert _test_uprns(app_conn, "risk_explanations") >= set(world.homes_a)
    with pytest.raises(DBAPIError, match="row-level security"), app_conn.begin_nested():
        app_conn.execute(
            text(
                "INSERT INTO safe_markers (uprn, scope, reason_category, grading_advice, org_id, "
                "review_due, area_id) VALUES (:u, 'address', 'other', 'advice', 't-police', "
                "current_date + 30, :a)"
            ),
            {"u": world.homes_a[2], "a": NORTH},
        )


def test_partner_sees_and_updates_only_referrals_made_to_it(
    app_conn: Connection, world: World
) -> None:
    set_actor(app_conn, world.actors["health"])
    partners = app_conn.execute(text("SELECT DISTINCT partner_org_id FROM referrals"))
    assert [r[0] for r in partners] == [HEALTH]
    # made to it in north and in south; its agreement covers north only (sql/022)
    assert [r[0] for r in app_conn.execute(text("SELECT area_id FROM referrals"))] == [NORTH]
    assert _count(app_conn, "SELECT count(*) FROM visits") == 0
    changed = app_conn.execute(text("UPDATE referrals SET status = 'accepted'")).rowcount
    assert changed == 1


def test_expired_agreement_grants_nothing(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["lapsed"])
    for table in (
        "addresses",
        "incidents",
        "visits",
        "safe_markers",
        "risk_scores",
        "work_orders",
        "cctv_sites",
    ):
        assert _count(app_conn, f"SELECT count(*) FROM {table}") == 0, table


def test_only_admins_change_agreements(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["control_room"])
    deleted = app_conn.execute(
        text(
            "DELETE FROM agreement_areas WHERE area_id = 'test-south' AND agreement_id IN "
            "(SELECT agreement_id FROM sharing_agreements WHERE org_id = 't-police')"
        )
    ).rowcount
    assert deleted == 0
    assert set(world.south_homes) <= _test_uprns(app_conn, "addresses")


def test_agreement_areas_limit_what_police_roles_see(app_conn: Connection, world: World) -> None:
    app_conn.execute(text("INSERT INTO organisations VALUES ('t-north-only', 'T N', 'police')"))
    agreement = app_conn.execute(
        text(
            "INSERT INTO sharing_agreements (org_id, title, data_classes, starts_on, ends_on, "
            "review_on) VALUES ('t-north-only', 't', '{markers}', current_date - 1, "
            "current_date + 30, current_date + 30) RETURNING agreement_id"
        )
    ).scalar_one()
    app_conn.execute(
        text("INSERT INTO agreement_areas VALUES (:a, :n)"), {"a": agreement, "n": NORTH}
    )
    user_id = app_conn.execute(
        text(
            "INSERT INTO users (org_id, username, display_name, roles) VALUES "
            "('t-north-only', 't.north-only', 'T', '{control_room}') RETURNING user_id"
        )
    ).scalar_one()
    set_actor(app_conn, Actor(user_id, "t-north-only", ("control_room",)))
    assert _test_uprns(app_conn, "safe_markers") == {world.homes_a[1]}
    assert not set(world.south_homes) & _test_uprns(app_conn, "addresses")
