"""Dealing hot spots, county lines and incidents that cluster in space and time around them.

Incidents come from three processes over the 24 months to the reference date: a background
spread over all homes (more in deprived zones), hot-spot events (Gaussian around stations, town
centres and deprived estates, while each hot spot is active) and near repeats (after an event,
another within ~70 m and ~10 days). Events snap to the nearest building, as police.uk points
do; address-specific ones (cuckooing, threats to life...) keep the UPRN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely

from hardening.incidents import INCIDENT_CATEGORIES
from hardening.sample.addresses import Addresses
from hardening.sample.geography import Hub
from hardening.sample.spec import REFERENCE_DATE, SOURCE, TOWNS, WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import (
    FloatArray,
    IntArray,
    ObjArray,
    choose,
    nullable,
    points_ewkt,
)
from hardening.sample.util import utc_text as utc
from hardening.sample.zones import Zones

DAYS: Final = (REFERENCE_DATE - WINDOW_START).days + 1
CATEGORIES: Final = INCIDENT_CATEGORIES  # index order drives BACKGROUND_P below
BACKGROUND_P: Final = (0.002, 0.01, 0.02, 0.05, 0.002, 0.26, 0.02, 0.36, 0.09, 0.02, 0.166)
HOTSPOT_P: Final = (0.04, 0.03, 0.3, 0.17, 0.008, 0.15, 0.06, 0.17, 0.03, 0.04, 0.0)
CRIME_TYPE: Final = (
    "Cuckooing",
    "Child criminal exploitation",
    "Drugs",
    "Drugs",
    "Threat to life",
    "Violence and sexual offences",
    "Possession of weapons",
    "Anti-social behaviour",
    "Burglary",
    "Robbery",
    "Other crime",
)
OTHER_CRIME: Final = (
    "Criminal damage and arson", "Public order", "Shoplifting", "Vehicle crime", "Other theft",
)  # fmt: skip
AT_ADDRESS_P: Final = (1.0, 1.0, 0.6, 0.15, 1.0, 0.15, 0.15, 0.15, 1.0, 0.15, 0.15)
LINE_CATEGORIES: Final = (0, 1, 2, 3, 4, 6)
INTEL_CATEGORIES: Final = (0, 1, 2, 6)
OUTCOMES: Final = (
    "Investigation complete; no suspect identified",
    "Under investigation",
    "Unable to prosecute suspect",
    "Awaiting court outcome",
    "Offender given a caution",
    "Local resolution",
    "Offender sent to prison",
    "Further action is not in the public interest",
)
# Events per hour of the day: quiet mornings, busy evenings.
HOUR_P: Final = np.array(
    [3, 2, 2, 1, 1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 5, 6, 7, 7, 8, 8, 8, 7, 6, 4], dtype=float
)
EVENTS_PER_ADDRESS: Final = 0.32
NEAR_REPEAT_M: Final = 70.0
NEAR_REPEAT_DAYS: Final = 10.0


@dataclass
class HotSpots:
    x: FloatArray
    y: FloatArray
    sigma: FloatArray
    weight: FloatArray
    start: IntArray  # first active day (0 = WINDOW_START)
    end: IntArray  # last active day
    town: IntArray
    kind: ObjArray  # station, centre or estate
    line: IntArray  # county line index, -1 for none


@dataclass(frozen=True)
class _Spot:
    x: float
    y: float
    sigma: float
    weight: float
    start: int
    end: int
    town: int
    kind: str


def hot_spots(
    rng: np.random.Generator, addr: Addresses, zones: Zones, stations: list[Hub]
) -> HotSpots:
    """Just off each station towards town, each town centre, and deprived estates for a while."""
    spots: list[_Spot] = []
    for h in stations:
        if h.kind == "rail_station":
            t = TOWNS[h.town]
            dx, dy = t.x - h.x, t.y - h.y
            d = max(float(np.hypot(dx, dy)), 1.0)
            step = min(120.0, d / 2)
            weight = 1.3 if h.code == "ROO" else 1.0
            x, y = h.x + dx / d * step, h.y + dy / d * step
            spots.append(_Spot(x, y, 150.0, weight, 0, DAYS - 1, h.town, "station"))
    for i, t in enumerate(TOWNS):
        spots.append(_Spot(t.x, t.y, 200.0, 1.0, 0, DAYS - 1, i, "centre"))
    deciles = zones.address_deciles()
    homes = np.flatnonzero((addr.parent < 0) & (addr.kind != "commercial"))
    for i in range(len(TOWNS)):
        pool = homes[addr.town[homes] == i]
        n = max(1, round(int((addr.town == i).sum()) / 2500))
        w = (11.0 - deciles[pool]) ** 3 * np.where(addr.tenure[pool] == "social_rented", 2.0, 1.0)
        for j in rng.choice(pool, size=n, replace=False, p=w / w.sum()).tolist():
            start = int(rng.integers(0, DAYS - 120))
            end = min(DAYS - 1, start + int(rng.integers(180, 541)))
            sigma, weight = float(rng.uniform(100, 200)), float(rng.uniform(0.4, 0.9))
            spots.append(_Spot(addr.x[j], addr.y[j], sigma, weight, start, end, i, "estate"))

    def col(name: str) -> np.ndarray:
        return np.array([getattr(s, name) for s in spots])

    return HotSpots(
        col("x"), col("y"), col("sigma"), col("weight"), col("start"), col("end"), col("town"),
        col("kind").astype(object), np.full(len(spots), -1),
    )  # fmt: skip


class Snapper:
    """Nearest building to a point; for a block, one of its flats at random."""

    def __init__(self, addr: Addresses) -> None:
        self.buildings = np.flatnonzero(addr.parent < 0)
        self.tree = shapely.STRtree(shapely.points(addr.x[self.buildings], addr.y[self.buildings]))
        self.flats = np.bincount(addr.parent[addr.parent >= 0], minlength=len(addr))

    def snap(
        self, rng: np.random.Generator, x: FloatArray, y: FloatArray, into_flats: bool = True
    ) -> IntArray:
        _, hit = self.tree.query_nearest(shapely.points(x, y), all_matches=False)
        b = self.buildings[hit]
        if not into_flats:
            return b  # type: ignore[no-any-return]
        n = self.flats[b]
        pick = (rng.random(len(b)) * n).astype(np.int64) + 1
        return np.where(n > 0, b + pick, b)  # type: ignore[no-any-return]


@dataclass
class Incidents:
    address: IntArray  # row index of the address the event snapped to
    category: IntArray
    seconds: IntArray  # since WINDOW_START midnight UTC
    spot: IntArray  # hot spot, -1 for background
    intel: np.ndarray  # bool: an intelligence report, not a recorded incident
    at_address: np.ndarray  # bool: about that very address (keeps its UPRN)


def incidents(
    rng: np.random.Generator, addr: Addresses, zones: Zones, spots: HotSpots, snap: Snapper
) -> Incidents:
    total = round(EVENTS_PER_ADDRESS * len(addr))
    n_bg, n_hs = round(total * 0.52), round(total * 0.28)  # the rest: near repeats
    # Background: any home, more in deprived zones.
    w = 1.0 + 0.35 * (10 - zones.address_deciles())
    bg_addr = rng.choice(len(addr), size=n_bg, p=w / w.sum())
    bg_day = rng.integers(0, DAYS, size=n_bg)
    bg_cat = choose(rng, range(len(CATEGORIES)), BACKGROUND_P, n_bg).astype(np.int64)
    # Hot spots: share by weight x days active, Gaussian around the spot while it is active.
    active = spots.end - spots.start + 1
    per = rng.multinomial(n_hs, spots.weight * active / (spots.weight * active).sum())
    spot = np.repeat(np.arange(len(per)), per)
    hx = spots.x[spot] + rng.normal(0.0, 1.0, len(spot)) * spots.sigma[spot]
    hy = spots.y[spot] + rng.normal(0.0, 1.0, len(spot)) * spots.sigma[spot]
    hs_addr = snap.snap(rng, hx, hy)
    hs_day = spots.start[spot] + (rng.random(len(spot)) * active[spot]).astype(np.int64)
    hs_cat = choose(rng, range(len(CATEGORIES)), HOTSPOT_P, len(spot)).astype(np.int64)
    # Near repeats: parents picked (hot-spot events three times as likely), then nearby, soon.
    address = np.concatenate([bg_addr, hs_addr])
    day = np.concatenate([bg_day, hs_day])
    cat = np.concatenate([bg_cat, hs_cat])
    origin = np.concatenate([np.full(n_bg, -1), spot])
    pw = np.where(origin >= 0, 3.0, 1.0)
    parent = rng.choice(len(address), size=total - n_bg - n_hs, p=pw / pw.sum())
    nx = addr.x[address[parent]] + rng.normal(0.0, NEAR_REPEAT_M, len(parent))
    ny = addr.y[address[parent]] + rng.normal(0.0, NEAR_REPEAT_M, len(parent))
    nr_day = day[parent] + rng.exponential(NEAR_REPEAT_DAYS, len(parent)).astype(np.int64)
    same = rng.random(len(parent)) < 0.6
    nr_cat = np.where(
        same, cat[parent], choose(rng, range(len(CATEGORIES)), HOTSPOT_P, len(parent))
    )
    ok = nr_day < DAYS
    address = np.concatenate([address, snap.snap(rng, nx, ny)[ok]])
    day = np.concatenate([day, nr_day[ok]])
    cat = np.concatenate([cat, nr_cat[ok].astype(np.int64)])
    origin = np.concatenate([origin, origin[parent][ok]])
    hour = rng.choice(24, size=len(day), p=HOUR_P / HOUR_P.sum())
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=len(day))
    intel = (origin >= 0) & np.isin(cat, INTEL_CATEGORIES) & (rng.random(len(day)) < 0.25)
    seconds = np.where(intel, day * 86400, seconds)  # intelligence is dated to the day
    at_address = intel & (rng.random(len(day)) < 0.8)
    at_address |= ~intel & (rng.random(len(day)) < np.array(AT_ADDRESS_P)[cat])
    o = np.argsort(seconds, kind="stable")
    return Incidents(address[o], cat[o], seconds[o], origin[o], intel[o], at_address[o])


def incidents_table(
    rng: np.random.Generator,
    inc: Incidents,
    addr: Addresses,
    zones: Zones,
    spots: HotSpots,
    line_live: tuple[IntArray, IntArray],
) -> Table:
    n = len(inc.category)
    a, at_address = inc.address, inc.at_address
    # Street-level events sit a few metres off the building, as anonymised map points do.
    x = addr.x[a] + np.where(at_address, 0.0, rng.normal(0.0, 12.0, n))
    y = addr.y[a] + np.where(at_address, 0.0, rng.normal(0.0, 12.0, n))
    location = np.where(at_address, addr.line[a], "On or near " + addr.street_name[a])
    day = inc.seconds // 86400
    line = np.where(inc.spot >= 0, spots.line[np.maximum(inc.spot, 0)], -1)
    first, last = line_live
    live = (line >= 0) & np.isin(inc.category, LINE_CATEGORIES)
    live &= (day >= first[np.maximum(line, 0)]) & (day <= last[np.maximum(line, 0)])
    grading = (
        choose(rng, "123", (0.2, 0.6, 0.2), n)
        + "/"
        + choose(rng, "ABCDE", (0.1, 0.35, 0.35, 0.15, 0.05), n)
        + "/"
        + choose(rng, "PC", (0.85, 0.15), n)
    )
    asb = inc.category == CATEGORIES.index("asb")
    outcome = choose(rng, OUTCOMES, (30, 12, 18, 6, 6, 10, 4, 4), n)
    crime_type = np.array(CRIME_TYPE, dtype=object)[inc.category]
    other = inc.category == CATEGORIES.index("other_crime")
    crime_type[other] = choose(rng, OTHER_CRIME, (4, 3, 3, 2, 2), int(other.sum()))
    crime_type[inc.intel] = "Intelligence report"
    ids = np.arange(1, n + 1)
    return Table.of(
        "incidents",
        incident_id=ids,
        source=np.full(n, SOURCE, dtype=object),
        source_ref=np.char.mod("INC-%07d", ids).astype(object),
        kind=np.where(inc.intel, "intelligence", "incident").astype(object),
        category=np.array(CATEGORIES, dtype=object)[inc.category],
        crime_type=crime_type,
        occurred_at=utc(inc.seconds, WINDOW_START),
        time_precision=np.where(inc.intel, "day", "exact").astype(object),
        grading=nullable(grading, inc.intel),
        uprn=nullable(addr.uprn[a].astype(object), at_address),
        location_text=location.astype(object),
        lsoa_code=zones.address_codes()[a],
        county_line_id=nullable((line + 1).astype(object), live),
        outcome=nullable(outcome, ~inc.intel & ~asb),
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[addr.town[a]],
        geom=points_ewkt(x, y),
    )
