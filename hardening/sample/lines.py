"""County lines: a few embedded lines per area, each working some hot spots, with histories.

South Cumbria starts with about seven lines (as the partnership counted) and Carlisle four;
over the two years some are disrupted, some come back, some close and new ones arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np

from hardening.sample.events import DAYS, HotSpots
from hardening.sample.names import LINE_NAMES, LINE_ORIGINS
from hardening.sample.spec import TOWNS, WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import IntArray

LINES_PER_AREA: Final = {"south-cumbria": 7, "carlisle": 4}
DISRUPTED: Final = (
    "Warrant executed; line holder arrested",
    "Runners safeguarded and phone seized",
    "Address closure order granted",
)
RESTARTED: Final = "Line re-established with new runners"
CLOSED: Final = ("No activity since disruption; closed at tasking review", "Deal line ceased")


@dataclass
class Lines:
    table: Table
    status: Table
    live: tuple[IntArray, IntArray]  # first and last active day of each line


def _day(d: int) -> str:
    return (WINDOW_START + timedelta(days=int(d))).isoformat()


def build(rng: np.random.Generator, spots: HotSpots, n_addresses: int) -> Lines:
    scale = max(1.0, math.sqrt(n_addresses / 20_000))
    names: list[str] = []
    areas: list[str] = []
    origins: list[str] = []
    firsts: list[int] = []
    lasts: list[int] = []
    status: list[tuple[int, str, str, str]] = []
    for area, base in LINES_PER_AREA.items():
        embedded = round(base * scale)
        count = embedded + round(2 * scale)  # and a couple that arrive during the window
        area_spots = np.flatnonzero(
            np.array([TOWNS[t].area_id for t in spots.town.tolist()]) == area
        )
        for k in range(count):
            line = len(names)
            word = LINE_NAMES[line % len(LINE_NAMES)]
            names.append(f"{word} line" if line < len(LINE_NAMES) else f"{word} {line} line")
            areas.append(area)
            origins.append(str(rng.choice(LINE_ORIGINS)))
            if k < embedded:
                first = int(rng.integers(-500, -30))
            else:
                first = int(rng.integers(60, DAYS - 60))
            history = [(first, "active", "First intelligence of the line in the area")]
            last = DAYS - 1 - int(rng.integers(0, 20))
            day = first
            if rng.random() < 0.6:
                day = max(first, 0) + int(rng.integers(60, 300))
                if day < DAYS - 10:
                    history.append((day, "disrupted", str(rng.choice(DISRUPTED))))
                    if rng.random() < 0.5:
                        day += int(rng.integers(20, 90))
                        if day < DAYS - 5:
                            history.append((day, "active", RESTARTED))
                    else:
                        day += int(rng.integers(60, 150))
                        if day < DAYS - 5:
                            history.append((day, "closed", str(rng.choice(CLOSED))))
                            last = day - int(rng.integers(10, 40))
            elif rng.random() < 0.2:
                day = max(first, 0) + int(rng.integers(120, 400))
                if day < DAYS - 5:
                    history.append((day, "closed", CLOSED[1]))
                    last = day - int(rng.integers(10, 40))
            firsts.append(first)
            lasts.append(max(last, first + 1))
            status.extend((line + 1, s, _day(d), note) for d, s, note in history)
        # Every hot spot of the area is worked by one of its lines.
        area_lines = np.arange(len(names) - count, len(names))
        spots.line[area_spots] = area_lines[rng.permutation(len(area_spots)) % count]
    ids = list(range(1, len(names) + 1))
    table = Table.of(
        "county_lines",
        line_id=ids,
        name=names,
        area_id=areas,
        origin=origins,
        first_seen=[_day(d) for d in firsts],
        last_seen=[_day(d) for d in lasts],
    )
    cols = list(zip(*status, strict=True))
    status_table = Table.of(
        "county_line_status", line_id=cols[0], status=cols[1], valid_from=cols[2], note=cols[3]
    )
    return Lines(table, status_table, (np.array(firsts), np.array(lasts)))
