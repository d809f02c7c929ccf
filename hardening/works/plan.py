"""Scheduling a provider's open orders from the database, committing and exporting the result.

Orders approved, scheduled or back from no access are the jobs; a job already scheduled on the
first day of the horizon is committed (kept as it is) so re-planning after an urgent job
arrives does not move what operatives were told this morning.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.works import orders
from hardening.works.problem import DAY, Job, Operative, Problem, Schedule, evaluate, violations
from hardening.works.solver import solve

JOB_STATES = ("approved", "scheduled", "no_access")


def _minutes(t: time | None) -> int | None:
    return None if t is None else t.hour * 60 + t.minute


def load_problem(conn: Connection, provider: str, start: date, days: int) -> Problem:
    if not 1 <= days <= 31:
        raise UserInputError("days must be between 1 and 31")
    origin = datetime.combine(start, time(0), UTC)
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
            at = int((r.scheduled_start - origin).total_seconds() // 60)
            if 0 <= at < DAY:  # today's committed job
                fixed = (int(r.operative_id), at)
        due = int((r.due_at - origin).total_seconds() // 60)
        jobs.append(
            Job(int(r.work_order_id), float(r.x), float(r.y), str(r.skill),
                int(r.duration_minutes), due, str(r.priority), window, fixed)
        )  # fmt: skip
    return Problem(start, days, ops, tuple(jobs))


def to_dict(problem: Problem, schedule: Schedule) -> dict[str, Any]:
    origin = datetime.combine(problem.start, time(0), UTC)
    names = {o.operative_id: o.name for o in problem.operatives}
    jobs = {j.job_id: j for j in problem.jobs}
    return {
        "solver": schedule.solver,
        "seconds": round(schedule.seconds, 3),
        "metrics": evaluate(problem, schedule),
        "violations": violations(problem, schedule),
        "visits": [
            {
                "work_order_id": v.job_id,
                "operative_id": v.operative_id,
                "operative": names[v.operative_id],
                "start": origin + timedelta(minutes=v.start),
                "end": origin + timedelta(minutes=v.end),
                "priority": jobs[v.job_id].priority,
                "committed": jobs[v.job_id].fixed is not None,
            }
            for v in sorted(schedule.visits, key=lambda v: (v.operative_id, v.start))
        ],
        "unscheduled": [
            {"work_order_id": k, "reason": why} for k, why in sorted(schedule.unscheduled.items())
        ],
    }


def schedule(
    conn: Connection, provider: str, start: date, days: int, seconds: float = 5.0,
    commit: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Plan the provider's open orders; with commit, write each visit onto its order."""
    problem = load_problem(conn, provider, start, days)
    result = to_dict(problem, solve(problem, seconds))
    if commit:
        for visit in result["visits"]:
            if visit["committed"]:
                continue
            row = orders.get(conn, visit["work_order_id"])
            if row["status"] == "scheduled":  # re-planned: back to approved, then scheduled
                row = orders.transition(conn, row["work_order_id"], row["version"], "approved")
            orders.schedule_one(
                conn, row["work_order_id"], row["version"], visit["operative_id"],
                visit["start"], visit["end"],
            )  # fmt: skip
    return result


def to_csv(result: dict[str, Any], operative_id: int | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["operative", "work_order_id", "start", "end", "priority"])
    for v in result["visits"]:
        if operative_id is None or v["operative_id"] == operative_id:
            row = [v["operative"], v["work_order_id"], v["start"].isoformat()]
            writer.writerow([*row, v["end"].isoformat(), v["priority"]])
    return out.getvalue()


def to_ics(result: dict[str, Any], operative_id: int) -> str:
    """iCalendar (RFC 5545) of one operative's visits."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hardening//works//EN"]
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
