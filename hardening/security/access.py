"""What the actor may do, asked of the database: the named predicates the row-level security
policies call (sql/029_access_predicates.sql), so Python never restates a policy. A face asks
up front to refuse clearly (403) rather than answer with the empty list the policy would give.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Connection, text

Predicate = Literal[
    "app_reads_markers",
    "app_writes_markers",
    "app_reads_visits",
    "app_writes_visits",
    "app_reads_incidents",
    "app_reads_risk_factors",
    "app_writes_scores",
    "app_reads_sites",
    "app_reads_works",
    "app_sees_addresses",
    "app_sees_scores",
]


def may(conn: Connection, predicate: Predicate) -> bool:
    """Whether the transaction's actor passes the predicate (the system always does)."""
    return bool(conn.execute(text(f"SELECT {predicate}()")).scalar_one())
