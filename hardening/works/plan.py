"""Scheduling a provider's open orders from the database, committing and exporting the result.

Orders approved, scheduled or back from no access are the jobs; a job already scheduled on the
first day of the horizon is committed (kept as it is) so re-planning after an urgent job
arrives does not move what operatives were told this morning. Times are local (Europe/London):
the horizon starts at local midnight, operatives' hours are wall-clock hours, and every time
that leaves here carries its offset (+01:00 in summer). Travel is along the loaded roads where
there are any around the jobs (`travel.py`); the answer says which ("travel").
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.geo import BNG, WGS84, transformer
from hardening.works import orders
from hardening.works.problem import (
    DAY,
    LOCAL_TZ,
    Job,
    Operative,
    Problem,
    Schedule,
    evaluate,
    local_minute,
    violations,
)
from hardening.works.solver import solve
from hardening.works.travel import load_network

JOB_STATES = ("approved", "scheduled", "no_access")


def _minutes(t: time | None) -> int | None:
    return None if t is None else t.hour * 60 + t.minute


def load_problem(
    conn: Connection, provider: str, start: date, days: int, roads: bool = True
) -> Problem:
    """The provider's operatives and open orders as a problem; roads=False ignores the roads."""
    if not 1 <= days <= 31:
        raise UserInputError("days must be between 1 and 31")
    ops = tuple(
        Operative(
            int(r.operative_id),
            str(r.name),
            frozenset(r.skills),
            float(r.x),
            float(r.y),
            int(_minutes(r.work_start) or 0),
            int(_minutes(r.work_end) or 0),
            frozenset(int(d) for d in r.working_days),
        )
        for r in conn.execute(
            text(
                "SELECT operative_id, name, skills, work_start, work_end, working_days, "
                "ST_X(base) AS x, ST_Y(base) AS y FROM operatives WHERE provider_org_id = :p "
                "ORDER BY operative_id"
            ),
            {"p": provider},
        )
    )
    jobs = []
    for r in conn.execute(
        text(
            "SELECT w.work_order_id, ST_X(a.geom) AS x, ST_Y(a.geom) AS y, c.skill, "
            "c.duration_minutes, w.due_at, w.priority, w.tenant_window_start, "
            "w.tenant_window_end, w.status, w.operative_id, w.scheduled_start "
            "FROM work_orders w JOIN addresses a USING (uprn) "
            "JOIN measures_catalogue c USING (measure_code) "
            "WHERE w.provider_org_id = :p AND w.status = ANY(:s) ORDER BY w.work_order_id"
        ),
        {"p": provider, "s": list(JOB_STATES)},
    ):
        window = None
        if r.tenant_window_start is not None and r.tenant_window_end is not None:
            window = (_minutes(r.tenant_window_start) or 0, _minutes(r.tenant_window_end) or 0)
        fixed = None
        if r.status == "scheduled" and r.scheduled_start is not None and r.operative_id:
            at = local_minute(start, r.scheduled_start)
            if 0 <= at < DAY:  # today's committed job
                fixed = (int(r.operative_id), at)
        due = local_minute(start, r.due_at)
        jobs.append(
            Job(int(r.work_order_id), float(r.x), float(r.y), str(r.skill),
                int(r.duration_minutes), due, str(r.priority), window, fixed)
        )  # fmt: skip
    places = [(o.x, o.y) for o in ops] + [(j.x, j.y) for j in jobs]
    network = load_network(conn, places) if roads else None
    return Problem(start, days, ops, tuple(jobs), network=network)


