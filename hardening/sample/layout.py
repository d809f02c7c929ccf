"""Street layout: each neighbourhood grows 250 m cells of streets around its real centre.

A cell holds a few parallel streets (gently bent on estates and in suburbs) and a spine street
across their ends, turned to the neighbourhood's grain. Cells go to the nearest neighbourhood
(distance weighted by its share, with noise for ragged edges) until every neighbourhood has
room for its addresses; house slots then line both sides of each street, numbered odd/even.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import shapely

from hardening.sample.spec import CHARACTERS, Town
from hardening.sample.util import FloatArray, IntArray

CELL: Final = 250.0
HALF_ROOM: Final = 135.0  # a rotated cell may overhang its square a little
END_MARGIN: Final = 12.0  # no house closer than this to a street's end


@dataclass(frozen=True)
class Layout:
    streets: int  # parallel streets per cell
    between: float  # metres between parallel streets
    spacing: float  # metres between house slots along a street
    setback: float  # metres from the centre line to the house point
    bend: float  # largest sideways bow of a street, metres
    spread_deg: float  # orientation spread around the neighbourhood's grain


LAYOUTS: Final = {
    "centre": Layout(4, 55.0, 6.0, 6.0, 2.0, 6.0),
    "terraces": Layout(4, 58.0, 5.5, 5.0, 3.0, 8.0),
    "estate": Layout(3, 75.0, 9.0, 9.0, 25.0, 25.0),
    "suburb": Layout(3, 80.0, 13.0, 10.0, 18.0, 20.0),
}


@dataclass
class StreetSet:
    """Streets of every town as parallel arrays (one entry per street)."""

    town: list[int] = field(default_factory=list)
    nbhd: list[int] = field(default_factory=list)  # index into the town's neighbourhoods
    character: list[int] = field(default_factory=list)  # index into CHARACTERS
    cell: list[int] = field(default_factory=list)  # growth order of the cell, per town
    x0: list[float] = field(default_factory=list)
    y0: list[float] = field(default_factory=list)
    ux: list[float] = field(default_factory=list)
    uy: list[float] = field(default_factory=list)
    length: list[float] = field(default_factory=list)
    bow: list[float] = field(default_factory=list)
    sides: list[int] = field(default_factory=list)  # 0 both, -1 right only
    spacing: list[float] = field(default_factory=list)  # metres between house slots

    def add(self, **values: float | int | bool) -> None:
        for key, value in values.items():
            getattr(self, key).append(value)

    def __len__(self) -> int:
        return len(self.town)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.__dict__.items()}


def _slots_per_side(length: float, spacing: float) -> int:
    return max(1, int((length - 2 * END_MARGIN) // spacing) + 1)


def _street_length(theta: float, half_width: float) -> float:
    """Half-length that keeps the rotated rectangle of streets inside the cell's room."""
    c, s = abs(math.cos(theta)), abs(math.sin(theta))
    limits = [(HALF_ROOM - half_width * s) / c if c > 1e-9 else math.inf]
    limits.append((HALF_ROOM - half_width * c) / s if s > 1e-9 else math.inf)
    return max(40.0, min(limits) - 5.0)


def _cell_streets(
    rng: np.random.Generator,
    out: StreetSet,
    town_i: int,
    nbhd_i: int,
    cell_order: int,
    centre: tuple[float, float],
    character: str,
    grain: float,
    density: float,
) -> int:
    """Add one cell's streets; returns how many house slots they hold."""
    layout = LAYOUTS[character]
    spacing = layout.spacing / density
    kind = CHARACTERS.index(character)
    theta = grain + math.radians(rng.normal(0.0, layout.spread_deg))
    ux, uy = math.cos(theta), math.sin(theta)
    nx, ny = -uy, ux
    half_w = (layout.streets - 1) / 2 * layout.between
    half_l = _street_length(theta, half_w + layout.setback)
    slots = 0
    for k in range(layout.streets):
        off = (k - (layout.streets - 1) / 2) * layout.between
        length = 2 * half_l * rng.uniform(0.9, 1.0)
        cx, cy = centre[0] + nx * off, centre[1] + ny * off
        out.add(
            town=town_i,
            nbhd=nbhd_i,
            character=kind,
            cell=cell_order,
            x0=cx - ux * length / 2,
            y0=cy - uy * length / 2,
            ux=ux,
            uy=uy,
            length=length,
            bow=rng.uniform(-layout.bend, layout.bend),
            sides=0,
            spacing=spacing,
        )
        slots += 2 * _slots_per_side(length, spacing)
    # The spine runs along the normal across the streets' ends (either end); houses face out.
    end = half_l if rng.random() < 0.5 else -half_l
    length = 2 * half_w
    sx, sy = centre[0] + ux * end - nx * half_w, centre[1] + uy * end - ny * half_w
    if end < 0:  # keep its houses on the outer side: run it the other way
        sx, sy, nx, ny = sx + nx * length, sy + ny * length, -nx, -ny
    out.add(
        town=town_i,
        nbhd=nbhd_i,
        character=kind,
        cell=cell_order,
        x0=sx,
        y0=sy,
        ux=nx,
        uy=ny,
        length=length,
        bow=0.0,
        sides=-1,
        spacing=spacing,
    )
    return slots + _slots_per_side(length, spacing)


