"""The audit log (DPA 2018 s.62): who consulted, disclosed or changed personal data, when, why.

Rows are appended by the database's trigger into a hash chain; the application role cannot
update or delete them. `verify` recomputes the chain and names any edited or missing row; given
heads recorded earlier by `head` (kept elsewhere), it also catches a chain rewritten whole.
Reasons and recipients are one line of plain text: `check_text` refuses control characters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import psycopg
from sqlalchemy import Connection, text

from hardening.errors import UserInputError

Action = Literal["collection", "alteration", "consultation", "disclosure", "combination", "erasure"]
NEEDS_REASON: frozenset[str] = frozenset({"consultation", "disclosure"})


# C0 and C1 controls (tab and newline too: a reason is one line), DEL, the Unicode bidirectional
# controls and marks, and the line/paragraph separators. sql/023 (audit_text_printable) refuses
# the same set (NUL aside, which PostgreSQL text cannot hold at all).
FORBIDDEN_IN_TEXT: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def check_text(value: str, what: str = "reason") -> str:
    """Refuse text that holds a control character (C0, C1, bidi); returns it unchanged.

    A bidi override can make an audit line read differently from what it holds, and a newline
    can forge a line of its own in an export, so these are refused, not stored."""
    if found := FORBIDDEN_IN_TEXT.search(value):
        char = found.group()
        name = unicodedata.name(char, "") or "a control character"
        raise UserInputError(
            f"the {what} must not contain control characters: U+{ord(char):04X} ({name}) "
            f"at position {found.start() + 1}"
        )
    return value


def require_reason(reason: str | None) -> str:
    """Look-ups of markers and visits must say why; returns the trimmed reason."""
    cleaned = (reason or "").strip()
    if len(cleaned) < 3:
        raise UserInputError("a reason is required for this look-up (at least 3 characters)")
    return check_text(cleaned)


def reason_for(conn: Connection, reason: str | None) -> str:
    """The request's reason, else the standing purpose of the token it authenticated with
    (sql/026: the database's word, never the caller's); neither is refused as by
    `require_reason`."""
    if reason is None or not reason.strip():
        purpose = conn.execute(text("SELECT app_purpose()")).scalar_one_or_none()
        if purpose is not None:
            return str(purpose)
    return require_reason(reason)


def record(
    conn: Connection,
    action: Action,
    object_type: str,
    object_id: str | int | None,
    justification: str | None = None,
    recipient: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction; the actor comes from the transaction.

    No RETURNING: most actors may append but not read the log, and RLS applies to RETURNING.
    """
    if action in NEEDS_REASON:
        justification = require_reason(justification)
    elif justification is not None:
        check_text(justification)
    if action == "disclosure" and not recipient:
        raise UserInputError("a disclosure must name its recipient")
    if recipient is not None:
        check_text(recipient, "recipient")
    row = {
        "action": action,
        "type": object_type,
        "id": None if object_id is None else str(object_id),
        "why": justification,
        "to": recipient,
        "details": json.dumps(details or {}, sort_keys=True),
    }
    waiting = conn.info.get(DEFERRED)
    if waiting is not None:
        waiting.append(row)
    else:
        conn.execute(INSERT, row)


INSERT: Final = text(
    "INSERT INTO audit_log (action, object_type, object_id, justification, recipient, "
    "details) VALUES (:action, :type, :id, :why, :to, CAST(:details AS jsonb))"
)
DEFERRED: Final = "hardening_audit_deferred"


