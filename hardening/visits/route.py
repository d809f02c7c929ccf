"""One team's day: the most pressing due cases ordered into a route by the works scheduler.

The team is one operative with one working day: it starts at its base, visits, and is back by
the end of its hours. Each case is a job of the visit's length, due by the end of the day, so
the scheduler minimises travel; its priority (an overdue plan visit above a review, a review
above a risk signal) decides which cases are left out when the day cannot hold them all, and
those come back with the reason in the visit team's words. Due cases carry no appointment
times, so no job has a time window. Travel is the scheduler's: straight line times a detour
factor at 30 km/h.

A day's route stays in one town (the most pressing case's, unless one is asked for): a team does
not drive Barrow, Ulverston and Dalton in one day. A route for today starts now, rounded up to
the quarter hour, not at the start of the shift.

A route is a due list (due.py): it needs a reason and writes one consultation row naming the
cases it routed or left out and the markers among them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError, UserInputError
from hardening.geo import to_bng, to_lon_lat
from hardening.models import Result
from hardening.security import audit
from hardening.visits.due import DueCase, audit_details, due_cases, require_visit_reader
from hardening.works.problem import DAY, LOCAL_TZ, Job, Operative, Problem, Schedule
from hardening.works.solver import solve

SKILL: Final = "vulnerability_visit"
TEAM_ID: Final = 1
PRIORITY: Final = {1: "urgent", 2: "routine", 3: "planned"}  # by DueCase.rank
SOLVE_SECONDS: Final = 1.0  # guided local search uses all of it; a day of <= 30 stops needs less
ROUND_MIN: Final = 15  # today's route starts at the next quarter hour
# Why a case is left out, in the visit team's words (the scheduler speaks of operatives and
# shifts). The first words stay the scheduler's kind of reason, for scripts that sort on it.
DAY_FULL: Final = "capacity: the day is full with more pressing visits; plan it for another day"
TOO_LONG: Final = (
    "the team's hours are not long enough for this visit and the journey there and back"
)
DAY_OVER: Final = "the team's working hours today are over; plan it for another day"
NOT_WORKING: Final = "capacity: the team is not working on this day"


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


def team_words(reason: str) -> str:
    """The scheduler's reason for leaving a job out, said as a visit team would."""
    if reason.startswith("capacity: no working shift"):
        return NOT_WORKING
    if reason.startswith("capacity"):
        return DAY_FULL
    if "long enough" in reason or "skilled operative" in reason:
        return TOO_LONG
    return reason


def start_minute(on_day: date, team: TeamDay, now: datetime | None = None) -> int:
    """When the day's route may start: the team's start, or for today now rounded up to the
    quarter hour if that is later (local time)."""
    now = (now or datetime.now(ZoneInfo(LOCAL_TZ))).astimezone(ZoneInfo(LOCAL_TZ))
    if now.date() != on_day:
        return team.start_min
    minute = now.hour * 60 + now.minute + (1 if now.second or now.microsecond else 0)
    return max(team.start_min, math.ceil(minute / ROUND_MIN) * ROUND_MIN)


def _check_town(conn: Connection, town: str) -> None:
    """Refuse a town no address has (nor an area's id, which stands for an unknown town)."""
    if "\x00" in town:
        raise UserInputError("the town must not contain a NUL character")
    known = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM address_vocabulary WHERE town = :t) "
            "OR EXISTS (SELECT 1 FROM areas WHERE area_id = :t) "
            "OR EXISTS (SELECT 1 FROM addresses WHERE town = :t)"
        ),
        {"t": town},
    ).scalar_one()
    if not known:
        raise NotFoundError(f"no town called {town!r} in the register")


def town_of(case: DueCase) -> str:
    """The town a case is in (its area when the register gives no town): routes group by it."""
    return case.town or case.area_id or "unknown"


@dataclass(frozen=True)
class Stop(Result):
    """A case on the day's route, in visiting order (after the times, DueCase as shown)."""

    stop: int
    arrive: str  # HH:MM
    leave: str
    leg_m: float  # straight line from the stop before, or from the base
    uprn: int
    area_id: str | None
    full_address: str
    reasons: list[str]
    due_on: date
    last_visit: date | None
    lon: float
    lat: float
    town: str | None


@dataclass(frozen=True)
class LeftOut(Result):
    """A case the day could not hold (DueCase as shown), and why in the team's words."""

    uprn: int
    area_id: str | None
    full_address: str
    reasons: list[str]
    due_on: date
    last_visit: date | None
    lon: float
    lat: float
    town: str | None
    why: str


@dataclass(frozen=True)
class LonLat(Result):
    lon: float
    lat: float


