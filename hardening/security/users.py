"""Users, API tokens and authentication.

Tokens are random (secrets.token_urlsafe), shown once, stored as SHA-256 hashes, expiring and
revocable. Authentication reads hashes only through the database's definer functions, because
no actor exists yet when a request arrives.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hardening.db.engine import Actor
from hardening.errors import AuthenticationError, NotFoundError, UserInputError
from hardening.security.passwords import hash_password, verify_password

ROLES = ("control_room", "visit_team", "housing", "planner", "analyst", "admin")
TOKEN_PREFIX = "hdn_"
MIN_PASSWORD_LENGTH = 12


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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    org = conn.execute(text("SELECT 1 FROM organisations WHERE org_id = :o"), {"o": org_id})
    if org.first() is None:
        raise NotFoundError(f"unknown organisation {org_id!r}")
    try:
        with conn.begin_nested():
            user_id = conn.execute(
                text(
                    "INSERT INTO users (org_id, username, display_name, password_hash, roles) "
                    "VALUES (:org, :username, :display, :hash, :roles) RETURNING user_id"
                ),
                {
                    "org": org_id,
                    "username": username,
                    "display": display_name or username,
                    "hash": hash_password(password),
                    "roles": roles,
                },
            ).scalar_one()
    except IntegrityError as exc:
        raise UserInputError(
            f"cannot add user {username!r}: name taken or not of the form [a-z0-9._-]{{2,64}}"
        ) from exc
    return int(user_id)


def issue_token(
    conn: Connection, username: str, days: int = 30, label: str | None = None
) -> IssuedToken:
    if not 1 <= days <= 365:
        raise UserInputError("token lifetime must be between 1 and 365 days")
    user_id = conn.execute(
        text("SELECT user_id FROM users WHERE username = :u AND active"), {"u": username}
    ).scalar_one_or_none()
    if user_id is None:
        raise NotFoundError(f"unknown or inactive user {username!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=days)
    token_id = conn.execute(
        text(
            "INSERT INTO api_tokens (user_id, token_hash, label, expires_at) "
            "VALUES (:user_id, :hash, :label, :expires) RETURNING token_id"
        ),
        {"user_id": user_id, "hash": token_hash(token), "label": label, "expires": expires_at},
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


def _actor(user_id: int, org_id: str, roles: list[str], username: str) -> Actor:
    return Actor(
        user_id=int(user_id), org_id=str(org_id), roles=tuple(roles), username=str(username)
    )


def authenticate_token(conn: Connection, token: str) -> Actor:
    row = conn.execute(
        text("SELECT user_id, org_id, roles, username FROM auth_user_for_token(:h)"),
        {"h": token_hash(token)},
    ).first()
    if row is None:
        raise AuthenticationError("invalid, expired or revoked token")
    return _actor(row.user_id, row.org_id, row.roles, row.username)


def authenticate_password(conn: Connection, username: str, password: str) -> Actor:
    row = conn.execute(
        text("SELECT user_id, org_id, roles, password_hash, active FROM auth_user_for_login(:u)"),
        {"u": username},
    ).first()
    # Verify against a dummy hash when the user is unknown so timing does not reveal names.
    stored = row.password_hash if row is not None else _DUMMY_HASH
    if not verify_password(stored, password) or row is None or not row.active:
        raise AuthenticationError("wrong username or password")
    return _actor(row.user_id, row.org_id, row.roles, username)


_DUMMY_HASH = hash_password(secrets.token_hex(16))
