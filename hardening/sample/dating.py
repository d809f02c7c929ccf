"""The sample town, dated to the day it is loaded.

The generator writes the sample for a fixed reference day (spec.REFERENCE_DATE, a Saturday) so a
seed always gives the same files. Loading moves every date and time of the sample by whole weeks
(DATED below lists them all), to the reference weekday on or before the load day: weekdays stay
exact (operatives' rotas, Monday's schedule) and nothing is dated in the future. Times move on the
Europe/London wall clock (a 09:00 job stays at 09:00 across a clock change); incidents, stamped in
UTC, move in UTC.

The shift is fixed by the database's first load and recorded in `sample_dating`; later loads, on
any day, reuse it, so a re-load changes nothing (county_line_status is keyed on a date) and the
town ages like a real one. To date it afresh: `hardening db reset --yes`, then load again. A
database that held the sample before dating existed keeps it as generated (shift 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.sample.files import TableSource
from hardening.sample.spec import REFERENCE_DATE
from hardening.sample.util import LONDON

Kind = Literal["date", "local", "utc"]

# Every date and timestamp column the sample fills, by table (tests compare this with the schema).
DATED: Final[dict[str, dict[str, Kind]]] = {
    "sharing_agreements": {"starts_on": "date", "ends_on": "date", "review_on": "date"},
    "users": {"created_at": "local"},
    "county_lines": {"first_seen": "date", "last_seen": "date"},
    "county_line_status": {"valid_from": "date"},
    "incidents": {"occurred_at": "utc"},
    "visits": {"visited_on": "date", "review_due": "date", "created_at": "local"},
    "protection_plans": {"review_due": "date", "created_at": "local"},
    "referrals": {"made_on": "date", "updated_at": "local"},
    "safe_markers": {
        "created_at": "local",
        "review_due": "date",
        "expires_on": "date",
        "revoked_at": "local",
    },
    "marker_reviews": {"reviewed_at": "local", "new_review_due": "date"},
    "work_orders": {
        "due_at": "local",
        "scheduled_start": "local",
        "scheduled_end": "local",
        "created_at": "local",
        "updated_at": "local",
        "completed_at": "local",
    },
    "installed_measures": {"installed_on": "date"},
    "cctv_sites": {"installed_on": "date", "removed_on": "date"},
    "anpr_sites": {"installed_on": "date", "removed_on": "date"},
    "training_sessions": {"delivered_on": "date", "created_at": "local"},
}


def today() -> date:
    """The load day (a seam tests move)."""
    return date.today()


def week_shift(as_of: date, reference: date = REFERENCE_DATE) -> int:
    """Days to add to the sample's dates: whole weeks, to the last reference weekday on or
    before as_of (negative before the reference day)."""
    return 7 * ((as_of - reference).days // 7)


def _shift_date(value: Any, delta: timedelta) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return (day + delta).isoformat()


def _shift_local(value: Any, delta: timedelta) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    wall = moment.astimezone(LONDON).replace(tzinfo=None) + delta
    return wall.replace(tzinfo=LONDON).isoformat(timespec="seconds")


def _shift_utc(value: Any, delta: timedelta) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(UTC) + delta).isoformat(timespec="seconds")


SHIFTERS: Final[dict[Kind, Callable[[Any, timedelta], str]]] = {
    "date": _shift_date,
    "local": _shift_local,
    "utc": _shift_utc,
}


def _shifted_rows(
    rows: Iterable[tuple[Any, ...]],
    moves: list[tuple[int, Callable[[Any, timedelta], str]]],
    days: int,
) -> Iterator[tuple[Any, ...]]:
    delta = timedelta(days=days)
    for row in rows:
        out = list(row)
        for i, move in moves:
            if out[i] is not None:
                out[i] = move(out[i], delta)
        yield tuple(out)


def shift_sources(sources: Sequence[TableSource], days: int) -> list[TableSource]:
    """The sources with every date and time of DATED moved by days (rows stream as before)."""
    if days == 0:
        return list(sources)
    out = []
    for source in sources:
        dated = DATED.get(source.spec.name, {})
        moves = [(i, SHIFTERS[dated[c]]) for i, c in enumerate(source.spec.columns) if c in dated]
        out.append(
            replace(source, rows=_shifted_rows(source.rows, moves, days)) if moves else source
        )
    return out


@dataclass(frozen=True)
class Dating:
    """How this load dates the sample."""

    shift_days: int
    reference_date: date
    loaded_on: date  # the day the shift was fixed (the first load)
    kept: bool  # True when an earlier load fixed it
    note: str = ""  # something the person loading should know

    @property
    def town_day(self) -> date:
        """The sample's last day (the reference day, moved)."""
        return self.reference_date + timedelta(days=self.shift_days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shift_days": self.shift_days,
            "reference_date": self.reference_date,
            "town_day": self.town_day,
            "dated_on": self.loaded_on,
            "kept_from_earlier_load": self.kept,
        }


_RECORDED = text("SELECT reference_date, shift_days, loaded_on FROM sample_dating WHERE singleton")
_RECORD = text(
    "INSERT INTO sample_dating (reference_date, shift_days, loaded_on) VALUES (:r, :s, :d) "
    "ON CONFLICT (singleton) DO NOTHING"
)
# The sample's own incidents: a database holding them without a recorded dating was loaded
# before dating existed, as generated.
_HOLDS_SAMPLE = text("SELECT EXISTS (SELECT 1 FROM incidents WHERE source = 'sample')")


def resolve(conn: Connection, as_of: date | None, today: date) -> Dating:
    """The shift for this load: the recorded one if any (an explicit as_of must agree with it),
    else the shift to as_of (default today), recorded for later loads. In the load's
    transaction, so a failed load records nothing."""
    if conn.execute(text("SELECT to_regclass('public.sample_dating')")).scalar_one() is None:
        raise UserInputError("the database lacks migration 018: run `hardening db migrate`")
    wanted = None if as_of is None else week_shift(as_of)
    found = conn.execute(_RECORDED).first()
    row: tuple[date, int, date] | None = None if found is None else tuple(found)
    note = ""
    if row is None and conn.execute(_HOLDS_SAMPLE).scalar_one():
        row = (REFERENCE_DATE, 0, today)  # loaded before dating existed: as generated
        conn.execute(_RECORD, {"r": row[0], "s": row[1], "d": row[2]})
        note = (
            "this database held the sample from before loads were dated: its dates stay as "
            f"generated (up to {REFERENCE_DATE}); `hardening db reset --yes` and load again to "
            "date it to this week"
        )
    if row is not None:
        reference, shift, dated_on = row
        if wanted is not None and wanted != shift:
            town = reference + timedelta(days=shift)
            raise UserInputError(
                f"this database holds the sample dated to {town} (first loaded {dated_on}); "
                f"--as-of {as_of} would move it: reset the database (`hardening db reset --yes`) "
                "to load it for another day"
            )
        return Dating(shift, reference, dated_on, kept=True, note=note)
    shift = week_shift(today if as_of is None else as_of)
    loaded_on = today if as_of is None else as_of
    conn.execute(_RECORD, {"r": REFERENCE_DATE, "s": shift, "d": loaded_on})
    return Dating(shift, REFERENCE_DATE, loaded_on, kept=False)
