"""Work orders: raise, move through the state machine, complete (installs + re-scores).

Every change checks the version the caller read (optimistic concurrency) and is audited.
Priority and due date come from the address's risk band and the provider's SLA (works_sla,
falling back to the defaults); the database escalates open orders by itself when a marker or a
cuckooing / threat-to-life incident lands at the address or its block (sql/009_works.sql),
and `escalate_standing` sweeps a provider's open orders for alerts that stood before the order
was raised or loaded (sql/020_works_standing_alerts.sql): the queue and the planner run it first.

What stands there is not said: the database records the source (`marker:threat_to_life`,
`incident:cuckooing`), but every read through this service says `alert` (`ESCALATION`). A
housing provider must act fast, not learn that a SAFE marker exists or why; police read markers
through the markers service, with a reason, audited.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

from sqlalchemy import Connection, text

from hardening.errors import ConflictError, NotFoundError, UserInputError
from hardening.models import Result
from hardening.security import audit

PRIORITIES: Final = ("emergency", "urgent", "routine", "planned")
OPEN: Final = frozenset({"requested", "approved", "scheduled", "in_progress", "no_access"})
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "requested": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"scheduled", "cancelled"}),
    "scheduled": frozenset({"approved", "in_progress", "no_access", "cancelled"}),
    "in_progress": frozenset({"completed", "no_access"}),
    "no_access": frozenset({"scheduled", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
# The escalation as read: that an alert stands, never what it is (see the module docstring).
ESCALATION: Final = "CASE WHEN {t}escalation_reason IS NOT NULL THEN 'alert' END"
COLUMNS: Final = (
    "work_order_id, provider_org_id, uprn, measure_code, priority, status, due_at, "
    "scheduled_start, scheduled_end, operative_id, tenant_window_start, tenant_window_end, "
    "cost_pence, no_access_attempts, created_at, updated_at, completed_at, version, area_id, "
    f"escalated_at, {ESCALATION.format(t='')} AS escalation_reason"
)


def sla(conn: Connection, provider: str | None) -> tuple[dict[str, int], dict[str, str]]:
    """(hours per priority, priority per risk band) for the provider, defaults filled in."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT ON (priority) priority, hours, band FROM works_sla "
            "WHERE provider_org_id IS NULL OR provider_org_id = :p "
            "ORDER BY priority, provider_org_id NULLS LAST"
        ),
        {"p": provider},
    ).all()
    hours = {str(p): int(h) for p, h, _ in rows}
    bands = {str(b): str(p) for p, _, b in rows if b is not None}
    bands.setdefault("low", "planned")
    for p, default in zip(PRIORITIES, (24, 168, 672, 2160), strict=True):
        hours.setdefault(p, default)
    return hours, bands


def set_sla(conn: Connection, provider: str, priority: str, hours: int, band: str | None) -> None:
    """Provider-specific SLA row (replaces the provider's row for that priority)."""
    if priority not in PRIORITIES or hours <= 0:
        raise UserInputError(f"priority must be one of {', '.join(PRIORITIES)}, hours > 0")
    conn.execute(
        text("DELETE FROM works_sla WHERE provider_org_id = :p AND (priority = :q OR band = :b)"),
        {"p": provider, "q": priority, "b": band},
    )
    conn.execute(
        text(
            "INSERT INTO works_sla (provider_org_id, priority, hours, band) VALUES (:p, :q, :h, :b)"
        ),
        {"p": provider, "q": priority, "h": hours, "b": band},
    )


def band_of(conn: Connection, uprn: int) -> str | None:
    """The address's latest risk band the actor may see (or its block's for a block)."""
    return conn.execute(
        text(
            "SELECT band FROM risk_scores WHERE uprn = :u ORDER BY computed_at DESC, "
            "model_version DESC LIMIT 1"
        ),
        {"u": uprn},
    ).scalar()


@dataclass(frozen=True)
class WorkOrder(Result):
    """A work order as read (COLUMNS, in that order)."""

    work_order_id: int
    provider_org_id: str
    uprn: int
    measure_code: str
    priority: str
    status: str
    due_at: datetime
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    operative_id: int | None
    tenant_window_start: time | None
    tenant_window_end: time | None
    cost_pence: int | None
    no_access_attempts: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int
    area_id: str | None
    escalated_at: datetime | None
    escalation_reason: str | None  # "alert" or none: never what the alert is


