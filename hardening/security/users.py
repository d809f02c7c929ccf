"""Users, API tokens, passwords and sign-in.

Tokens are random (secrets.token_urlsafe), shown once, stored as SHA-256 hashes, expiring and
revocable. Passwords are hashed and checked inside the database (bcrypt through pgcrypto,
sql/021_trust_boundary.sql): the service never reads a hash. Sign-in opens a server-side
session whose token, like an API token, is what establishes the actor in each transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from hardening.db.engine import NOBODY, Actor, transaction
from hardening.errors import AuthenticationError, NotFoundError, UserInputError
from hardening.security import audit

ROLES = ("control_room", "visit_team", "housing", "planner", "analyst", "admin")
TOKEN_PREFIX = "hdn_"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further


def actor_for(conn: Connection, username: str) -> Actor:
    """The actor a user's requests run as (read by the system actor, for commands that act as
    a named user)."""
    row = conn.execute(
        text("SELECT user_id, org_id, roles, username FROM users WHERE username = :u AND active"),
        {"u": username},
    ).first()
    if row is None:
        raise NotFoundError(f"unknown or inactive user {username!r}")
    return Actor(int(row.user_id), str(row.org_id), tuple(row.roles), str(row.username))


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: int
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    conn: Connection,
    username: str,
    org_id: str,
    roles: list[str],
    password: str,
    display_name: str | None = None,
) -> int:
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise UserInputError(f"roles must be among {', '.join(ROLES)}; got {', '.join(roles)}")
    check_password(password)
    org = conn.execute(text("SELECT 1 FROM organisations WHERE org_id = :o"), {"o": org_id})
    if org.first() is None:
        raise NotFoundError(f"unknown organisation {org_id!r}")
    try:
        with conn.begin_nested():
            user_id = conn.execute(
                text(
                    "INSERT INTO users (org_id, username, display_name, roles) "
                    "VALUES (:org, :username, :display, :roles) RETURNING user_id"
                ),
                {
                    "org": org_id,
                    "username": username,
                    "display": display_name or username,
                    "roles": roles,
                },
            ).scalar_one()
    except IntegrityError as exc:
        raise UserInputError(
            f"cannot add user {username!r}: name taken or not of the form [a-z0-9._-]{{2,64}}"
        ) from exc
    set_password(conn, username, password)
    return int(user_id)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise UserInputError(f"password must have at most {MAX_PASSWORD_BYTES} bytes")


def set_password(conn: Connection, username: str, password: str) -> None:
    """Hash and store a password in the database; ends the user's open sessions. The system,
    or an administrator for users of their own organisation."""
    check_password(password)
    try:
        with conn.begin_nested():
            conn.execute(text("SELECT auth_set_password(:u, :p)"), {"u": username, "p": password})
    except DBAPIError as exc:
        raise NotFoundError(f"no user {username!r} that you may administer") from exc


def issue_token(
    conn: Connection,
    username: str,
    days: int = 30,
    label: str | None = None,
    purpose: str | None = None,
) -> IssuedToken:
    """A new token for the user. With a purpose, reads that need a reason and are made with
    this token without one are audited with the purpose (for clients such as QGIS that cannot
    send a reason per request)."""
    if not 1 <= days <= 365:
        raise UserInputError("token lifetime must be between 1 and 365 days")
    if purpose is not None:
        purpose = audit.check_text(purpose.strip(), "purpose")
        if not 3 <= len(purpose) <= 500:
            raise UserInputError("a token's purpose needs 3 to 500 characters")
    user_id = conn.execute(
        text("SELECT user_id FROM users WHERE username = :u AND active"), {"u": username}
    ).scalar_one_or_none()
    if user_id is None:
        raise NotFoundError(f"unknown or inactive user {username!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=days)
    token_id = conn.execute(
        text(
            "INSERT INTO api_tokens (user_id, token_hash, label, expires_at, purpose) "
            "VALUES (:user_id, :hash, :label, :expires, :purpose) RETURNING token_id"
        ),
        {
            "user_id": user_id,
            "hash": token_hash(token),
            "label": label,
            "expires": expires_at,
            "purpose": purpose,
        },
    ).scalar_one()
    return IssuedToken(token, int(token_id), expires_at)


def revoke_tokens(conn: Connection, username: str, token_id: int | None = None) -> int:
    """Revoke one token of the user (by id) or all their live tokens; returns how many."""
    revoked = conn.execute(
        text(
            "UPDATE api_tokens t SET revoked_at = now() FROM users u "
            "WHERE u.user_id = t.user_id AND u.username = :u AND t.revoked_at IS NULL "
            "AND (CAST(:token_id AS bigint) IS NULL OR t.token_id = :token_id)"
        ),
        {"u": username, "token_id": token_id},
    ).rowcount
    if revoked == 0:
        raise NotFoundError(f"no live token to revoke for {username!r}")
    return int(revoked)


LOCKED_MESSAGE = "too many wrong passwords: this account is locked until {until:%H:%M} (UTC)"


def sign_in(engine: Engine, username: str, password: str) -> Actor:
    """Check the password in the database and open a session; the returned actor carries the
    session's token. Its own transaction, committed whatever the outcome: a wrong password
    counts towards the lock-out."""
    with transaction(engine, NOBODY) as conn:
        row = conn.execute(
            text(
                "SELECT outcome, session_token, user_id, org_id, roles, username, locked_until "
                "FROM auth_sign_in(:u, :p)"
            ),
            {"u": username, "p": password},
        ).one()
    if row.outcome == "locked":
        raise AuthenticationError(LOCKED_MESSAGE.format(until=row.locked_until))
    if row.outcome == "reset_needed":
        raise AuthenticationError(
            "this password was stored before passwords moved into the database: an "
            f"administrator sets a new one (`hardening users passwd {username}`)"
        )
    if row.outcome != "ok":
        raise AuthenticationError("wrong username or password")
    return Actor(
        int(row.user_id), str(row.org_id), tuple(row.roles), str(row.username),
        str(row.session_token),
    )  # fmt: skip


def sign_out(conn: Connection, actor: Actor) -> None:
    """End the actor's sign-in session (an API token is revoked with `revoke_tokens`)."""
    if actor.credential is not None:
        conn.execute(text("SELECT auth_sign_out(:t)"), {"t": actor.credential})
