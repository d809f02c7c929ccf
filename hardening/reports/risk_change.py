"""The risk distribution at the start and at the end of a year: the town scored by the default
model as of each day (the engine's `as_of`), so the change reflects what happened in the year
(incidents, visits, works) and not a change of model.

Each scoring only counts (`scoring.bands_as_of`): the stored scores and the run history are
left as they were. Scores are computed from all the data, so only the system, analysts and
admins get this section (the engine's own rule for who may score).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from hardening.risk.model import load
from hardening.risk.scoring import bands_as_of
from hardening.security import access

BANDS = ("low", "medium", "high", "very_high")
LONDON = ZoneInfo("Europe/London")


def _bands(conn: Connection, moment: datetime, area: str | None) -> dict[str, int]:
    counts = bands_as_of(conn, area, moment)
    return {b: int(counts.get(b, 0)) for b in BANDS}


def risk_change(conn: Connection, year: int, area: str | None) -> dict[str, Any]:
    """Band counts at 00:00 on 1 January and at the end of 31 December (UK time), raw."""
    if not access.may(conn, "app_writes_scores"):
        return {"available": False, "model": None, "start": None, "end": None}
    start = datetime.combine(date(year, 1, 1), time(0), LONDON)
    end = datetime.combine(date(year + 1, 1, 1), time(0), LONDON)
    return {
        "available": True,
        "model": load(conn, None, store=False).version,
        "start": _bands(conn, start, area),
        "end": _bands(conn, end, area),
    }
