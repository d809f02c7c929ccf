"""Load a sample (files or generated) table by table, in foreign-key order, in the caller's
transaction: COPY to staging and upsert on each table's natural key, so a second load changes
nothing. New demo users get the demo password (hashed by the database; the files hold no hash)
when the caller allows it, and a re-load never touches an existing user's password.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hardening.db.bulk import UpsertCounts, upsert_rows
from hardening.errors import UserInputError
from hardening.sample.files import TableSource
from hardening.sample.spec import DEMO_PASSWORD
from hardening.security.users import set_password

PROGRESS_EVERY: Final = 250_000
SLOW_TABLE_S: Final = 10.0

# users.password_hash is not the application role's to read or write, and upsert_rows' staging
# copies every column; users are few, so they get one INSERT ... ON CONFLICT of their own.
USERS_UPSERT = text(
    """
    WITH incoming AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            user_id bigint, org_id text, username text, display_name text, roles text[],
            active boolean, created_at timestamptz)
    ), written AS (
        INSERT INTO users (user_id, org_id, username, display_name, roles, active, created_at)
        OVERRIDING SYSTEM VALUE
        SELECT user_id, org_id, username, display_name, roles, active, created_at
        FROM incoming
        ON CONFLICT (username) DO UPDATE SET
            org_id = EXCLUDED.org_id, display_name = EXCLUDED.display_name,
            roles = EXCLUDED.roles, active = EXCLUDED.active
        WHERE ROW(users.org_id, users.display_name, users.roles, users.active)
              IS DISTINCT FROM ROW(EXCLUDED.org_id, EXCLUDED.display_name, EXCLUDED.roles,
                                   EXCLUDED.active)
        RETURNING username
    )
    SELECT username FROM written
    """
)


class _Counted:
    """Passes rows through and counts them (to check the manifest's promise afterwards),
    saying how far a long table has got."""

    def __init__(
        self, rows: Iterable[tuple[Any, ...]], name: str, say: Callable[[str], None]
    ) -> None:
        self.rows, self.name, self.say = rows, name, say
        self.count = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.rows:
            self.count += 1
            if self.count % PROGRESS_EVERY == 0:
                self.say(f"{self.name}: {self.count:,} rows sent")
            yield row


def load(
    conn: Connection,
    sources: Sequence[TableSource],
    progress: Callable[[str], None] | None = None,
    demo_passwords: bool = False,
) -> dict[str, UpsertCounts]:
    """Upsert every table; returns inserted/updated/unchanged per table. New demo users get
    the public demo password only with demo_passwords (else they cannot sign in)."""
    say = progress or (lambda _: None)
    out: dict[str, UpsertCounts] = {}
    for source in sources:
        spec = source.spec
        started = time.perf_counter()
        rows = _Counted(source.rows, spec.name, say)
        try:
            if spec.name == "users":
                counts = _load_users(conn, spec.columns, rows, demo_passwords)
            else:
                counts = upsert_rows(
                    conn, spec.name, spec.columns, rows, spec.key, identity=spec.identity
                )
        except DBAPIError as exc:
            if not isinstance(exc.orig, psycopg.Error):
                raise
            raise _clash(spec.name, source.origin, exc.orig) from exc
        except psycopg.Error as exc:
            raise _clash(spec.name, source.origin, exc) from exc
        if source.expected is not None and rows.count != source.expected:
            raise UserInputError(
                f"{source.origin}: {rows.count} rows of {spec.name}, the manifest says "
                f"{source.expected}; the sample is incomplete (regenerate it)"
            )
        out[spec.name] = counts
        seconds = time.perf_counter() - started
        if seconds >= SLOW_TABLE_S:  # the counts are the caller's summary: only say what is slow
            say(f"{spec.name}: {counts.total:,} rows in {seconds:.1f}s")
    return out


def _clash(table: str, origin: str, exc: psycopg.Error) -> UserInputError:
    message = (exc.diag.message_primary or str(exc)).strip()
    detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return UserInputError(
            f"sample table {table}: {message}{detail}. The database already holds other rows "
            "with the sample's ids; load it into an empty database (`hardening db reset --yes`)"
        )
    return UserInputError(f"sample table {table} from {origin}: {message}{detail}")


def _load_users(
    conn: Connection,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    demo_passwords: bool,
) -> UpsertCounts:
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    if not records:
        return UpsertCounts(0, 0, 0)
    names = [r["username"] for r in records]
    existing = set(
        conn.execute(
            text("SELECT username FROM users WHERE username = ANY(:names)"), {"names": names}
        ).scalars()
    )
    # xmax (insert or update?) is not readable under column grants: compare with `existing`.
    written = set(conn.execute(USERS_UPSERT, {"rows": json.dumps(records)}).scalars())
    inserted, updated = len(written - existing), len(written & existing)
    if demo_passwords:
        for username in sorted(written - existing):
            set_password(conn, username, DEMO_PASSWORD)
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('users', 'user_id'), "
            "GREATEST((SELECT max(user_id) FROM users), 1))"
        )
    )
    return UpsertCounts(inserted, updated, len(records) - inserted - updated)
