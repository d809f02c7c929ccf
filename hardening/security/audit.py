"""The audit log (DPA 2018 s.62): who consulted, disclosed or changed personal data, when, why.

Rows are appended by the database's trigger into a hash chain; the application role cannot
update or delete them. `verify` recomputes the chain and names any edited or missing row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, text

from hardening.errors import UserInputError

Action = Literal["collection", "alteration", "consultation", "disclosure", "combination", "erasure"]
NEEDS_REASON: frozenset[str] = frozenset({"consultation", "disclosure"})


def require_reason(reason: str | None) -> str:
    """Look-ups of markers and visits must say why; returns the trimmed reason."""
    cleaned = (reason or "").strip()
    if len(cleaned) < 3:
        raise UserInputError("a reason is required for this look-up (at least 3 characters)")
    return cleaned


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
    if action == "disclosure" and not recipient:
        raise UserInputError("a disclosure must name its recipient")
    conn.execute(
        text(
            "INSERT INTO audit_log (action, object_type, object_id, justification, recipient, "
            "details) VALUES (:action, :type, :id, :why, :to, CAST(:details AS jsonb))"
        ),
        {
            "action": action,
            "type": object_type,
            "id": None if object_id is None else str(object_id),
            "why": justification,
            "to": recipient,
            "details": json.dumps(details or {}, sort_keys=True),
        },
    )


@dataclass
class ChainReport:
    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: Connection) -> ChainReport:
    """Recompute every row's hash and its link to the previous row, in chain order."""
    report = ChainReport()
    rows = conn.execute(
        text(
            "SELECT audit_id, chain_seq, prev_hash, row_hash, audit_row_hash(a) AS expected "
            "FROM audit_log a ORDER BY chain_seq"
        )
    )
    previous_hash: str | None = None
    expected_seq = 1
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
        previous_hash = row.row_hash
        expected_seq = row.chain_seq + 1
    return report


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