@dataclass(frozen=True)
class ListedOrder(WorkOrder):
    hours_left: Decimal  # on the SLA clock, to a tenth (negative: overdue)


@dataclass(frozen=True)
class CompletedOrder(WorkOrder):
    installed_id: int
    rescore: Literal["done", "deferred"]  # now, or by the system worker
    rescored: int | None  # addresses re-scored, when done

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        if self.rescored is None:  # deferred: the document has no count
            del out["rescored"]
        return out


def _row(conn: Connection, order_id: int) -> WorkOrder:
    row = conn.execute(
        text(f"SELECT {COLUMNS} FROM work_orders WHERE work_order_id = :i"), {"i": order_id}
    ).mappings().first()  # fmt: skip
    if row is None:
        raise NotFoundError(f"no work order {order_id} that you may see")
    return WorkOrder(**row)


def get(conn: Connection, order_id: int) -> WorkOrder:
    return _row(conn, order_id)


def list_orders(
    conn: Connection, provider: str | None = None, status: str | None = None, limit: int = 500
) -> list[ListedOrder]:
    """Orders the actor may see, most urgent clock first, with hours left on the SLA."""
    if status is not None and status not in TRANSITIONS:
        raise UserInputError(f"unknown status {status!r}: use one of {', '.join(TRANSITIONS)}")
    rows = conn.execute(
        text(
            f"SELECT {COLUMNS}, round((extract(epoch FROM due_at - now()) / 3600)::numeric, 1) "
            "AS hours_left FROM work_orders WHERE (CAST(:p AS text) IS NULL "
            "OR provider_org_id = :p) AND (CAST(:s AS text) IS NULL OR status = :s) "
            "ORDER BY due_at, work_order_id LIMIT :n"
        ),
        {"p": provider, "s": status, "n": limit},
    ).mappings()
    return [ListedOrder(**r) for r in rows]


def _provider(conn: Connection, uprn: int, provider: str | None) -> tuple[str, str | None]:
    row = conn.execute(
        text("SELECT provider_org_id, area_id FROM addresses WHERE uprn = :u"), {"u": uprn}
    ).first()
    if row is None:
        raise NotFoundError(f"no address {uprn} that you may see")
    owner = provider or row[0]
    if owner is None:
        raise UserInputError(f"address {uprn} has no housing provider; give one")
    if row[0] is not None and owner != row[0]:
        raise UserInputError(f"address {uprn} belongs to {row[0]}, not {owner}")
    return str(owner), row[1]


