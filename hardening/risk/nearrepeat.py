"""Near-repeat analysis of recorded events: the Knox table of an area's own events (knox.py)
and the space-time window it finds, which `risk fit --near-repeat knox` gives the
`near_repeat` factor.

Times: incidents with a date (the sample's, a force's own records) are measured in days;
police.uk publishes the month only, so its events are measured in whole months (`month`: 0 =
same month, 1 = the next...). Asking for days of month-only events is refused, not guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.risk import knox
from hardening.risk.events import Selector
from hardening.risk.scoring import check_area

TimeUnit = Literal["day", "month"]
DAYS_PER_MONTH = 30.4375
DEFAULT_DISTANCES = (0.0, 100.0, 200.0, 400.0, 800.0)
DEFAULT_TIMES: dict[TimeUnit, tuple[float, ...]] = {
    "day": (0.0, 7.0, 14.0, 30.0, 60.0),
    "month": (0.0, 1.0, 2.0, 3.0),
}
MAX_EVENTS = 200_000


def events(
    conn: Connection,
    selector: Selector,
    area_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """x, y (BNG metres), time in days since 1970 and in months since year 0, and whether
    the event carries only its month, of the selected incidents in [start, end)."""
    predicate, binds = selector.sql("nr", alias="i")
    rows = conn.execute(
        text(
            "SELECT ST_X(i.geom), ST_Y(i.geom), "
            "extract(epoch FROM i.occurred_at) / 86400.0, "
            "extract(year FROM i.occurred_at AT TIME ZONE 'UTC') * 12 "
            "+ extract(month FROM i.occurred_at AT TIME ZONE 'UTC') - 1, "
            "i.time_precision = 'month' "
            "FROM (SELECT geom, occurred_at, time_precision, kind, category, "
            "coalesce(crime_type, '') AS crime_type, area_id FROM incidents) i "
            f"WHERE {predicate} AND (CAST(:area AS text) IS NULL OR i.area_id = :area) "
            "AND (CAST(:start AS timestamptz) IS NULL OR i.occurred_at >= :start) "
            "AND (CAST(:end AS timestamptz) IS NULL OR i.occurred_at < :end) "
            "ORDER BY i.occurred_at LIMIT :cap"
        ),
        {**binds, "area": area_id, "start": start, "end": end, "cap": MAX_EVENTS + 1},
    ).all()
    if len(rows) > MAX_EVENTS:
        raise UserInputError(
            f"more than {MAX_EVENTS:,} events selected: narrow the window (--start/--end) or area"
        )
    data = np.array([r[:4] for r in rows], dtype=np.float64).reshape(len(rows), 4)
    month_only = np.array([bool(r[4]) for r in rows], dtype=bool)
    return data[:, :2], data[:, 2:], month_only


def analyse(
    conn: Connection,
    selector: Selector,
    distance_bands: str | Sequence[float] = DEFAULT_DISTANCES,
    time_bands: str | Sequence[float] | None = None,
    time_unit: TimeUnit = "day",
    iterations: int = 999,
    area_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    seed: int = 0,
    chart: Path | None = None,
) -> dict[str, Any]:
    """The Knox table of the selected events, its significant window and (optionally) a chart."""
    check_area(conn, area_id)
    if start is not None and end is not None and end <= start:
        raise UserInputError("the window must end after it starts")
    d_bands = knox.parse_bands(distance_bands, "distance bands")
    t_bands = knox.parse_bands(time_bands or DEFAULT_TIMES[time_unit], "time bands")
    xy, times, month_only = events(conn, selector, area_id, start, end)
    if time_unit == "day" and month_only.any():
        raise UserInputError(
            f"{int(month_only.sum()):,} of the {len(month_only):,} selected events carry only "
            "their month (police.uk): use --time-unit month"
        )
    t = times[:, 0] if time_unit == "day" else times[:, 1]
    if len(t) < 2:
        raise UserInputError(
            f"the Knox test needs at least 2 events: {len(t)} match the selection "
            f"{selector.to_json()} in {area_id or 'every area'}"
        )
    table = knox.knox(xy, t, d_bands, t_bands, iterations, seed)
    report: dict[str, Any] = {
        "selection": selector.to_json(),
        "area_id": area_id,
        "window": {
            "start": None if start is None else f"{start:%Y-%m-%d}",
            "end": None if end is None else f"{end:%Y-%m-%d}",
        },
        "time_unit": time_unit,
        "distance_unit": "m",
        "distance_bands": list(d_bands),
        "time_bands": list(t_bands),
        "first_event": _when(times, time_unit, 0),
        "last_event": _when(times, time_unit, -1),
        **table,
        "significant_window": knox.significant_window(table["cells"]),
        "seed": seed,
    }
    if chart is not None:
        from hardening.risk.chart import knox_chart

        title = ", ".join(selector.crime_types + selector.categories) or "events"
        report["chart"] = str(knox_chart(report, chart, f"{title} ({len(t):,} events)"))
    return report


def _when(times: np.ndarray[Any, Any], unit: TimeUnit, index: int) -> str:
    if unit == "month":
        months = int(times[index, 1])
        return f"{months // 12:04d}-{months % 12 + 1:02d}"
    return str(np.datetime64(int(times[index, 0] * 86400), "s").astype("datetime64[D]"))


def factor_window(report: dict[str, Any]) -> dict[str, Any] | None:
    """near_repeat parameters (radius_m, window_days) from a Knox report's significant window.
    Months become days; a police.uk event is dated the 1st of its month, so a window of T
    months reaches back T + 1 months from the day the factor is computed."""
    window = report["significant_window"]
    if window is None:
        return None
    months = report["time_unit"] == "month"
    days = (window["time"] + 1) * DAYS_PER_MONTH if months else window["time"]
    return {"radius_m": float(window["distance_m"]), "window_days": max(1, round(days))}


def window_for_fit(
    conn: Connection,
    selector: Selector,
    area_id: str | None,
    start: datetime,
    end: datetime,
    iterations: int = 999,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The training window's own Knox test of the outcome's events (months when any of them
    carries only its month) -> near_repeat parameters (None: keep the defaults) and a summary."""
    _, _, month_only = events(conn, selector, area_id, start, end)
    unit: TimeUnit = "month" if month_only.any() else "day"
    report = analyse(conn, selector, DEFAULT_DISTANCES, None, unit, iterations, area_id, start, end)
    params = factor_window(report)
    summary = {
        "events": report["events"],
        "time_unit": unit,
        "distance_bands": report["distance_bands"],
        "time_bands": report["time_bands"],
        "significant_window": report["significant_window"],
        "near_repeat_parameters": params,
        "note": None
        if params
        else f"no significant near repeat among the window's {report['events']:,} events (one "
        "month has every pair in the same month band: nothing to compare): near_repeat keeps "
        "its defaults",
    }
    return params, summary
