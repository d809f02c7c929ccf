"""One team's day: the most pressing due cases ordered into a route by the works scheduler.

The team is one operative with one working day: it starts at its base, visits, and is back by
the end of its hours. Each case is a job of the visit's length, due by the end of the day, so
the scheduler minimises travel; its priority (an overdue plan visit above a review, a review
above a risk signal) decides which cases are left out when the day cannot hold them all, and
those come back with the scheduler's reason. Due cases carry no appointment times, so no job
has a time window. Travel is the scheduler's: straight line times a detour factor at 30 km/h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import Connection

from hardening.errors import UserInputError
from hardening.geo import to_bng, to_lon_lat
from hardening.visits.due import DueCase, who_to_visit_next
from hardening.works.problem import DAY, Job, Operative, Problem, Schedule
from hardening.works.solver import solve

SKILL: Final = "vulnerability_visit"
TEAM_ID: Final = 1
PRIORITY: Final = {1: "urgent", 2: "routine", 3: "planned"}  # by DueCase.rank
SOLVE_SECONDS: Final = 1.0  # guided local search uses all of it; a day of <= 30 stops needs less


@dataclass(frozen=True)
class TeamDay:
    """The team's day: hours (minutes from midnight), minutes per visit, and its base in
    lon/lat (None: start and end at the most pressing case)."""

    start_min: int = 9 * 60
    end_min: int = 17 * 60
    visit_minutes: int = 45
    base: tuple[float, float] | None = None

    def check(self) -> None:
        if not 0 <= self.start_min < self.end_min <= DAY:
            raise UserInputError("the team's hours must be a start before an end within the day")
        if not 10 <= self.visit_minutes <= 240:
            raise UserInputError("a visit lasts between 10 and 240 minutes")


@dataclass
class DayPlan:
    day: date
    problem: Problem
    schedule: Schedule
    cases: dict[int, DueCase]  # job id (the UPRN) -> case
    base_xy: tuple[float, float] | None  # None: nothing due and no base given
    stops: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        base = None
        home = 0.0
        if self.base_xy is not None:
            lon, lat = to_lon_lat(*self.base_xy)
            base = {"lon": round(lon, 6), "lat": round(lat, 6)}
            if self.stops:
                home = math.dist((self.stops[-1]["x"], self.stops[-1]["y"]), self.base_xy)
        return {
            "day": self.day,
            "base": base,
            "stops": [{k: v for k, v in s.items() if k not in ("x", "y")} for s in self.stops],
            "return_m": round(home, 1),
            "travel_m": round(sum(s["leg_m"] for s in self.stops) + home, 1),
            "left_out": [
                {**self.cases[job].as_dict(), "why": why}
                for job, why in sorted(self.schedule.unscheduled.items())
            ],
        }


def _clock(minute: int) -> str:
    return f"{minute % DAY // 60:02d}:{minute % 60:02d}"


def build_problem(
    cases: list[DueCase], day: date, team: TeamDay, base_xy: tuple[float, float]
) -> Problem:
    """A one-operative, one-day scheduling problem; job ids are the cases' UPRNs."""
    op = Operative(
        TEAM_ID, "visit team", frozenset({SKILL}), base_xy[0], base_xy[1],
        team.start_min, team.end_min, frozenset({day.isoweekday()}),
    )  # fmt: skip
    jobs = tuple(
        Job(c.uprn, c.x, c.y, SKILL, team.visit_minutes, DAY, PRIORITY[c.rank]) for c in cases
    )
    return Problem(day, 1, (op,), jobs)


def plan_day(
    conn: Connection,
    on_day: date,
    area: str | None = None,
    max_stops: int = 8,
    team: TeamDay | None = None,
    seconds: float = SOLVE_SECONDS,
) -> DayPlan:
    """Route the `max_stops` most pressing cases due on the day through the team's hours."""
    if not 1 <= max_stops <= 30:
        raise UserInputError("max_stops must be between 1 and 30")
    team = team or TeamDay()
    team.check()
    chosen = who_to_visit_next(conn, on_day, area)[:max_stops]
    base_xy: tuple[float, float] | None = None
    if team.base is not None:
        base_xy = to_bng(*team.base)
    elif chosen:
        base_xy = (chosen[0].x, chosen[0].y)
    problem = build_problem(chosen, on_day, team, base_xy or (0.0, 0.0))
    schedule = solve(problem, seconds) if chosen else Schedule([], {}, "none")
    plan = DayPlan(on_day, problem, schedule, {c.uprn: c for c in chosen}, base_xy)
    x, y = base_xy or (0.0, 0.0)
    for n, visit in enumerate(sorted(schedule.visits, key=lambda v: v.start), start=1):
        case = plan.cases[visit.job_id]
        plan.stops.append(
            {
                "stop": n,
                "arrive": _clock(visit.start),
                "leave": _clock(visit.end),
                "leg_m": round(math.dist((x, y), (case.x, case.y)), 1),
                **case.as_dict(),
                "x": case.x,
                "y": case.y,
            }
        )
        x, y = case.x, case.y
    return plan


def day_list(
    conn: Connection,
    on_day: date,
    area: str | None = None,
    max_stops: int = 8,
    team: TeamDay | None = None,
) -> dict[str, Any]:
    """The day's route as plain data: stops in order with times and straight-line legs,
    and the cases the day could not hold with the reason."""
    return plan_day(conn, on_day, area, max_stops, team).as_dict()
