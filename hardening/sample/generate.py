"""Build the whole sample town for (addresses, seed): same inputs, same tables, byte for byte.

Each stage draws from its own child of the seed (numpy SeedSequence.spawn), so a change in how
one stage uses randomness does not reshuffle the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely

from hardening.errors import UserInputError
from hardening.sample import addresses as addresses_mod
from hardening.sample import (
    buildings,
    cameras,
    casework,
    events,
    geography,
    layout,
    lines,
    markers,
    naming,
    partners,
    site_dates,
    training,
    works,
    zones,
)
from hardening.sample.spec import (
    CHARACTERS,
    DEFAULT_ADDRESSES,
    DEFAULT_SEED,
    MAX_ADDRESSES,
    MIN_ADDRESSES,
    TOWNS,
)
from hardening.sample.table import TABLE_NAMES, Table

# About the real number of homes in the four towns: a smaller sample spreads its houses thinner
# over the same streets, a bigger one grows the towns outwards.
FULL_TOWNS: Final = 90_000
STAGES = (
    "layout",
    "names",
    "addresses",
    "zones",
    "events",
    "lines",
    "partners",
    "visits",
    "markers",
    "works",
    "roads",
    "cameras",
    "site_dates",
    "training",
    "naming",  # last: a stage added later leaves the streams of the others as they were
)


@dataclass
class SampleSet:
    seed: int
    addresses: int
    tables: dict[str, Table]  # in load (foreign-key) order
    hot_spots: events.HotSpots

    def counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self.tables.items()}


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of total in proportion to weights (sums exactly to total)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: total - int(out.sum())]] += 1
    return [int(v) for v in out]


def targets(n: int) -> dict[tuple[int, int], int]:
    """Addresses wanted per (town, neighbourhood)."""
    out = {}
    for t, (town, count) in enumerate(zip(TOWNS, _split(n, [t.share for t in TOWNS]), strict=True)):
        per = _split(count, [nb.weight for nb in town.neighbourhoods])
        out.update({(t, i): c for i, c in enumerate(per)})
    return out


def check_size(n: int) -> None:
    if not MIN_ADDRESSES <= n <= MAX_ADDRESSES:
        raise UserInputError(
            f"--addresses must be between {MIN_ADDRESSES:,} and {MAX_ADDRESSES:,} (got {n:,})"
        )


def _streets(
    rng: np.random.Generator, n: int, want: dict[tuple[int, int], int]
) -> dict[str, np.ndarray]:
    """Every town's streets, with room for its neighbourhoods' addresses (and some over)."""
    streets = layout.StreetSet()
    taken: set[tuple[int, int]] = set()
    density = max(0.05, min(1.0, n / FULL_TOWNS))
    for t, town in enumerate(TOWNS):
        room = shapely.buffer(geography.area_polygon(town.area_id), -300.0)
        slot_targets = [
            math.ceil(want[(t, i)] / addresses_mod.per_slot(CHARACTERS.index(nb.character)) * 1.3)
            + 5
            for i, nb in enumerate(town.neighbourhoods)
        ]
        layout.grow_town(rng, streets, t, town, slot_targets, taken, room, density)
    return streets.arrays()


def generate(
    n: int = DEFAULT_ADDRESSES,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> SampleSet:
    check_size(n)
    if seed < 0:
        raise UserInputError(f"--seed must be zero or more (got {seed})")
    say = progress or (lambda _: None)
    seeds = np.random.SeedSequence(seed).spawn(len(STAGES))
    rng = {stage: np.random.default_rng(s) for stage, s in zip(STAGES, seeds, strict=True)}
    want = targets(n)
    say(f"laying out streets for {n:,} addresses")
    streets = _streets(rng["layout"], n, want)
    names = geography.name_streets(rng["names"], streets)
    slots = layout.house_slots(rng["layout"], streets)
    say("placing houses and flats")
    addr = addresses_mod.build(rng["addresses"], streets, names, slots, want)
    addr = naming.name(rng["naming"], addr)
    stations = geography.hubs()
    say("drawing zones and deprivation")
    zone = zones.build(rng["zones"], addr, stations)
    lsoas, imd = zones.tables(addr, zone)
    say("hot spots, county lines and incidents")
    spots = events.hot_spots(rng["events"], addr, zone, stations)
    line = lines.build(rng["lines"], spots, n)
    snap = events.Snapper(addr)
    inc = events.incidents(rng["events"], addr, zone, spots, snap)
    incidents = events.incidents_table(rng["events"], inc, addr, zone, spots, line.live)
    say("partners, visits, markers and works")
    agreements, agreement_areas = partners.agreements_tables()
    ops = partners.operatives(rng["partners"], addr)
    visit = casework.visits(rng["visits"], addr, zone, inc)
    safe_markers, reviews = markers.markers(rng["markers"], visit, addr)
    kit = works.block_kit(rng["works"], addr)
    orders, installed = works.works(rng["works"], addr, visit, ops, kit)
    used = np.unique(addr.street)
    roads, road_rows = geography.roads(
        rng["roads"], {k: v[used] for k, v in streets.items()}, names[used]
    )
    footprints = buildings.footprints(addr, streets, road_rows)
    built = [
        geography.areas_table(),
        partners.organisations_table(),
        agreements,
        agreement_areas,
        partners.users_table(),
        lsoas,
        imd,
        addresses_mod.postcode_units_table(addr),
        roads,
        geography.hubs_table(stations),
        addresses_mod.addresses_table(addr, zone.address_codes()),
        buildings.buildings_table(footprints, addr),
        line.table,
        line.status,
        incidents,
        ops.table,
        visit.table,
        casework.harm_reduction(rng["visits"], visit),
        casework.protection_plans(rng["visits"], visit, addr),
        casework.referrals(rng["visits"], visit, addr),
        safe_markers,
        reviews,
        orders,
        installed,
    ]
    cctv = cameras.cctv(rng["cameras"], addr, stations, kit, snap)
    anpr = cameras.anpr(rng["cameras"], road_rows, n)
    built += [
        site_dates.cctv(rng["site_dates"], cctv),
        site_dates.anpr(rng["site_dates"], anpr),
        training.sessions(rng["training"]),
    ]
    tables = {t.name: t for t in built}
    assert tuple(tables) == TABLE_NAMES, "tables must come in load order"
    return SampleSet(seed, n, tables, spots)
