"""The audit log (DPA 2018 s.62): who consulted, disclosed or changed personal data, when, why.

Rows are appended by the database's trigger into one of 8 hash chains (sql/032: a
transaction takes one whose lock is free, so audited reads do not queue on one lock); the
application role cannot update or delete them. `verify` recomputes every chain and names any
edited or missing row; given heads recorded earlier by `heads` (kept elsewhere), it also
catches a chain rewritten whole or cut short.
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
    caller commits. The chain's lock (sql/032 audit_take_chain), taken by the first row and held
    until commit, then covers only the append and the commit, not the rest of the request
    (in the API: the route's remaining work and the hop back to the dependency that commits),
    so a writer that finds all 8 chains busy waits for a moment only. On an error nothing is
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
    chains: list[dict[str, Any]] = field(default_factory=list)  # each chain's rows and head

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Head:
    """The newest row of one chain at one moment: its sequence number, hash and time."""

    chain_seq: int
    row_hash: str
    at: datetime
    recorded_at: datetime | None = None
    chain: int = 0  # sql/032: rows written before it, and heads recorded before it, are chain 0

    def as_dict(self) -> dict[str, Any]:
        found = {
            "chain": self.chain,
            "chain_seq": self.chain_seq,
            "row_hash": self.row_hash,
            "at": self.at,
        }
        if self.recorded_at is not None:
            found["recorded_at"] = self.recorded_at
        return found


def heads(conn: Connection) -> list[Head]:
    """Each chain's current head (its newest committed row), by chain; refused when the log is
    empty. One index probe per chain (sql/032 audit_log_chain_head)."""
    rows = conn.execute(
        text(
            "SELECT h.* FROM generate_series(0, 7) AS c(chain), LATERAL ("
            "SELECT chain, chain_seq, row_hash, at FROM audit_log "
            "WHERE audit_log.chain = c.chain ORDER BY chain_seq DESC LIMIT 1) h ORDER BY h.chain"
        )
    ).all()
    if not rows:
        raise UserInputError("the audit log is empty: there is no head to record")
    now = datetime.now(UTC)
    return [Head(r.chain_seq, r.row_hash, r.at.astimezone(UTC), now, r.chain) for r in rows]


def append_heads(out: Path, found: Sequence[Head]) -> list[str]:
    """Append the heads to out, one JSON line each (UTF-8), flushed to disk; `-` is stdout.
    Returns the lines written."""
    lines = [
        json.dumps(
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in h.as_dict().items()},
            ensure_ascii=False,
        )
        for h in found
    ]
    block = "".join(line + "\n" for line in lines)
    if str(out) == "-":
        sys.stdout.write(block)
        sys.stdout.flush()
        return lines
    try:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise UserInputError(f"{out}: cannot append the heads ({exc.strerror})") from exc
    return lines


def read_heads(path: Path) -> list[Head]:
    """The heads recorded in a file written by `append_heads`, in file order (a line without
    `chain`, recorded before sql/032, is chain 0)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise UserInputError(f"{path}: no such heads file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: cannot read the heads file ({exc})") from exc
    found: list[Head] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            seq, digest, chain = item["chain_seq"], item["row_hash"], item.get("chain", 0)
            if type(seq) is not int or seq < 1 or not isinstance(digest, str):
                raise ValueError("chain_seq must be a positive integer, row_hash a string")
            if type(chain) is not int or not 0 <= chain <= 7:
                raise ValueError("chain must be an integer from 0 to 7")
            found.append(
                Head(
                    seq,
                    digest,
                    datetime.fromisoformat(item["at"]),
                    datetime.fromisoformat(item["recorded_at"])
                    if item.get("recorded_at")
                    else None,
                    chain,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UserInputError(f"{path} line {number}: not a recorded head ({exc})") from exc
    if not found:
        raise UserInputError(f"{path}: holds no recorded heads")
    return found


def verify(conn: Connection, recorded: Sequence[Head] = ()) -> ChainReport:
    """Recompute every row's hash (by its version) and its link to the previous row of its
    chain, chain by chain in sequence order; check the seal of version-1 rows (chain 0); and,
    given recorded heads, that each chain still holds them. Without heads, a chain edited and
    then re-hashed from that row on (as a database superuser can), or cut short, verifies:
    only a head recorded before the edit catches that."""
    report = ChainReport()
    chained = conn.execute(  # a restored backup from before sql/032 has one chain: chain 0
        text(
            "SELECT 1 FROM pg_attribute "
            "WHERE attrelid = 'audit_log'::regclass AND attname = 'chain'"
        )
    ).first()
    rows = conn.execute(
        text(
            f"SELECT audit_id, {'chain' if chained else '0 AS chain'}, chain_seq, hash_version, "
            "prev_hash, row_hash, audit_expected_hash(a) AS expected, "
            "CASE WHEN hash_version = 1 THEN audit_row_hash_v2(a) END AS v1_in_v2, "
            "CASE WHEN object_type = 'audit_chain' THEN details -> 'v1_seal' END AS seal "
            "FROM audit_log a ORDER BY chain, chain_seq"
        )
    )
    chain: int | None = None
    previous_hash: str | None = None
    expected_seq = 1
    newest_version = 1
    v1_digest, v1_rows = "", 0
    for row in rows:
        report.rows += 1
        if row.chain != chain:  # a new chain starts over: no previous row, sequence from 1
            chain, previous_hash, expected_seq = row.chain, None, 1
            newest_version = 1 if chain == 0 else 2  # chains 1-7 began after version 2 (032)
            report.chains.append({"chain": chain, "rows": 0})
        where = {"audit_id": row.audit_id, "chain": row.chain, "chain_seq": row.chain_seq}
        if row.chain_seq != expected_seq:
            report.problems.append(
                {
                    "chain": row.chain,
                    "chain_seq": expected_seq,
                    "problem": f"rows {expected_seq}..{row.chain_seq - 1} are missing",
                }
            )
        if row.row_hash != row.expected:
            report.problems.append({**where, "problem": "row was edited (hash does not match)"})
        if row.prev_hash != previous_hash:
            report.problems.append({**where, "problem": "link to the previous row is broken"})
        if row.hash_version < newest_version:
            report.problems.append(
                {
                    **where,
                    "problem": f"hash version {row.hash_version} after a version "
                    f"{newest_version} row (version changed)"
                    if row.chain == 0
                    else f"hash version {row.hash_version} in chain {row.chain}, which began "
                    f"at version {newest_version} (version changed)",
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
                    **where,
                    "problem": "the version-1 rows before this seal were edited "
                    "(their digest does not match)",
                }
            )
        report.chains[-1].update(rows=report.chains[-1]["rows"] + 1, chain_seq=row.chain_seq)
        report.chains[-1]["row_hash"] = row.row_hash
        previous_hash = row.row_hash
        expected_seq = row.chain_seq + 1
    report.problems.extend(_check_heads(conn, recorded))
    report.heads = len(recorded)
    return report


def _check_heads(conn: Connection, recorded: Sequence[Head]) -> list[dict[str, Any]]:
    if not recorded:
        return []
    held = {
        (row.chain, row.chain_seq): row.row_hash
        for row in conn.execute(
            text(
                "SELECT a.chain, a.chain_seq, a.row_hash FROM audit_log a "
                "JOIN unnest(CAST(:chains AS smallint[]), CAST(:seqs AS bigint[])) "
                "AS h(chain, chain_seq) USING (chain, chain_seq)"
            ),
            {
                "chains": [h.chain for h in recorded],
                "seqs": [h.chain_seq for h in recorded],
            },
        )
    }
    problems: list[dict[str, Any]] = []
    seen: set[tuple[int, int, str]] = set()
    for head in recorded:
        key = (head.chain, head.chain_seq)
        if (*key, head.row_hash) in seen:
            continue  # the same head recorded again (no new rows between two runs)
        seen.add((*key, head.row_hash))
        when = head.at.isoformat()
        name = f"recorded head {head.chain_seq} of chain {head.chain} ({when})"
        if key not in held:
            problem = f"{name} is no longer in the chain"
        elif held[key] != head.row_hash:
            problem = (
                f"{name} does not match: the chain's row {head.chain_seq} has a different "
                "hash (rewritten since it was recorded)"
            )
        else:
            continue
        problems.append({"chain": head.chain, "chain_seq": head.chain_seq, "problem": problem})
    return problems


def export(conn: Connection, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Rows for an auditor, oldest first (by time: each chain's rows stay in their order)."""
    rows = conn.execute(
        text(
            "SELECT audit_id, chain_seq, at, actor_user_id, actor_org_id, action, object_type, "
            "object_id, justification, recipient, details, prev_hash, row_hash, chain "
            "FROM audit_log WHERE CAST(:since AS timestamptz) IS NULL OR at >= :since "
            "ORDER BY at, chain, chain_seq"
        ),
        {"since": since},
    )
    for row in rows:
        yield dict(row._mapping)
