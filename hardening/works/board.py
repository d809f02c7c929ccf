"""What the housing works page shows, as service functions: the provider's queue with SLA
clocks, and the schedule already committed to orders in the shape `plan.to_dict` gives a new
plan (local times, places in lon/lat), so the page draws both the same way.

Every query runs as the caller: row-level security keeps a provider to its own orders, homes
and operatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.models import Result
from hardening.works.orders import ESCALATION, OPEN, escalate_standing
from hardening.works.problem import LOCAL_TZ

DUE_SOON_SHARE: Final = 0.25  # amber when less than a quarter of the SLA is left
SHOWN: Final = ("scheduled", "in_progress", "completed", "no_access")


def span(minutes: int) -> str:
    """A length of time as people say it: "3 days 4 h", "1 day", "5 h 20 min", "12 min"."""
    minutes = abs(int(minutes))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        said = f"{days:,} day{'s' if days != 1 else ''}"
        return f"{said} {hours} h" if hours else said
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def sla_clock(due_at: datetime, created_at: datetime, now: datetime) -> tuple[str, str]:
    """('2 days 4 h left' | '5 h overdue', 'ok' | 'due_soon' | 'overdue')."""
    left = due_at - now
    total = max(due_at - created_at, timedelta(hours=1))
    words = span(int(abs(left.total_seconds()) // 60))
    if left < timedelta(0):
        return f"{words} overdue", "overdue"
    return f"{words} left", "due_soon" if left < total * DUE_SOON_SHARE else "ok"


@dataclass(frozen=True)
class QueuedOrder(Result):
    """An open order in the provider's queue, with its SLA clock."""

    work_order_id: int
    version: int
    status: str
    priority: str
    measure_code: str
    uprn: int
    full_address: str | None
    due_at: datetime
    created_at: datetime
    scheduled_start: datetime | None
    operative_id: int | None
    escalated_at: datetime | None
    escalation_reason: str | None  # "alert" or none: never what the alert is
    no_access_attempts: int
    sla_clock: str  # "2 days 4 h left", "5 h overdue"
    sla_state: str  # ok, due_soon or overdue
    escalated: bool


def queue(conn: Connection, provider: str, now: datetime | None = None) -> list[QueuedOrder]:
    """Open orders, most urgent clock first, with the address, the clock and the escalation.
    Alerts that already stand at an order's address escalate it first (orders.escalate_standing)."""
    now = now or datetime.now(UTC)
    escalate_standing(conn, provider)
    rows = conn.execute(
        text(
            "SELECT w.work_order_id, w.version, w.status, w.priority, w.measure_code, w.uprn, "
            "a.full_address, w.due_at, w.created_at, w.scheduled_start, w.operative_id, "
            f"w.escalated_at, {ESCALATION.format(t='w.')} AS escalation_reason, "
            "w.no_access_attempts "
            "FROM work_orders w JOIN addresses a USING (uprn) "
            "WHERE w.provider_org_id = :p AND w.status = ANY(:s) "
            "ORDER BY w.due_at, w.work_order_id"
        ),
        {"p": provider, "s": sorted(OPEN)},
    ).mappings()
    out = []
    for r in rows:
        clock, state = sla_clock(r["due_at"], r["created_at"], now)
        out.append(QueuedOrder(**r, sla_clock=clock, sla_state=state,
                               escalated=r["escalated_at"] is not None))  # fmt: skip
    return out


def committed(
    conn: Connection, provider: str, start: date, days: int, tz: str = LOCAL_TZ
) -> dict[str, Any]:
    """Visits already on orders (scheduled onwards) in the local days start..start+days."""
    if not 1 <= days <= 31:
        raise UserInputError("days must be between 1 and 31")
    zone = ZoneInfo(tz)
    begin = datetime.combine(start, datetime.min.time(), zone)
    end = datetime.combine(start + timedelta(days=days), datetime.min.time(), zone)
    operatives = [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT operative_id, name, skills, round(ST_X(p)::numeric, 6)::float AS lon, "
                "round(ST_Y(p)::numeric, 6)::float AS lat FROM (SELECT *, "
                "ST_Transform(base, 4326) AS p FROM operatives WHERE provider_org_id = :p) o "
                "ORDER BY operative_id"
            ),
            {"p": provider},
        ).mappings()
    ]
    names = {o["operative_id"]: o["name"] for o in operatives}
    visits = []
    for r in conn.execute(
        text(
            "SELECT w.work_order_id, w.operative_id, w.scheduled_start, w.scheduled_end, "
            "w.due_at, w.priority, w.status, ST_X(ST_Transform(a.geom, 4326)) AS lon, "
            "ST_Y(ST_Transform(a.geom, 4326)) AS lat FROM work_orders w "
            "JOIN addresses a USING (uprn) WHERE w.provider_org_id = :p "
            "AND w.status = ANY(:s) AND w.operative_id IS NOT NULL "
            "AND w.scheduled_start >= :b AND w.scheduled_start < :e "
            "ORDER BY w.operative_id, w.scheduled_start"
        ),
        {"p": provider, "s": list(SHOWN), "b": begin, "e": end},
    ).mappings():
        late = int(max(0.0, (r["scheduled_end"] - r["due_at"]).total_seconds()) // 60)
        visits.append({
            "work_order_id": r["work_order_id"], "operative_id": r["operative_id"],
            "operative": names.get(r["operative_id"], str(r["operative_id"])),
            "start": r["scheduled_start"].astimezone(zone),
            "end": r["scheduled_end"].astimezone(zone), "due": r["due_at"].astimezone(zone),
            "late_minutes": late, "priority": r["priority"], "status": r["status"],
            "committed": True, "lon": round(float(r["lon"]), 6), "lat": round(float(r["lat"]), 6),
        })  # fmt: skip
    return {"timezone": tz, "operatives": operatives, "visits": visits, "unscheduled": []}
