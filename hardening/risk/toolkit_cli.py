"""`hardening risk nearrepeat` and `hardening risk audit`: the analyst's checks on the ranking
(near repeats by the Knox test, fairness by group). Registered on the `risk` app (cli.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from hardening.clikit import JsonOption, emit, system_connection
from hardening.errors import UserInputError
from hardening.risk import groups, nearrepeat
from hardening.risk.cli import (
    L2,
    Area,
    Categories,
    CrimeTypes,
    Horizon,
    Month,
    UnitsChoice,
    UnitsOpt,
    _spec,
    app,
)
from hardening.risk.events import selector_for, split_list
from hardening.risk.fit import add_months, month_start


class TimeUnitChoice(StrEnum):
    day = "day"
    month = "month"


EventTypes = Annotated[
    str | None,
    typer.Option("--crime-types", help="Crime types of the events, comma-separated (police.uk)."),
]
EventCategories = Annotated[
    str | None,
    typer.Option("--categories", help="Categories of the events, comma-separated (e.g. asb)."),
]


@app.command("nearrepeat")
def near_repeat(
    crime_types: EventTypes = None,
    categories: EventCategories = None,
    distance_bands: Annotated[
        str, typer.Option("--distance-bands", help="Metres, band edges: [0,100), [100,200)...")
    ] = "0,100,200,400,800",
    time_bands: Annotated[
        str | None,
        typer.Option(
            "--time-bands",
            help="Band edges in --time-unit (default 0,7,14,30,60 days; 0,1,2,3 "
            "months: 0-1 is the same month).",
        ),
    ] = None,
    time_unit: Annotated[
        TimeUnitChoice,
        typer.Option("--time-unit", help="day (dated incidents) or month (police.uk)."),
    ] = TimeUnitChoice.day,
    iterations: Annotated[
        int, typer.Option("--iterations", min=0, max=99_999, help="Monte Carlo simulations.")
    ] = 999,
    area: Area = None,
    start: Annotated[str | None, typer.Option(help="YYYY-MM: first month (default: all).")] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM: last month (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulations (repeatable).")] = 0,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="PNG heat map of the Knox ratios.")
    ] = Path("artifacts/risk_nearrepeat.png"),
    as_json: JsonOption = False,
) -> None:
    """Knox test: pairs of events close in space and time against what chance gives (observed,
    expected, ratio and Monte Carlo p-value per distance x time band)."""
    selector = selector_for(split_list(crime_types), split_list(categories))
    first = None if start is None else month_start(start)
    after = None if end is None else add_months(month_start(end), 1)
    with system_connection() as conn:
        report = nearrepeat.analyse(
            conn, selector, distance_bands, time_bands,
            time_unit.value, iterations, area, first, after, seed, chart,
        )  # fmt: skip
    emit(report, as_json, _knox_text)


def _knox_text(d: dict[str, Any]) -> str:
    unit = d["time_unit"]
    lines = [
        f"{d['events']:,} events ({d['first_event']} to {d['last_event']}), "
        f"{d['iterations']:,} simulations; Knox ratio per band (* p < 0.05):",
        f"  {'distance (m)':<14}" + "".join(f"{_band(c):>12}" for c in _row(d, 0)) + f"  {unit}s",
    ]
    for distance in d["distance_bands"][:-1]:
        row = [c for c in d["cells"] if c["distance_from"] == distance]
        lines.append(
            f"  {_dband(row[0]):<14}"
            + "".join(
                f"{'-' if c['ratio'] is None else format(c['ratio'], '.2f')}"
                f"{'*' if c['p_value'] < 0.05 else ' '}".rjust(12)
                for c in row
            )
        )
    window = d["significant_window"]
    lines.append(
        "no significant near repeat at the closest band"
        if window is None
        else f"near-repeat window: {window['distance_m']:g} m, {window['time']:g} {unit}s"
    )
    if "chart" in d:
        lines.append(f"chart: {d['chart']}")
    return "\n".join(lines)


def _row(d: dict[str, Any], index: int) -> list[dict[str, Any]]:
    return [c for c in d["cells"] if c["distance_from"] == d["distance_bands"][index]]


def _band(c: dict[str, Any]) -> str:
    return f"{c['time_from']:g}-{c['time_to']:g}"


def _dband(c: dict[str, Any]) -> str:
    return f"{c['distance_from']:g}-{c['distance_to']:g}"


@app.command("audit")
def audit(
    train_start: Month,
    train_end: Month,
    test_start: Month,
    test_end: Month,
    units: UnitsOpt = UnitsChoice.addresses,
    crime_types: CrimeTypes = None,
    categories: Categories = None,
    area: Area = None,
    l2: L2 = 1.0,
    horizon: Horizon = 1,
    share: Annotated[
        float, typer.Option("--share", min=0.1, max=50.0, help="Percent of units flagged.")
    ] = 5.0,
    as_json: JsonOption = False,
) -> None:
    """Fairness by group: the flagged top share of each backtest month by IMD decile, tenure
    and area, against each group's share of the later outcomes (fairlearn MetricFrame)."""
    if crime_types is None and categories is None:
        raise UserInputError("name the outcome: --crime-types and/or --categories")
    spec = _spec(
        units, (train_start, train_end), (test_start, test_end), (crime_types, categories),
        area, l2, horizon,
    )  # fmt: skip
    with system_connection() as conn:
        report = groups.run(conn, spec, share / 100)
    emit(report, as_json, _audit_text)


def _audit_text(d: dict[str, Any]) -> str:
    lines = [
        f"top {d['share_flagged'] * 100:g}% of {d['units']} flagged in {', '.join(d['months'])}: "
        f"{d['units_flagged']:,} units, {d['outcome_events']:,} later outcome events"
    ]
    for name, t in d["by"].items():
        lines.append(f"by {name.replace('_', ' ')}: share flagged / share of outcomes, hit rate")
        for g in t["groups"]:
            mark = "  OVER-FLAGGED" if g["over_flagged"] else ""
            lines.append(
                f"  {g['group']:<32} {g['share_of_flagged']:>7.1%} / "
                f"{g['share_of_outcomes']:>7.1%}  ratio {g['flag_ratio']}  "
                f"hit {g['hit_rate']}{mark}"
            )
    return "\n".join(lines)
