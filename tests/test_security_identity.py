"""Users, passwords, sign-in sessions and tokens: only live credentials grant an actor, and the
database checks them (sql/021_trust_boundary.sql). Sign-in commits even when it fails (the
lock-out counts), so these tests commit users of their own, named per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from world import HOUSING_A, POLICE, World

from hardening.db.engine import Actor, authenticate, set_actor, transaction
from hardening.errors import AuthenticationError, NotFoundError, UserInputError
from hardening.security.users import (
    add_user,
    issue_token,
    revoke_tokens,
    set_password,
    sign_in,
    sign_out,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def user(request: pytest.FixtureRequest, app_engine: Engine, world: World) -> Iterator[str]:
    """A committed housing user named after the test."""
    name = "t.id-" + request.node.name.removeprefix("test_").replace("_", "-")[:40]
    with transaction(app_engine, Actor.system()) as conn:
        add_user(conn, name, HOUSING_A, ["housing"], PASSWORD)
    yield name


def _who(engine: Engine, credential: str) -> str:
    with transaction(engine, Actor(None, None)) as conn:
        return authenticate(conn, credential).username


def test_sign_in_opens_a_session_the_database_checks(
    user: str, service_engine: Engine, owner_engine: Engine
) -> None:
    actor = sign_in(service_engine, user, PASSWORD)
    assert (actor.username, actor.org_id, actor.roles) == (user, HOUSING_A, ("housing",))
    assert actor.credential is not None and actor.credential.startswith("hds_")
    assert _who(service_engine, actor.credential) == user
    with owner_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM users WHERE username = :u"), {"u": user}
        ).scalar_one()
        kept = conn.execute(text("SELECT token_hash FROM auth_sessions")).scalars().all()
    assert stored.startswith("$2a$12$")  # bcrypt, hashed by the database
    assert actor.credential not in kept  # only its hash is kept
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        sign_in(service_engine, user, PASSWORD + "x")
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        sign_in(service_engine, "t.nobody-at-all", PASSWORD)


def test_five_wrong_passwords_lock_the_account(
    user: str, service_engine: Engine, owner_engine: Engine
) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="wrong"):
            sign_in(service_engine, user, "not the password at all")
    with pytest.raises(AuthenticationError, match="locked until"):
        sign_in(service_engine, user, PASSWORD)  # the right one, too soon
    with owner_engine.begin() as conn:  # fifteen minutes later
        conn.execute(
            text("UPDATE users SET locked_until = now() - interval '1 second' WHERE username = :u"),
            {"u": user},
        )
    assert sign_in(service_engine, user, PASSWORD).username == user


def test_a_session_ends_when_idle_signed_out_or_the_user_is_deactivated(
    user: str, service_engine: Engine, owner_engine: Engine, app_engine: Engine
) -> None:
    idle, signed_out, deactivated = (sign_in(service_engine, user, PASSWORD) for _ in range(3))
    assert idle.credential and signed_out.credential and deactivated.credential
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE auth_sessions SET last_seen_at = now() - interval '31 minutes' "
                "WHERE token_hash = auth_token_hash(:t)"
            ),
            {"t": idle.credential},
        )
    with pytest.raises(AuthenticationError):
        _who(service_engine, idle.credential)
    with transaction(service_engine, Actor(None, None)) as conn:
        sign_out(conn, signed_out)
    with pytest.raises(AuthenticationError):
        _who(service_engine, signed_out.credential)
    assert _who(service_engine, deactivated.credential) == user
    with transaction(app_engine, Actor.system()) as conn:
        conn.execute(text("UPDATE users SET active = false WHERE username = :u"), {"u": user})
    with pytest.raises(AuthenticationError):
        _who(service_engine, deactivated.credential)
    with pytest.raises(AuthenticationError, match="wrong"):
        sign_in(service_engine, user, PASSWORD)


def test_a_password_from_before_the_move_asks_for_a_reset(
    user: str, service_engine: Engine, owner_engine: Engine, app_engine: Engine
) -> None:
    with owner_engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET password_hash = '$argon2id$v=19$m=65536,t=3,p=4$x$y' "
                 "WHERE username = :u"),
            {"u": user},
        )  # fmt: skip
    with pytest.raises(AuthenticationError, match=f"hardening users passwd {user}"):
        sign_in(service_engine, user, PASSWORD)
    with transaction(app_engine, Actor.system()) as conn:
        set_password(conn, user, PASSWORD + "!")
    assert sign_in(service_engine, user, PASSWORD + "!").username == user


def test_an_admin_sets_passwords_only_in_their_own_organisation(
    user: str, app_conn: Connection, world: World
) -> None:
    set_actor(app_conn, world.actors["admin"])  # a police admin; the user is a provider's
    with pytest.raises(NotFoundError, match="administer"):
        set_password(app_conn, user, PASSWORD + "?")
    set_password(app_conn, "t.control-room", PASSWORD + "?")  # their own organisation


def test_bad_user_input_is_refused(app_conn: Connection, world: World) -> None:
    with pytest.raises(UserInputError, match="roles"):
        add_user(app_conn, "t.x", HOUSING_A, ["superhero"], PASSWORD)
    with pytest.raises(UserInputError, match="password"):
        add_user(app_conn, "t.x", HOUSING_A, ["housing"], "short")
    with pytest.raises(UserInputError, match="72 bytes"):
        add_user(app_conn, "t.x", HOUSING_A, ["housing"], "é" * 40)
    with pytest.raises(NotFoundError):
        add_user(app_conn, "t.x", "no-such-org", ["housing"], PASSWORD)
    with pytest.raises(UserInputError, match="taken"):
        add_user(app_conn, "t.control-room", POLICE, ["housing"], PASSWORD)


def test_token_lifecycle(app_conn: Connection, world: World) -> None:
    add_user(app_conn, "t.token-user", HOUSING_A, ["housing"], PASSWORD)
    issued = issue_token(app_conn, "t.token-user", days=1)
    assert authenticate(app_conn, issued.token).username == "t.token-user"
    set_actor(app_conn, Actor.system())
    stored = app_conn.execute(
        text("SELECT token_hash FROM api_tokens WHERE token_id = :i"), {"i": issued.token_id}
    ).scalar_one()
    assert issued.token not in stored
    assert revoke_tokens(app_conn, "t.token-user") == 1
    with pytest.raises(AuthenticationError):
        authenticate(app_conn, issued.token)
    set_actor(app_conn, Actor.system())
    with pytest.raises(NotFoundError):
        revoke_tokens(app_conn, "t.token-user")


def test_expired_token_and_inactive_user_grant_nothing(app_conn: Connection, world: World) -> None:
    add_user(app_conn, "t.expiring", HOUSING_A, ["housing"], PASSWORD)
    expired = issue_token(app_conn, "t.expiring", days=1)
    app_conn.execute(
        text(
            "UPDATE api_tokens SET created_at = now() - interval '3 days', "
            "expires_at = now() - interval '1 second' WHERE token_id = :i"
        ),
        {"i": expired.token_id},
    )
    with pytest.raises(AuthenticationError):
        authenticate(app_conn, expired.token)
    set_actor(app_conn, Actor.system())
    live = issue_token(app_conn, "t.expiring", days=1)
    app_conn.execute(text("UPDATE users SET active = false WHERE username = 't.expiring'"))
    with pytest.raises(AuthenticationError):
        authenticate(app_conn, live.token)
    with pytest.raises(AuthenticationError):
        authenticate(app_conn, "hdn_not-a-real-token")