def create(
    conn: Connection,
    uprn: int,
    measure_code: str,
    provider: str | None = None,
    priority: str | None = None,
    window: tuple[time, time] | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    """Raise one order; priority from the risk band unless given, due = now + SLA hours."""
    owner, area = _provider(conn, uprn, provider)
    known = conn.execute(
        text("SELECT 1 FROM measures_catalogue WHERE measure_code = :m"), {"m": measure_code}
    ).first()
    if known is None:
        raise UserInputError(f"unknown measure {measure_code!r}")
    hours, bands = sla(conn, owner)
    if priority is None:
        priority = bands.get(band_of(conn, uprn) or "low", "planned")
    if priority not in PRIORITIES:
        raise UserInputError(f"priority must be one of {', '.join(PRIORITIES)}")
    if window is not None and window[1] <= window[0]:
        raise UserInputError("the tenant window must end after it starts")
    due = (now or datetime.now(UTC)) + timedelta(hours=hours[priority])
    order_id = conn.execute(
        text(
            "INSERT INTO work_orders (provider_org_id, uprn, measure_code, priority, due_at, "
            "tenant_window_start, tenant_window_end, area_id) VALUES (:p, :u, :m, :q, :d, "
            ":ws, :we, :a) RETURNING work_order_id"
        ),
        {
            "p": owner, "u": uprn, "m": measure_code, "q": priority, "d": due, "a": area,
            "ws": window[0] if window else None, "we": window[1] if window else None,
        },
    ).scalar_one()  # fmt: skip
    audit.record(conn, "collection", "work_order", order_id, details={"uprn": uprn})
    return _row(conn, int(order_id))


def transition(
    conn: Connection,
    order_id: int,
    version: int,
    to: str,
    changes: dict[str, Any] | None = None,
) -> WorkOrder:
    """Move an order to `to` if allowed from its state and nobody changed it since `version`."""
    current = _row(conn, order_id)
    if current.version != version:
        raise ConflictError(
            f"work order {order_id} changed since you read it (version {current.version}, "
            f"you sent {version}); reload and try again"
        )
    if to not in TRANSITIONS.get(current.status, frozenset()):
        raise UserInputError(f"a {current.status} order cannot become {to}")
    sets = dict(changes or {})
    assigns = ", ".join(f"{k} = :{k}" for k in sets)
    updated = conn.execute(
        text(
            f"UPDATE work_orders SET status = :to, version = version + 1, updated_at = now()"
            f"{', ' + assigns if assigns else ''} WHERE work_order_id = :i AND version = :v "
            "RETURNING work_order_id"
        ),
        {"to": to, "i": order_id, "v": version, **sets},
    ).first()
    if updated is None:  # someone (or the escalation trigger) got there first
        raise ConflictError(f"work order {order_id} changed while you edited it; reload")
    audit.record(
        conn, "alteration", "work_order", order_id,
        details={"from": current.status, "to": to, **{k: str(v) for k, v in sets.items()}},
    )  # fmt: skip
    return _row(conn, order_id)


def escalate_standing(conn: Connection, provider: str) -> int:
    """Escalate the provider's open orders where an alert already stands (an active SAFE
    marker, or a cuckooing / threat-to-life incident of the last 90 days, at the address or its
    block), however old or overdue the order; the number escalated now. Runs as the database
    owner (housing may not read markers); a provider sweeps only its own orders."""
    n = conn.execute(text("SELECT works_escalate_standing(:p)"), {"p": provider}).scalar_one()
    return int(n or 0)


def schedule_one(
    conn: Connection, order_id: int, version: int, operative_id: int, start: datetime,
    end: datetime,
) -> WorkOrder:  # fmt: skip
    changes = {"operative_id": operative_id, "scheduled_start": start, "scheduled_end": end}
    return transition(conn, order_id, version, "scheduled", changes)


def no_access(conn: Connection, order_id: int, version: int) -> WorkOrder:
    attempts = _row(conn, order_id).no_access_attempts + 1
    return transition(conn, order_id, version, "no_access", {"no_access_attempts": attempts})


def complete(
    conn: Connection,
    order_id: int,
    version: int,
    cost_pence: int | None = None,
    on: date | None = None,
) -> CompletedOrder:
    """Complete: record cost, install the measure at the address, re-score what it reaches (now
    when the actor writes scores, else by the system worker: "rescore": "deferred")."""
    if cost_pence is not None and cost_pence < 0:
        raise UserInputError("cost must not be negative")
    done = transition(
        conn, order_id, version, "completed",
        {"completed_at": datetime.now(UTC), "cost_pence": cost_pence},
    )  # fmt: skip
    installed_id = conn.execute(
        text(
            "INSERT INTO installed_measures (uprn, measure_code, installed_on, status, "
            "provider_org_id, work_order_id, area_id) VALUES (:u, :m, :d, 'working', :p, :w, :a) "
            "ON CONFLICT (uprn, measure_code) DO UPDATE SET status = 'working', "
            "installed_on = EXCLUDED.installed_on, work_order_id = EXCLUDED.work_order_id "
            "RETURNING installed_id"
        ),
        {
            "u": done.uprn, "m": done.measure_code, "d": on or date.today(),
            "p": done.provider_org_id, "w": order_id, "a": done.area_id,
        },
    ).scalar_one()  # fmt: skip
    audit.record(conn, "collection", "installed_measure", installed_id, details={"order": order_id})
    from hardening.risk import queue  # the risk engine reads works: import it when needed
    from hardening.risk.incremental import rescore_after

    read = {f.name: getattr(done, f.name) for f in fields(done)}
    if queue.may_write_scores(conn):
        _, uprns = rescore_after(conn, "measure", int(installed_id))
        return CompletedOrder(**read, installed_id=int(installed_id), rescore="done",
                              rescored=len(uprns))  # fmt: skip
    queue.request(conn, "measure", int(installed_id))
    return CompletedOrder(**read, installed_id=int(installed_id), rescore="deferred",
                          rescored=None)  # fmt: skip