@dataclass(frozen=True)
class DayRoute(Result):
    """The day's route as `/visits/route` and `visits route --json` give it."""

    day: date
    town: str | None  # the town the route stays in (None: nothing due)
    starts: str  # when the route may start (HH:MM)
    base: LonLat | None
    stops: list[Stop]
    return_m: float  # from the last stop back to the base
    travel_m: float  # in all, back to the base included
    left_out: list[LeftOut]


@dataclass
class DayPlan:
    day: date
    problem: Problem
    schedule: Schedule
    cases: dict[int, DueCase]  # job id (the UPRN) -> case
    base_xy: tuple[float, float] | None  # None: nothing due and no base given
    stops: list[Stop] = field(default_factory=list)
    town: str | None = None  # the town the route stays in
    starts: str = ""  # when the route may start (HH:MM)

    def route(self) -> DayRoute:
        base = None
        home = 0.0
        if self.base_xy is not None:
            lon, lat = to_lon_lat(*self.base_xy)
            base = LonLat(round(lon, 6), round(lat, 6))
            if self.stops:
                last = self.cases[self.stops[-1].uprn]
                home = math.dist((last.x, last.y), self.base_xy)
        left_out = [
            LeftOut(**self.cases[job].as_dict(), why=team_words(why))
            for job, why in sorted(self.schedule.unscheduled.items())
        ]
        travel = round(sum(s.leg_m for s in self.stops) + home, 1)
        return DayRoute(self.day, self.town, self.starts, base, self.stops, round(home, 1),
                        travel, left_out)  # fmt: skip


def _clock(minute: int) -> str:
    return f"{minute % DAY // 60:02d}:{minute % 60:02d}"


def build_problem(
    cases: list[DueCase],
    day: date,
    team: TeamDay,
    base_xy: tuple[float, float],
    start_min: int | None = None,
) -> Problem:
    """A one-operative, one-day scheduling problem; job ids are the cases' UPRNs."""
    op = Operative(
        TEAM_ID, "visit team", frozenset({SKILL}), base_xy[0], base_xy[1],
        team.start_min if start_min is None else start_min, team.end_min,
        frozenset({day.isoweekday()}),
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
    town: str | None = None,
    now: datetime | None = None,
    *,
    reason: str | None,
) -> DayPlan:
    """Route the `max_stops` most pressing cases due on the day in one town (`town`, else the
    most pressing case's) through the team's hours, from now when the day is today. A reason
    is required; the cases routed or left out are audited (one consultation row)."""
    why = audit.reason_for(conn, reason)
    if not 1 <= max_stops <= 30:
        raise UserInputError("max_stops must be between 1 and 30")
    team = team or TeamDay()
    team.check()
    require_visit_reader(conn)  # before saying whether a town is known
    if town is not None:
        _check_town(conn, town)
    due = due_cases(conn, on_day, area)
    if town is not None:
        due = [c for c in due if town_of(c) == town]
    chosen = [c for c in due if town_of(c) == town_of(due[0])][:max_stops] if due else []
    base_xy: tuple[float, float] | None = None
    if team.base is not None:
        base_xy = to_bng(*team.base)
    elif chosen:
        base_xy = (chosen[0].x, chosen[0].y)
    routed = town_of(chosen[0]) if chosen else town
    details = audit_details(chosen, on=on_day.isoformat(), area=area, town=routed)
    audit.record(conn, "consultation", "visit_route", None, why, details=details)
    starts = start_minute(on_day, team, now)
    problem = build_problem(chosen, on_day, team, base_xy or (0.0, 0.0), min(starts, team.end_min))
    if not chosen:
        schedule = Schedule([], {}, "none")
    elif starts >= team.end_min:  # nothing fits: the day is over
        schedule = Schedule([], {c.uprn: DAY_OVER for c in chosen}, "none")
    else:
        schedule = solve(problem, seconds)
    plan = DayPlan(
        on_day, problem, schedule, {c.uprn: c for c in chosen}, base_xy,
        town=routed,
        starts=_clock(min(starts, team.end_min)),
    )  # fmt: skip
    x, y = base_xy or (0.0, 0.0)
    for n, visit in enumerate(sorted(schedule.visits, key=lambda v: v.start), start=1):
        case = plan.cases[visit.job_id]
        leg = round(math.dist((x, y), (case.x, case.y)), 1)
        plan.stops.append(Stop(n, _clock(visit.start), _clock(visit.end), leg, **case.as_dict()))
        x, y = case.x, case.y
    return plan


def day_list(
    conn: Connection,
    on_day: date,
    area: str | None = None,
    max_stops: int = 8,
    team: TeamDay | None = None,
    town: str | None = None,
    now: datetime | None = None,
    *,
    reason: str | None,
) -> DayRoute:
    """The day's route: the town, stops in order with times and straight-line legs, and the
    cases the day could not hold with the reason (audited: see plan_day)."""
    return plan_day(conn, on_day, area, max_stops, team, town=town, now=now, reason=reason).route()
