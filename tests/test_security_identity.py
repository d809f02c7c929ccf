"""Users, passwords and tokens: only live credentials grant an actor."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from world import HOUSING_A, World

from hardening.errors import AuthenticationError, NotFoundError, UserInputError
from hardening.security.users import (
    add_user,
    authenticate_password,
    authenticate_token,
    issue_token,
    revoke_tokens,
)

PASSWORD = "correct horse battery"


def test_password_login_gives_the_users_actor(app_conn: Connection, world: World) -> None:
    user_id = add_user(app_conn, "t.new-housing", HOUSING_A, ["housing"], PASSWORD)
    actor = authenticate_password(app_conn, "t.new-housing", PASSWORD)
    assert (actor.user_id, actor.org_id, actor.roles) == (user_id, HOUSING_A, ("housing",))
    stored = app_conn.execute(
        text("SELECT password_hash FROM auth_user_for_login(:u)"), {"u": "t.new-housing"}
    ).scalar_one()
    assert stored.startswith("$argon2id$")
    with pytest.raises(AuthenticationError):
        authenticate_password(app_conn, "t.new-housing", PASSWORD + "x")
    with pytest.raises(AuthenticationError):
        authenticate_password(app_conn, "t.nobody", PASSWORD)


def test_bad_user_input_is_refused(app_conn: Connection, world: World) -> None:
    with pytest.raises(UserInputError, match="roles"):
        add_user(app_conn, "t.x", HOUSING_A, ["superhero"], PASSWORD)
    with pytest.raises(UserInputError, match="password"):
        add_user(app_conn, "t.x", HOUSING_A, ["housing"], "short")
    with pytest.raises(NotFoundError):
        add_user(app_conn, "t.x", "no-such-org", ["housing"], PASSWORD)
    with pytest.raises(UserInputError, match="taken"):
        add_user(app_conn, "t.control-room", HOUSING_A, ["housing"], PASSWORD)


def test_token_lifecycle(app_conn: Connection, world: World) -> None:
    add_user(app_conn, "t.token-user", HOUSING_A, ["housing"], PASSWORD)
    issued = issue_token(app_conn, "t.token-user", days=1)
    assert authenticate_token(app_conn, issued.token).username == "t.token-user"
    stored = app_conn.execute(
        text("SELECT token_hash FROM api_tokens WHERE token_id = :i"), {"i": issued.token_id}
    ).scalar_one()
    assert issued.token not in stored
    assert revoke_tokens(app_conn, "t.token-user") == 1
    with pytest.raises(AuthenticationError):
        authenticate_token(app_conn, issued.token)
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
        authenticate_token(app_conn, expired.token)
    live = issue_token(app_conn, "t.expiring", days=1)
    app_conn.execute(text("UPDATE users SET active = false WHERE username = 't.expiring'"))
    with pytest.raises(AuthenticationError):
        authenticate_token(app_conn, live.token)
    with pytest.raises(AuthenticationError):
        authenticate_password(app_conn, "t.expiring", PASSWORD)
    with pytest.raises(AuthenticationError):
        authenticate_token(app_conn, "hdn_not-a-real-token")
