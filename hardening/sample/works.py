"""Target hardening: measures already in place and the providers' work orders in every state.

Blocks of social flats mostly have a door-entry system (a quarter of them faulty) and some have
lighting; a few homes already have door viewers or chains. Work orders go mostly to homes the
visit teams have been to (and their blocks), are done by an operative of the same provider with
the right skill, inside the operative's working hours, and completed ones are installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from hardening.sample.addresses import Addresses
from hardening.sample.casework import Visits, growing_days
from hardening.sample.events import DAYS
from hardening.sample.partners import Operatives
from hardening.sample.spec import TOWNS, WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import choose, local_moment, local_text

# The catalogue rows of sql/001_core.sql: code -> (skill, minutes, typical cost, scope).
MEASURES: Final = {
    "spy_hole": ("joiner", 30, 2500, "dwelling"),
    "door_chain": ("joiner", 30, 3000, "dwelling"),
    "letterbox_guard": ("joiner", 20, 2000, "dwelling"),
    "door_replacement": ("joiner", 240, 90000, "dwelling"),
    "entry_system_repair": ("electrician", 120, 35000, "block"),
    "entry_system_fit": ("electrician", 480, 250000, "block"),
    "cctv_repair": ("cctv_engineer", 120, 40000, "block"),
    "lighting": ("electrician", 90, 30000, "block"),
    "warning_notice": ("housing_officer", 60, 0, "dwelling"),
}
DWELLING_P: Final = {
    "spy_hole": 3,
    "door_chain": 3,
    "letterbox_guard": 1.5,
    "door_replacement": 1,
    "warning_notice": 1.5,
}
STATUSES: Final = (
    "requested",
    "approved",
    "scheduled",
    "in_progress",
    "completed",
    "no_access",
    "cancelled",
)
STATUS_P: Final = (0.10, 0.10, 0.14, 0.08, 0.45, 0.07, 0.06)
VERSION: Final = (1, 2, 3, 4, 5, 4, 2)
PRIORITIES: Final = ("emergency", "urgent", "routine", "planned")
PRIORITY_P: Final = (0.05, 0.25, 0.5, 0.2)
SLA_DAYS: Final = (1, 7, 28, 90)
ORDERS_PER_ADDRESS: Final = 0.02
NO_ACCESS_AGE: Final = (7, 60)  # days before the reference day an open no-access order was raised


@dataclass
class BlockKit:
    """What each social block has: an entry system (working?), CCTV (working?)."""

    entry: np.ndarray  # bool per address row
    entry_faulty: np.ndarray
    cctv: np.ndarray
    cctv_faulty: np.ndarray


def block_kit(rng: np.random.Generator, addr: Addresses) -> BlockKit:
    social_block = (addr.kind == "block") & addr.social
    entry = social_block & (rng.random(len(addr)) < 0.65)
    cctv = social_block & (rng.random(len(addr)) < 0.15)
    return BlockKit(
        entry, entry & (rng.random(len(addr)) < 0.25), cctv, cctv & (rng.random(len(addr)) < 0.3)
    )


def _historic(
    rng: np.random.Generator, addr: Addresses, kit: BlockKit
) -> list[tuple[int, str, int, str]]:
    """(address row, measure, day, status) installed before the window, with no work order."""
    rows: list[tuple[int, str, int, str]] = []
    for i in np.flatnonzero(kit.entry).tolist():
        rows.append((i, "entry_system_fit", 0, "faulty" if kit.entry_faulty[i] else "working"))
    social_block = (addr.kind == "block") & addr.social
    for i in np.flatnonzero(social_block & (rng.random(len(addr)) < 0.4)).tolist():
        rows.append((i, "lighting", 0, "working" if rng.random() < 0.85 else "faulty"))
    homes = (addr.provider != None) & (addr.kind != "block")  # noqa: E711
    for code, p in (
        ("spy_hole", 0.04),
        ("door_chain", 0.03),
        ("letterbox_guard", 0.01),
        ("door_replacement", 0.02),
    ):
        for i in np.flatnonzero(homes & (rng.random(len(addr)) < p)).tolist():
            rows.append((i, code, 0, "working" if rng.random() < 0.95 else "removed"))
    days = rng.integers(-3650, -30, size=len(rows))
    return [(i, code, int(d), s) for (i, code, _, s), d in zip(rows, days.tolist(), strict=True)]


def _moment(day: int, minutes: int) -> datetime:
    return local_moment(WINDOW_START + timedelta(days=int(day)), minutes)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def works(
    rng: np.random.Generator, addr: Addresses, v: Visits, ops: Operatives, kit: BlockKit
) -> tuple[Table, Table]:
    historic = _historic(rng, addr, kit)
    installed = {(i, code) for i, code, _, _ in historic}
    w = np.where(addr.social, 1.0, 0.0)
    visited = np.zeros(len(addr))
    np.add.at(visited, v.address, 20.0)
    flats = v.address[addr.parent[v.address] >= 0]
    np.add.at(visited, addr.parent[flats], 10.0)
    w = w * (1.0 + visited)
    n = min(max(30, round(ORDERS_PER_ADDRESS * len(addr))), int((w > 0).sum()))
    target = np.sort(rng.choice(len(addr), size=n, replace=False, p=w / w.sum()))
    status = choose(rng, range(len(STATUSES)), STATUS_P, n).astype(np.int64)
    priority = choose(rng, range(len(PRIORITIES)), PRIORITY_P, n).astype(np.int64)
    dwelling = choose(rng, list(DWELLING_P), list(DWELLING_P.values()), n)
    by_skill: dict[tuple[str, str], list[int]] = {}
    for k, (org, skills) in enumerate(zip(ops.provider, ops.skills, strict=True)):
        for s in skills:
            by_skill.setdefault((org, s), []).append(k)
    rows: list[Order] = []
    done: set[tuple[int, str]] = set()
    for k, i in enumerate(target.tolist()):
        if addr.kind[i] == "block":
            code = (
                "entry_system_fit"
                if not kit.entry[i]
                else "entry_system_repair"
                if kit.entry_faulty[i]
                else "cctv_repair"
                if kit.cctv_faulty[i]
                else "lighting"
            )
        else:
            code = str(dwelling[k])
        st = STATUSES[int(status[k])]
        if st == "completed" and ((i, code) in installed or (i, code) in done):
            st = "cancelled"  # a duplicate request: that is fitted already
        if st == "completed":
            done.add((i, code))
        rows.append(
            _order(rng, k + 1, i, code, st, int(priority[k]), str(addr.provider[i]), ops, by_skill)
        )
    rows.sort(key=lambda o: (o.created, o.id))  # ids in the order the requests came in
    for k, o in enumerate(rows):
        o.id = k + 1
    repaired = {(o.address, o.code) for o in rows if o.completed is not None}
    if repaired:  # a completed repair leaves the fitted system working again
        historic = [
            (
                i,
                code,
                d,
                "working"
                if (i, "entry_system_repair") in repaired and code == "entry_system_fit"
                else s,
            )
            for i, code, d, s in historic
        ]
    kit.cctv_faulty[[i for i, code in repaired if code == "cctv_repair"]] = False
    return _orders_table(rows, addr), _installed_table(historic, rows, addr)


@dataclass
class Order:
    id: int
    address: int
    code: str
    status: str
    org: str
    priority: str
    created: datetime
    due: datetime
    updated: datetime
    version: int
    start: datetime | None = None
    end: datetime | None = None
    operative: int | None = None
    window: tuple[str | None, str | None] = (None, None)
    completed: datetime | None = None
    attempts: int = 0
    cost: int | None = None


def _created_day(rng: np.random.Generator, status: str) -> int:
    """Open orders are recent; closed ones spread over the window, more of them lately."""
    last = DAYS - 1
    recent = {
        "requested": (0, 10),
        "approved": (3, 25),
        "scheduled": (5, 40),
        "in_progress": (5, 30),
    }
    if status in recent:
        lo, hi = recent[status]
        return last - int(rng.integers(lo, hi))
    day = int(growing_days(rng, 1)[0]) * (DAYS - 15) // DAYS
    if status == "no_access":  # still open: a missed visit of the last few weeks, not of 2024
        return last - NO_ACCESS_AGE[0] - day % (NO_ACCESS_AGE[1] - NO_ACCESS_AGE[0])
    return day


def _order(
    rng: np.random.Generator,
    wid: int,
    i: int,
    code: str,
    status: str,
    pr: int,
    org: str,
    ops: Operatives,
    by_skill: dict[tuple[str, str], list[int]],
) -> Order:
    skill, minutes, cost, _ = MEASURES[code]
    last = DAYS - 1
    created = _created_day(rng, status)
    made = _moment(created, int(rng.integers(540, 960)))
    o = Order(
        wid,
        i,
        code,
        status,
        org,
        PRIORITIES[pr],
        made,
        _moment(created + SLA_DAYS[pr], 17 * 60),
        made,
        VERSION[STATUSES.index(status)],
    )
    if status in ("approved", "scheduled"):
        o.cost = cost  # the estimate
    if status == "approved":
        o.updated = made + timedelta(days=int(rng.integers(1, 6)))
    if status == "cancelled":
        o.updated = made + timedelta(days=int(rng.integers(1, 21)))
    if status in ("scheduled", "in_progress", "completed", "no_access"):
        team = by_skill[(org, skill)]
        op = team[int(rng.integers(len(team)))]
        if status == "scheduled":
            day = DAYS + int(rng.integers(0, 21))
        elif status == "in_progress":
            day = last
        else:
            day = min(last, created + 1 + int(rng.integers(0, SLA_DAYS[pr] + 10)))
        step = -1 if status == "in_progress" else 1
        while (WINDOW_START + timedelta(days=day)).isoweekday() not in ops.week[op]:
            day += step
        lo, hi = (_minutes(t) for t in ops.hours[op])
        slots = max(0, (hi - lo - minutes) // 30)
        o.start = _moment(day, lo + 30 * int(rng.integers(0, slots + 1)))
        o.end = o.start + timedelta(minutes=minutes)
        o.operative = op + 1
        if rng.random() < 0.4:  # the tenant asked for a half day
            o.window = ("08:00", "12:00") if o.start.hour < 12 else ("12:00", "17:00")
        if status == "scheduled":
            o.updated = made + timedelta(days=int(rng.integers(1, 4)))
        elif status == "in_progress":
            o.updated = o.start
        else:
            o.updated = o.end
        if status == "completed":
            o.completed = o.end
            o.cost = round(cost * rng.uniform(0.85, 1.3))
            o.attempts = int(rng.random() < 0.1)
        if status == "no_access":
            o.attempts = int(rng.integers(1, 4))
    o.updated = max(o.updated, made)
    return o


def _orders_table(rows: list[Order], addr: Addresses) -> Table:
    a = np.array([r.address for r in rows], dtype=np.int64)
    return Table.of(
        "work_orders",
        work_order_id=[r.id for r in rows],
        provider_org_id=[r.org for r in rows],
        uprn=addr.uprn[a],
        measure_code=[r.code for r in rows],
        priority=[r.priority for r in rows],
        status=[r.status for r in rows],
        due_at=local_text([r.due for r in rows]),
        scheduled_start=local_text([r.start for r in rows]),
        scheduled_end=local_text([r.end for r in rows]),
        operative_id=[r.operative for r in rows],
        tenant_window_start=[r.window[0] for r in rows],
        tenant_window_end=[r.window[1] for r in rows],
        cost_pence=[r.cost for r in rows],
        no_access_attempts=[r.attempts for r in rows],
        created_at=local_text([r.created for r in rows]),
        updated_at=local_text([r.updated for r in rows]),
        completed_at=local_text([r.completed for r in rows]),
        version=[r.version for r in rows],
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[addr.town[a]],
    )


def _installed_table(
    historic: list[tuple[int, str, int, str]], orders: list[Order], addr: Addresses
) -> Table:
    rows: list[tuple[int, str, str, str, int | None]] = [
        (i, code, (WINDOW_START + timedelta(days=d)).isoformat(), s, None)
        for i, code, d, s in historic
    ]
    rows += [
        (o.address, o.code, o.completed.date().isoformat(), "working", o.id)
        for o in orders
        if o.completed is not None
    ]
    a = np.array([r[0] for r in rows], dtype=np.int64)
    return Table.of(
        "installed_measures",
        installed_id=np.arange(1, len(rows) + 1),
        uprn=addr.uprn[a],
        measure_code=[r[1] for r in rows],
        installed_on=[r[2] for r in rows],
        status=[r[3] for r in rows],
        provider_org_id=addr.provider[a],
        work_order_id=[r[4] for r in rows],
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[addr.town[a]],
    )
