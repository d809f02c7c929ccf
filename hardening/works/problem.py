"""The scheduling problem and its answer as plain data, plus an independent checker.

Times are whole minutes of local wall-clock time (Europe/London: operatives work 08:00-16:00
on the clock on the wall, GMT in winter, BST in summer) from 00:00 of the first day of the
horizon: minute m is day m // 1440 at (m % 1440) minutes past local midnight, so the working
day is the same minutes all year; `Problem.at` and `Problem.minute_of` convert to and from
real instants. Travel comes from one matrix per problem (`travel.py`): along the loaded road
network where there is one, else the BNG straight line times a detour factor at a set speed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Final
from zoneinfo import ZoneInfo

from hardening.works.travel import RoadNetwork, TravelMatrix, travel_matrix

DAY: Final = 1440
LOCAL_TZ: Final = "Europe/London"
WEIGHTS: Final = {"emergency": 1000, "urgent": 100, "routine": 10, "planned": 1}


def local_instant(start: date, minute: int, tz: str = LOCAL_TZ) -> datetime:
    """The instant of a problem minute: local wall clock, with that day's offset."""
    day, rest = divmod(minute, DAY)
    midnight = datetime.combine(start + timedelta(days=day), time(0), ZoneInfo(tz))
    return midnight + timedelta(minutes=rest)  # wall-clock arithmetic: 10:00 stays 10:00


def local_minute(start: date, instant: datetime, tz: str = LOCAL_TZ) -> int:
    """The problem minute of an instant (rounded down to the minute)."""
    local = instant.astimezone(ZoneInfo(tz))
    return (local.date() - start).days * DAY + local.hour * 60 + local.minute


@dataclass(frozen=True)
class Operative:
    operative_id: int
    name: str
    skills: frozenset[str]
    x: float
    y: float
    start_min: int  # working hours, minutes from midnight
    end_min: int
    working_days: frozenset[int]  # ISO weekdays


@dataclass(frozen=True)
class Job:
    job_id: int
    x: float
    y: float
    skill: str
    duration: int
    due: int  # minutes from the horizon start; may be negative (already late) or beyond it
    priority: str = "routine"
    window: tuple[int, int] | None = None  # minutes from midnight, any day
    fixed: tuple[int, int] | None = None  # committed (operative_id, start minute): kept as is

    @property
    def weight(self) -> int:
        return WEIGHTS.get(self.priority, 1)


@dataclass(frozen=True)
class Problem:
    start: date
    days: int
    operatives: tuple[Operative, ...]
    jobs: tuple[Job, ...]
    speed_kmh: float = 30.0
    detour: float = 1.3
    network: RoadNetwork | None = field(default=None, compare=False, repr=False)
    tz: str = LOCAL_TZ

    @cached_property
    def matrix(self) -> TravelMatrix:
        """Minutes between every two places of the problem, computed once."""
        places = [(o.x, o.y) for o in self.operatives] + [(j.x, j.y) for j in self.jobs]
        return travel_matrix(places, self.detour, self.speed_kmh, self.network)

    @property
    def travel_method(self) -> str:
        return self.matrix.method

    def travel(self, ax: float, ay: float, bx: float, by: float) -> int:
        index = self.matrix.index
        a, b = index.get((ax, ay)), index.get((bx, by))
        if a is not None and b is not None:
            return int(self.matrix.minutes[a, b])
        metres = math.hypot(ax - bx, ay - by) * self.detour  # a place outside the problem
        return math.ceil(metres / (self.speed_kmh * 1000 / 60) - 1e-9)

    def at(self, minute: int) -> datetime:
        return local_instant(self.start, minute, self.tz)

    def minute_of(self, instant: datetime) -> int:
        return local_minute(self.start, instant, self.tz)

    def shifts(self) -> list[tuple[Operative, int, int, int]]:
        """(operative, day index, shift start, shift end) for every working day in the horizon."""
        out = []
        for op in self.operatives:
            for d in range(self.days):
                if (self.start + timedelta(days=d)).isoweekday() in op.working_days:
                    out.append((op, d, d * DAY + op.start_min, d * DAY + op.end_min))
        return out


@dataclass(frozen=True)
class Visit:
    job_id: int
    operative_id: int
    start: int
    end: int


@dataclass
class Schedule:
    visits: list[Visit]
    unscheduled: dict[int, str]  # job id -> reason
    solver: str
    seconds: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)


