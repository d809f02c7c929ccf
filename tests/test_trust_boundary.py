"""The service's own database login cannot become anyone (issue 16, item 1).

Connected as hardening_app, exactly as the API and the map connect, a transaction that sets
every session variable the old policies trusted, by hand, reads no protected row, changes
nothing, and cannot take the trusted paths that establish an actor without a credential.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from world import POLICE, World

from hardening.db.engine import Actor, authenticate, set_actor
from hardening.errors import AuthenticationError, PermissionDeniedError

# What a thief of the service's connection would try: the old settings, as an admin user of
# the police (a real user id), as the system (no user, role admin), and as a provider.
FORGERIES = [
    {"app.user_id": "", "app.org_id": "", "app.roles": "admin", "app.username": "system"},
    {"app.roles": "admin,analyst,control_room,visit_team", "app.org_id": POLICE},
    {"app.roles": "housing", "app.org_id": "t-housing-a"},
]


def _protected_tables(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT relname FROM pg_class WHERE relrowsecurity AND relkind = 'r' "
                "AND relnamespace = 'public'::regnamespace "
                "AND has_any_column_privilege('hardening_app', oid, 'SELECT') ORDER BY relname"
            )
        ).scalars()
    )


# Rows everyone may read by design: the default service levels (no provider's own).
PROTECTED_ROWS = {"works_sla": "provider_org_id IS NOT NULL"}


def _counts(conn: Connection, tables: list[str]) -> dict[str, int]:
    return {
        t: int(
            conn.execute(
                text(f'SELECT count(*) FROM "{t}" WHERE {PROTECTED_ROWS.get(t, "true")}')
            ).scalar_one()
        )
        for t in tables
    }


@pytest.fixture
def thief(service_engine: Engine, world: World, tokens: dict[str, str]) -> Iterator[Connection]:
    """The service's login, in a transaction rolled back after the test."""
    conn = service_engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


def _forge(conn: Connection, forged: dict[str, str], admin_id: int) -> None:
    for name, value in {"app.user_id": str(admin_id), **forged}.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


@pytest.mark.parametrize("forged", FORGERIES)
def test_forged_settings_read_no_protected_row(
    thief: Connection, owner_engine: Engine, world: World, forged: dict[str, str]
) -> None:
    with owner_engine.connect() as owner:
        tables = _protected_tables(owner)
        there = _counts(owner, tables)
    held = {t for t, n in there.items() if n > 0}
    # Not vacuous: the world holds people's data in these.
    assert {"users", "safe_markers", "visits", "work_orders", "referrals", "api_tokens"} <= held
    _forge(thief, forged, world.actors["admin"].user_id or 0)
    seen = _counts(thief, tables)
    assert {t: n for t, n in seen.items() if n} == {}


def test_forged_settings_change_nothing(
    thief: Connection, owner_engine: Engine, world: World
) -> None:
    _forge(thief, FORGERIES[1], world.actors["admin"].user_id or 0)
    for statement in (
        "UPDATE users SET roles = '{admin}'",
        "UPDATE safe_markers SET status = 'withdrawn'",
        "DELETE FROM work_orders",
        "UPDATE api_tokens SET revoked_at = NULL",
        "DELETE FROM referrals",
    ):
        assert thief.execute(text(statement)).rowcount == 0, statement
    refused = [
        "UPDATE users SET password_hash = 'x'",
        "SELECT password_hash FROM users",
        "SELECT * FROM auth_context",
        "INSERT INTO auth_context (pid, xact_start, username, is_system) "
        "VALUES (pg_backend_pid(), now(), 'system', true)",
        "SELECT * FROM auth_sessions",
        "INSERT INTO audit_log (action, object_type, justification) "
        "VALUES ('consultation', 'safe_marker', 'in the admin''s name')",
        "SELECT app_act_as_system()",
        f"SELECT app_act_as_user({world.actors['admin'].user_id})",
    ]
    for statement in refused:
        with pytest.raises(DBAPIError), thief.begin_nested():
            thief.execute(text(statement))
    for actor in (Actor.system(), world.actors["admin"]):
        with pytest.raises(PermissionDeniedError, match="credential"), thief.begin_nested():
            set_actor(thief, actor)
    with owner_engine.connect() as owner:
        roles = owner.execute(
            text("SELECT roles FROM users WHERE user_id = :u"),
            {"u": world.actors["housing_a"].user_id},
        ).scalar_one()
    assert roles == ["housing"]


def test_a_credential_is_the_only_way_in(
    thief: Connection, world: World, tokens: dict[str, str]
) -> None:
    """The same login, presenting a real token, acts as that user and only as them."""
    actor = authenticate(thief, tokens["housing_a"])
    assert actor.username == "t.housing-a"
    orders = thief.execute(text("SELECT DISTINCT provider_org_id FROM work_orders")).scalars()
    assert set(orders) == {"t-housing-a"}
    assert thief.execute(text("SELECT count(*) FROM safe_markers")).scalar_one() == 0
    # Settings cannot widen it either.
    _forge(thief, FORGERIES[0], world.actors["admin"].user_id or 0)
    assert thief.execute(text("SELECT count(*) FROM safe_markers")).scalar_one() == 0
    # A refused credential leaves no actor behind, not even the one before it.
    with pytest.raises(AuthenticationError):
        authenticate(thief, "hdn_not-a-real-token")
    assert thief.execute(text("SELECT app_user_id()")).scalar_one() is None


def test_the_actor_ends_with_the_transaction(
    service_engine: Engine, tokens: dict[str, str]
) -> None:
    with service_engine.connect() as conn:
        with conn.begin():
            authenticate(conn, tokens["control_room"])
            assert conn.execute(text("SELECT app_user_id()")).scalar_one() is not None
        with conn.begin():  # the next transaction on the same pooled connection
            assert conn.execute(text("SELECT app_user_id()")).scalar_one() is None
            assert conn.execute(text("SELECT count(*) FROM safe_markers")).scalar_one() == 0


def test_a_user_may_ask_for_a_rescore_only_of_what_they_see(
    thief: Connection, owner_engine: Engine, tokens: dict[str, str]
) -> None:
    with owner_engine.connect() as owner:
        visit = owner.execute(text("SELECT min(visit_id) FROM visits")).scalar_one()
    ask = text("INSERT INTO rescore_requests (cause, object_id) VALUES ('visit', :v)")
    authenticate(thief, tokens["housing_a"])  # sees no visits
    with pytest.raises(DBAPIError, match="row-level security"), thief.begin_nested():
        thief.execute(ask, {"v": visit})
    authenticate(thief, tokens["visit_team"])
    thief.execute(ask, {"v": visit})
    assert thief.execute(text("SELECT count(*) FROM rescore_requests")).scalar_one() == 0
    done = thief.execute(text("UPDATE rescore_requests SET done_at = now()")).rowcount
    assert done == 0  # asking is all: only the system reads and does them
