"""Schedules run on local time (Europe/London): an 08:00 start is 07:00 UTC in July (BST) and
08:00 UTC in January, in the schedule, the CSV and the iCalendar export; the spring clock
change in the middle of a horizon moves nothing on the wall clock."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hardening.works import plan
from hardening.works.problem import DAY, Job, Operative, Problem
from hardening.works.solver import solve

LONDON = ZoneInfo("Europe/London")
EVERY_DAY = frozenset(range(1, 8))


def _problem(start: date, days: int = 1) -> Problem:
    op = Operative(7, "Jo Joiner", frozenset({"joiner"}), 430_000, 430_000, 480, 960, EVERY_DAY)
    # due 10:00 on the first day; a tenant who is in from 08:00 to 09:30 only
    job = Job(1, 430_000, 430_000, "joiner", 30, 600, "urgent", window=(480, 570))
    return Problem(start, days, (op,), (job,))


@pytest.mark.parametrize(
    ("start", "offset", "utc_hour"),
    [(date(2027, 7, 5), "+01:00", 7), (date(2027, 1, 4), "+00:00", 8)],
)
def test_an_eight_oclock_start_in_july_and_january(start: date, offset: str, utc_hour: int) -> None:
    problem = _problem(start)
    result = plan.to_dict(problem, solve(problem, seconds=0.5))
    assert result["violations"] == [] and result["timezone"] == "Europe/London"
    (visit,) = result["visits"]
    assert visit["start"] == datetime.combine(start, time(8), LONDON)
    assert visit["start"].astimezone(UTC).hour == utc_hour
    assert visit["due"] == datetime.combine(start, time(10), LONDON)

    csv_text = plan.to_csv(result)
    assert f"{start.isoformat()}T08:00:00{offset}" in csv_text
    assert f"{start.isoformat()}T08:30:00{offset}" in csv_text

    ics = plan.to_ics(result, 7)
    day = start.strftime("%Y%m%d")
    assert f"DTSTART:{day}T{utc_hour:02d}0000Z\r\n" in ics
    assert f"DTEND:{day}T{utc_hour:02d}3000Z\r\n" in ics
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))  # RFC 5545 folding
    assert plan.to_ics(result, 8).count("BEGIN:VEVENT") == 0  # someone else's calendar


def test_minutes_and_instants_round_trip_across_the_spring_clock_change() -> None:
    """Friday 26 March 2027 to Monday 29 March: the clocks go forward on the Sunday."""
    problem = _problem(date(2027, 3, 26), days=4)
    friday, monday = problem.at(480), problem.at(3 * DAY + 480)
    assert friday.isoformat() == "2027-03-26T08:00:00+00:00"
    assert monday.isoformat() == "2027-03-29T08:00:00+01:00"
    assert monday.astimezone(UTC).hour == 7
    for minute in (0, 480, 2 * DAY + 600, 3 * DAY + 480, 3 * DAY + 959):
        assert problem.minute_of(problem.at(minute)) == minute
    # an instant given in UTC lands on the local wall clock
    assert problem.minute_of(datetime(2027, 3, 29, 7, 0, tzinfo=UTC)) == 3 * DAY + 480
    assert problem.minute_of(datetime(2027, 3, 25, 23, 0, tzinfo=UTC)) == -60


def test_csv_rows_carry_their_offsets_through_the_summer_change() -> None:
    """A horizon over the spring change: Friday's times are +00:00, Monday's +01:00."""
    weekdays = frozenset(range(1, 6))
    op = Operative(7, "Jo", frozenset({"joiner"}), 430_000, 430_000, 480, 960, weekdays)
    jobs = (
        Job(1, 430_000, 430_000, "joiner", 30, 600, "urgent", fixed=(7, 480)),
        Job(2, 430_100, 430_000, "joiner", 30, 3 * DAY + 600, "urgent", window=(480, 540)),
    )
    problem = Problem(date(2027, 3, 26), 4, (op,), jobs)
    result = plan.to_dict(problem, solve(problem, seconds=0.5))
    assert result["violations"] == []
    rows = plan.to_csv(result).splitlines()[1:]
    assert any(re.search(r",2027-03-26T08:00:00\+00:00,", r) for r in rows)
    monday = next(v for v in result["visits"] if v["work_order_id"] == 2)
    assert monday["start"].isoformat().endswith("+01:00")
    assert monday["start"].date() == date(2027, 3, 29)
    assert time(8) <= monday["start"].time() <= time(8, 30)