def grow_town(
    rng: np.random.Generator,
    out: StreetSet,
    town_i: int,
    town: Town,
    slot_targets: list[int],
    taken: set[tuple[int, int]],
    room: shapely.Geometry,
    density: float = 1.0,
) -> None:
    """Give each neighbourhood cells of streets until it has slot_targets[i] house slots.

    density < 1 spaces houses further apart along the streets, so that a small sample still
    covers the towns' real extent.
    """
    nb = town.neighbourhoods
    nx = np.array([n.x for n in nb])
    ny = np.array([n.y for n in nb])
    w = np.sqrt(np.array([n.weight for n in nb]))
    grains = rng.uniform(0.0, math.pi / 2, size=len(nb))
    have = [0] * len(nb)
    order = 0
    radius = float(np.hypot(nx - town.x, ny - town.y).max()) + 2 * CELL
    while True:
        active = np.array([i for i in range(len(nb)) if have[i] < slot_targets[i]], dtype=int)
        if len(active) == 0:
            return
        cells = _candidates(town, radius, taken, room)
        if len(cells) == 0:
            if radius > 80_000:
                raise RuntimeError(f"no room left to grow {town.name}")
            radius *= 1.3
            continue
        cx, cy = (cells[:, 0] + 0.5) * CELL, (cells[:, 1] + 0.5) * CELL
        dist = np.hypot(cx[:, None] - nx[None, active], cy[:, None] - ny[None, active])
        key = dist / w[None, active] * rng.uniform(0.85, 1.15, size=dist.shape)
        best = active[key.argmin(axis=1)]
        for c in np.argsort(key.min(axis=1), kind="stable").tolist():
            i = int(best[c])
            if have[i] >= slot_targets[i]:
                break  # this neighbourhood is full: rank the rest again without it
            taken.add((int(cells[c, 0]), int(cells[c, 1])))
            have[i] += _cell_streets(
                rng,
                out,
                town_i,
                i,
                order,
                (float(cx[c]), float(cy[c])),
                nb[i].character,
                grains[i],
                density,
            )
            order += 1
        else:
            radius *= 1.3  # every candidate used: look further out


def _candidates(
    town: Town, radius: float, taken: set[tuple[int, int]], room: shapely.Geometry
) -> IntArray:
    """Free grid cells within radius of the town centre whose centre lies in room."""
    lo_i, hi_i = int((town.x - radius) // CELL), int((town.x + radius) // CELL)
    lo_j, hi_j = int((town.y - radius) // CELL), int((town.y + radius) // CELL)
    ii, jj = np.meshgrid(np.arange(lo_i, hi_i + 1), np.arange(lo_j, hi_j + 1), indexing="ij")
    cells = np.column_stack([ii.ravel(), jj.ravel()])
    cx, cy = (cells[:, 0] + 0.5) * CELL, (cells[:, 1] + 0.5) * CELL
    keep = np.hypot(cx - town.x, cy - town.y) <= radius
    keep &= shapely.contains_xy(room, cx, cy)
    if taken:
        keep &= np.array([(a, b) not in taken for a, b in cells.tolist()], dtype=bool)
    return np.asarray(cells[keep], dtype=np.int64)


@dataclass(frozen=True)
class Slots:
    """House slots along the streets: where an addressable building can stand."""

    street: IntArray
    x: FloatArray
    y: FloatArray
    number: IntArray
    along: FloatArray  # metres from the street's start


def house_slots(rng: np.random.Generator, streets: dict[str, np.ndarray]) -> Slots:
    """Slots on both sides (odd numbers left, even right; spines one side, numbered in turn)."""
    spacing = streets["spacing"].astype(float)
    setback = np.array([LAYOUTS[c].setback for c in CHARACTERS])[streets["character"]]
    length = streets["length"].astype(float)
    per_side = np.maximum(1, ((length - 2 * END_MARGIN) // spacing).astype(np.int64) + 1)
    both = streets["sides"] == 0
    counts = np.where(both, 2 * per_side, per_side)
    street = np.repeat(np.arange(len(length)), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    j = np.arange(len(street)) - start  # index within the street
    two = both[street]
    k = np.where(two, j // 2, j)  # position along the street
    side = np.where(two, np.where(j % 2 == 0, 1.0, -1.0), -1.0)
    number = np.where(two, np.where(side > 0, 2 * k + 1, 2 * k + 2), k + 1)
    wobble = rng.uniform(-0.12, 0.12, size=len(street)) * spacing[street]
    t = END_MARGIN + k * spacing[street] + np.where(k > 0, wobble, 0.0)
    t = np.minimum(t, length[street] - END_MARGIN / 2)
    ux, uy = streets["ux"][street], streets["uy"][street]
    bow = streets["bow"][street] * np.sin(np.pi * t / length[street])
    off = side * setback[street] + bow
    x = streets["x0"][street] + ux * t - uy * off
    y = streets["y0"][street] + uy * t + ux * off
    return Slots(street, x, y, number.astype(np.int64), t)


def street_coords(
    streets: dict[str, np.ndarray], i: int, vertices: int = 7
) -> list[tuple[float, float]]:
    """The centre line of street i as a bowed polyline."""
    t = np.linspace(0.0, float(streets["length"][i]), vertices)
    off = float(streets["bow"][i]) * np.sin(np.pi * t / float(streets["length"][i]))
    ux, uy = float(streets["ux"][i]), float(streets["uy"][i])
    x = float(streets["x0"][i]) + ux * t - uy * off
    y = float(streets["y0"][i]) + uy * t + ux * off
    return list(zip(x.tolist(), y.tolist(), strict=True))