def _lon_lat(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if not points:
        return []
    lons, lats = transformer(BNG, WGS84).transform([p[0] for p in points], [p[1] for p in points])
    return [(round(float(a), 6), round(float(b), 6)) for a, b in zip(lons, lats, strict=True)]


def to_dict(problem: Problem, schedule: Schedule) -> dict[str, Any]:
    """The schedule with local times (offset included), places in lon/lat for maps, how travel
    was timed, the metrics and the independent constraint check."""
    jobs = {j.job_id: j for j in problem.jobs}
    ops = list(problem.operatives)
    visits = sorted(schedule.visits, key=lambda v: (v.operative_id, v.start))
    job_places = _lon_lat([(jobs[v.job_id].x, jobs[v.job_id].y) for v in visits])
    bases = _lon_lat([(o.x, o.y) for o in ops])
    names = {o.operative_id: o.name for o in ops}
    matrix = problem.matrix
    return {
        "solver": schedule.solver,
        "seconds": round(schedule.seconds, 3),
        "timezone": problem.tz,
        "travel": matrix.method,
        "travel_detail": {
            "places": len(matrix.index),
            "on_network": matrix.on_network,
            "road_pairs": matrix.road_pairs,
        },
        "metrics": evaluate(problem, schedule),
        "violations": violations(problem, schedule),
        "operatives": [
            {
                "operative_id": o.operative_id,
                "name": o.name,
                "skills": sorted(o.skills),
                "lon": lon,
                "lat": lat,
            }
            for o, (lon, lat) in zip(ops, bases, strict=True)
        ],
        "visits": [
            {
                "work_order_id": v.job_id,
                "operative_id": v.operative_id,
                "operative": names[v.operative_id],
                "start": problem.at(v.start),
                "end": problem.at(v.end),
                "due": problem.at(jobs[v.job_id].due),
                "late_minutes": max(0, v.end - jobs[v.job_id].due),
                "priority": jobs[v.job_id].priority,
                "committed": jobs[v.job_id].fixed is not None,
                "lon": lon,
                "lat": lat,
            }
            for v, (lon, lat) in zip(visits, job_places, strict=True)
        ],
        "unscheduled": [
            {"work_order_id": k, "reason": why} for k, why in sorted(schedule.unscheduled.items())
        ],
        "note": empty_reason(problem, schedule),
    }


def empty_reason(problem: Problem, schedule: Schedule) -> str | None:
    """Why a schedule holds no visit (None when it holds some)."""
    if schedule.visits:
        return None
    if not problem.jobs:
        return (
            "no approved orders to schedule: the provider has no order approved, scheduled or "
            "back after no access (approve requested ones: hardening works move ORDER --to "
            "approved)"
        )
    if not problem.operatives:
        return "the provider has no operatives to schedule its orders onto"
    return f"none of the {len(problem.jobs)} orders could be placed: see unscheduled for why"


def schedule(
    conn: Connection, provider: str, start: date, days: int, seconds: float = 5.0,
    commit: bool = False, workers: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """Plan the provider's open orders; with commit, write each visit onto its order. Alerts
    that already stand at an order's address make it an emergency first."""
    result = solve_schedule(read_schedule(conn, provider, start, days), seconds, workers)
    if commit:
        commit_visits(conn, result)
    return result


def read_schedule(conn: Connection, provider: str, start: date, days: int) -> Problem:
    """A schedule's inputs, read as conn's actor (standing alerts escalate orders first); the
    solve needs no connection."""
    orders.escalate_standing(conn, provider)
    return load_problem(conn, provider, start, days)


def solve_schedule(problem: Problem, seconds: float = 5.0, workers: int = 1) -> dict[str, Any]:
    """The schedule of a problem, as `to_dict` gives it: no database."""
    return to_dict(problem, solve(problem, seconds, workers))


def from_json(result: dict[str, Any]) -> dict[str, Any]:
    """A schedule read back from JSON (a job's result): its visits' times as datetimes again."""
    visits = [
        v | {k: datetime.fromisoformat(v[k]) for k in ("start", "end", "due")}
        for v in result["visits"]
    ]
    return result | {"visits": visits}


def commit_visits(conn: Connection, result: dict[str, Any]) -> int:
    """Write a plan's visits onto their orders (each a checked, audited transition); a visit
    already committed stays as it is. An order changed since is re-read, not overwritten
    blindly: a cancelled one cannot be scheduled and the whole commit fails."""
    written = 0
    for visit in result["visits"]:
        if visit["committed"]:
            continue
        row = orders.get(conn, visit["work_order_id"])
        if row.status == "scheduled":  # re-planned: back to approved, then scheduled
            row = orders.transition(conn, row.work_order_id, row.version, "approved")
        orders.schedule_one(
            conn, row.work_order_id, row.version, visit["operative_id"],
            visit["start"], visit["end"],
        )  # fmt: skip
        written += 1
    return written


def to_csv(result: dict[str, Any], operative_id: int | None = None) -> str:
    """One row per visit; times local with their UTC offset (ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["operative", "work_order_id", "start", "end", "priority"])
    for v in result["visits"]:
        if operative_id is None or v["operative_id"] == operative_id:
            row = [v["operative"], v["work_order_id"], v["start"].isoformat()]
            writer.writerow([*row, v["end"].isoformat(), v["priority"]])
    return out.getvalue()


def to_ics(result: dict[str, Any], operative_id: int) -> str:
    """iCalendar (RFC 5545) of one operative's visits, times in UTC ('Z'): every calendar shows
    them at the right local hour, summer or winter, with no VTIMEZONE block to get wrong."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hardening//works//EN",
             f"X-WR-TIMEZONE:{result.get('timezone', LOCAL_TZ)}"]  # fmt: skip
    for v in result["visits"]:
        if v["operative_id"] != operative_id:
            continue
        lines += [
            "BEGIN:VEVENT",
            f"UID:work-order-{v['work_order_id']}@hardening",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{v['start'].astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
            f"DTEND:{v['end'].astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
            f"SUMMARY:Work order {v['work_order_id']} ({v['priority']})",
            "END:VEVENT",
        ]
    return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"