def route_of(schedule: Schedule, operative_id: int, day: int) -> list[Visit]:
    return sorted(
        (v for v in schedule.visits if v.operative_id == operative_id and v.start // DAY == day),
        key=lambda v: v.start,
    )


def evaluate(problem: Problem, schedule: Schedule) -> dict[str, float]:
    """Priority-weighted lateness (minutes; an unscheduled job counts as done at the horizon's
    end, or one day after its due date when that is later), travel minutes, late emergencies."""
    jobs = {j.job_id: j for j in problem.jobs}
    ops = {o.operative_id: o for o in problem.operatives}
    horizon = problem.days * DAY
    lateness = 0.0
    late_emergencies = 0
    for v in schedule.visits:
        j = jobs[v.job_id]
        late = max(0, v.end - j.due)
        lateness += j.weight * late
        late_emergencies += int(j.priority == "emergency" and late > 0)
    for job_id in schedule.unscheduled:
        j = jobs[job_id]
        late = max(0, max(horizon, j.due + DAY) - j.due) if j.due < horizon else 0
        lateness += j.weight * late
        late_emergencies += int(j.priority == "emergency")
    travel = 0
    for op in problem.operatives:
        for d in range(problem.days):
            route = route_of(schedule, op.operative_id, d)
            points = [(op.x, op.y)] + [(jobs[v.job_id].x, jobs[v.job_id].y) for v in route]
            points += [(op.x, op.y)] if route else []
            travel += sum(problem.travel(*a, *b) for a, b in itertools.pairwise(points))
    _ = ops
    return {
        "weighted_lateness": lateness,
        "travel_minutes": float(travel),
        "scheduled": float(len(schedule.visits)),
        "unscheduled": float(len(schedule.unscheduled)),
        "late_or_unscheduled_emergencies": float(late_emergencies),
    }


def violations(problem: Problem, schedule: Schedule) -> list[str]:
    """Every broken constraint, found without the solver: skills, working days and hours,
    tenant windows, durations, jobs twice or both scheduled and left out, travel between
    consecutive jobs (from and back to the base), committed jobs moved."""
    jobs = {j.job_id: j for j in problem.jobs}
    ops = {o.operative_id: o for o in problem.operatives}
    out: list[str] = []
    seen: set[int] = set()
    for v in schedule.visits:
        j, op = jobs.get(v.job_id), ops.get(v.operative_id)
        if j is None or op is None:
            out.append(f"job {v.job_id}: unknown job or operative {v.operative_id}")
            continue
        if v.job_id in seen:
            out.append(f"job {v.job_id}: scheduled twice")
        seen.add(v.job_id)
        if v.job_id in schedule.unscheduled:
            out.append(f"job {v.job_id}: both scheduled and left out")
        if j.skill not in op.skills:
            out.append(f"job {v.job_id}: operative {op.operative_id} lacks {j.skill}")
        if v.end - v.start != j.duration:
            out.append(f"job {v.job_id}: lasts {v.end - v.start} min, needs {j.duration}")
        day, t0, t1 = v.start // DAY, v.start % DAY, v.start % DAY + j.duration
        weekday = (problem.start + timedelta(days=day)).isoweekday()
        if not 0 <= day < problem.days or weekday not in op.working_days:
            out.append(f"job {v.job_id}: day {day} is not a working day of {op.operative_id}")
        if t0 < op.start_min or t1 > op.end_min:
            out.append(f"job {v.job_id}: outside {op.operative_id}'s hours")
        if j.window and (t0 < j.window[0] or t1 > j.window[1]):
            out.append(f"job {v.job_id}: outside the tenant window")
        if j.fixed and (j.fixed[0] != v.operative_id or j.fixed[1] != v.start):
            out.append(f"job {v.job_id}: committed slot moved")
    for j in problem.jobs:
        if j.job_id not in seen and j.job_id not in schedule.unscheduled:
            out.append(f"job {j.job_id}: neither scheduled nor explained")
    for op in problem.operatives:
        for d in range(problem.days):
            route = route_of(schedule, op.operative_id, d)
            if not route:
                continue
            x, y, t = op.x, op.y, d * DAY + op.start_min
            for v in route:
                j = jobs[v.job_id]
                if v.start < t + problem.travel(x, y, j.x, j.y):
                    out.append(f"job {v.job_id}: starts before {op.operative_id} can get there")
                x, y, t = j.x, j.y, v.end
            if t + problem.travel(x, y, op.x, op.y) > d * DAY + op.end_min:
                out.append(f"operative {op.operative_id} day {d}: cannot get back by end of day")
    return out


def sla_reachable(problem: Problem, job: Job) -> bool:
    """Could a skilled operative alone finish the job by its due time (first job of a shift,
    straight from base, inside the tenant window, back by the end of the day)?"""
    for op, _, s0, s1 in problem.shifts():
        if job.skill not in op.skills:
            continue
        there = problem.travel(op.x, op.y, job.x, job.y)
        begin = s0 + there
        if job.window:
            begin = max(begin, s0 - s0 % DAY + job.window[0])
            if begin % DAY + job.duration > job.window[1]:
                continue
        back = problem.travel(job.x, job.y, op.x, op.y)
        if begin + job.duration <= min(job.due, s1 - back):
            return True
    return False


def infeasible_reason(problem: Problem, job: Job) -> str | None:
    """Why no schedule could hold the job whatever else is planned (None: it could fit)."""
    able = [o for o in problem.operatives if job.skill in o.skills]
    if not able:
        return f"no operative with the skill {job.skill!r}"
    for op, _, s0, s1 in problem.shifts():
        if op not in able:
            continue
        lo, hi = s0 % DAY, s1 % DAY
        if job.window:
            lo, hi = max(lo, job.window[0]), min(hi, job.window[1])
        there = problem.travel(op.x, op.y, job.x, job.y)
        begin = max(lo, op.start_min + there)
        if begin + job.duration <= hi and begin + job.duration + there <= op.end_min:
            return None
    if job.window:
        return "tenant window infeasible: no shift of a skilled operative fits the job in it"
    return "no shift of a skilled operative is long enough for the job and the travel"