@contextmanager
def deferred(conn: Connection, commit: bool = False) -> Iterator[None]:
    """Within: audit rows are appended when the block ends without an error, right before the
    caller commits. The chain's lock (sql/023 audit_chain), taken by the first row and held
    until commit, then covers only the append and the commit, not the rest of the request
    (in the API: the route's remaining work and the hop back to the dependency that commits),
    so concurrent audited reads queue on it for a moment only. On an error nothing is
    appended and the transaction rolls back: no answer, no row, as before.

    commit: the block's end also commits, in the same round trip as the rows (for the owner
    of the transaction, the API's request dependency)."""
    conn.info[DEFERRED] = []
    try:
        yield
        rows = conn.info[DEFERRED]
        conn.info[DEFERRED] = None  # rows appended from here on go straight in
        if commit:
            _append_and_commit(conn, rows)
        elif rows:
            conn.execute(INSERT, rows)
    finally:
        conn.info.pop(DEFERRED, None)  # info follows the pooled DBAPI connection


def _append_and_commit(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The rows and COMMIT sent together (psycopg's pipeline): the chain's lock is then held
    while the server appends and flushes, not also while this process waits for its turn to
    send COMMIT (with busy request threads, for the interpreter lock: up to 5 ms a time,
    measured as the biggest part of an audited read's wait at concurrency 4). The caller's
    own commit that follows finds the transaction over and does nothing."""
    raw = conn.connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("audited commits need a psycopg connection")
    with raw.pipeline():
        if rows:
            with raw.cursor() as cursor:
                cursor.executemany(str(INSERT.compile(dialect=conn.dialect)), rows)
        raw.commit()


@dataclass
class ChainReport:
    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    heads: int = 0  # recorded heads checked

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Head:
    """The newest row of the chain at one moment: its sequence number, hash and time."""

    chain_seq: int
    row_hash: str
    at: datetime
    recorded_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"chain_seq": self.chain_seq, "row_hash": self.row_hash, "at": self.at}
        if self.recorded_at is not None:
            found["recorded_at"] = self.recorded_at
        return found


def head(conn: Connection) -> Head:
    """The chain's current head (the newest committed row); refused when the log is empty."""
    row = conn.execute(
        text("SELECT chain_seq, row_hash, at FROM audit_log ORDER BY chain_seq DESC LIMIT 1")
    ).first()
    if row is None:
        raise UserInputError("the audit log is empty: there is no head to record")
    return Head(row.chain_seq, row.row_hash, row.at.astimezone(UTC), datetime.now(UTC))


def append_head(out: Path, found: Head) -> str:
    """Append the head to out as one JSON line (UTF-8), flushed to disk; `-` is stdout.
    Returns the line written."""
    fields = found.as_dict()
    line = json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()},
        ensure_ascii=False,
    )
    if str(out) == "-":
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return line
    try:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise UserInputError(f"{out}: cannot append the head ({exc.strerror})") from exc
    return line


def read_heads(path: Path) -> list[Head]:
    """The heads recorded in a file written by `append_head`, in file order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise UserInputError(f"{path}: no such heads file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: cannot read the heads file ({exc})") from exc
    heads: list[Head] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            seq, digest = item["chain_seq"], item["row_hash"]
            if type(seq) is not int or seq < 1 or not isinstance(digest, str):
                raise ValueError("chain_seq must be a positive integer, row_hash a string")
            heads.append(
                Head(
                    seq,
                    digest,
                    datetime.fromisoformat(item["at"]),
                    datetime.fromisoformat(item["recorded_at"])
                    if item.get("recorded_at")
                    else None,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UserInputError(f"{path} line {number}: not a recorded head ({exc})") from exc
    if not heads:
        raise UserInputError(f"{path}: holds no recorded heads")
    return heads


def verify(conn: Connection, heads: Sequence[Head] = ()) -> ChainReport:
    """Recompute every row's hash (by its version) and its link to the previous row, in chain
    order; check the seal of version-1 rows; and, given recorded heads, that the chain still
    holds each of them. Without heads, a chain edited and then re-hashed from that row on (as a
    database superuser can) verifies: only a head recorded before the edit catches that."""
    report = ChainReport()
    rows = conn.execute(
        text(
            "SELECT audit_id, chain_seq, hash_version, prev_hash, row_hash, "
            "audit_expected_hash(a) AS expected, "
            "CASE WHEN hash_version = 1 THEN audit_row_hash_v2(a) END AS v1_in_v2, "
            "CASE WHEN object_type = 'audit_chain' THEN details -> 'v1_seal' END AS seal "
            "FROM audit_log a ORDER BY chain_seq"
        )
    )
    previous_hash: str | None = None
    expected_seq = 1
    newest_version = 1
    v1_digest, v1_rows = "", 0
    for row in rows:
        report.rows += 1
        if row.chain_seq != expected_seq:
            report.problems.append(
                {
                    "chain_seq": expected_seq,
                    "problem": f"rows {expected_seq}..{row.chain_seq - 1} are missing",
                }
            )
        if row.row_hash != row.expected:
            report.problems.append(
                {
                    "audit_id": row.audit_id,
                    "chain_seq": row.chain_seq,
                    "problem": "row was edited (hash does not match)",
                }
            )
        if row.prev_hash != previous_hash:
            report.problems.append(
                {
                    "audit_id": row.audit_id,
                    "chain_seq": row.chain_seq,
                    "problem": "link to the previous row is broken",
                }
            )
        if row.hash_version < newest_version:
            report.problems.append(
                {
                    "audit_id": row.audit_id,
                    "chain_seq": row.chain_seq,
                    "problem": f"hash version {row.hash_version} after a version "
                    f"{newest_version} row (version changed)",
                }
            )
        newest_version = max(newest_version, row.hash_version)
        if row.v1_in_v2 is not None:
            v1_digest = hashlib.sha256((v1_digest + row.v1_in_v2).encode()).hexdigest()
            v1_rows += 1
        sealed = {"rows": v1_rows, "digest": v1_digest}
        if row.seal is not None and row.hash_version > 1 and row.seal != sealed:
            report.problems.append(
                {
                    "audit_id": row.audit_id,
                    "chain_seq": row.chain_seq,
                    "problem": "the version-1 rows before this seal were edited "
                    "(their digest does not match)",
                }
            )
        previous_hash = row.row_hash
        expected_seq = row.chain_seq + 1
    report.problems.extend(_check_heads(conn, heads))
    report.heads = len(heads)
    return report


def _check_heads(conn: Connection, heads: Sequence[Head]) -> list[dict[str, Any]]:
    if not heads:
        return []
    held = {
        row.chain_seq: row.row_hash
        for row in conn.execute(
            text("SELECT chain_seq, row_hash FROM audit_log WHERE chain_seq = ANY(:seqs)"),
            {"seqs": sorted({h.chain_seq for h in heads})},
        )
    }
    problems: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for recorded in heads:
        if (recorded.chain_seq, recorded.row_hash) in seen:
            continue  # the same head recorded again (no new rows between two runs)
        seen.add((recorded.chain_seq, recorded.row_hash))
        when = recorded.at.isoformat()
        if recorded.chain_seq not in held:
            problem = f"recorded head {recorded.chain_seq} ({when}) is no longer in the chain"
        elif held[recorded.chain_seq] != recorded.row_hash:
            problem = (
                f"recorded head {recorded.chain_seq} ({when}) does not match: the chain's row "
                f"{recorded.chain_seq} has a different hash (rewritten since it was recorded)"
            )
        else:
            continue
        problems.append({"chain_seq": recorded.chain_seq, "problem": problem})
    return problems


def export(conn: Connection, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Rows for an auditor, oldest first."""
    rows = conn.execute(
        text(
            "SELECT audit_id, chain_seq, at, actor_user_id, actor_org_id, action, object_type, "
            "object_id, justification, recipient, details, prev_hash, row_hash FROM audit_log "
            "WHERE CAST(:since AS timestamptz) IS NULL OR at >= :since ORDER BY chain_seq"
        ),
        {"since": since},
    )
    for row in rows:
        yield dict(row._mapping)
