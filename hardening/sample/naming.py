"""House names, named blocks of flats and localities, as real addresses have them.

HM Land Registry's price-paid addresses (16,609 in ../shared/data/addresses) give the shares:
about one house in sixteen has a name (one detached house in seven, one terrace in fifty),
mostly standing alone ("Rose Cottage, Mill Lane") and about one in seven keeping its number
("Orchard Cottage, 22 Dunham Road"); about a third of flats are in a named building ("Flat 3,
Harbour Court, 12 Dock Street"), some with no number at all ("Flat 4, Avonlea Court,
Cloverdale Drive"). Here houses are named most at the edge of a town and in its suburbs,
purpose-built blocks usually, small conversions ("Flat A, 14 Cross Street") never, and a few
neighbourhoods carry their locality ("Walney"). This stage draws from its own random stream,
so every other table of the town is unchanged by it except where it quotes an address.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

import numpy as np

from hardening.sample.addresses import Addresses
from hardening.sample.names import (
    BLOCK_ENDINGS,
    CLASSIC_HOUSE_NAMES,
    HOUSE_NAME_ENDINGS,
    HOUSE_NAME_WORDS,
    STREET_WORDS,
    TOWER_ENDINGS,
)
from hardening.sample.spec import CHARACTERS, TOWNS
from hardening.sample.util import FloatArray, ObjArray, prefixed

# Chance that a house is named, by character (centre, terraces, estate, suburb) ...
HOUSE_NAME_P: Final = (0.01, 0.01, 0.02, 0.07)
BUNGALOW_EXTRA_P: Final = 0.06
SUPPORTED_NAME_P: Final = 0.3  # supported homes often go by a name ("Fellside")
# ... and up to this much more towards the edge of its town (its outer EDGE_FROM share).
EDGE_EXTRA_P: Final = 0.3
EDGE_FROM: Final = 0.75
HOUSE_NUMBER_KEPT_P: Final = 0.25
CLASSIC_P: Final = 0.15  # names every town has; the rest are a word and an ending
BLOCK_NAME_P: Final = (0.35, 0.05, 0.4, 0.4)  # converted terraces seldom have a name
BLOCK_NUMBER_KEPT_P: Final = 0.6
APARTMENT_P: Final = 0.25  # a named block's flats are "Apartment 5" rather than "Flat 5"
TALL_BLOCK: Final = 36
SMALL_CONVERSION: Final = ("Flat A", "Flat B", "Flat C", "Flat D")


def edge_share(addr: Addresses) -> FloatArray:
    """0 at a town's centre to 1 at its outermost address (rank of the distance, per town)."""
    out = np.zeros(len(addr))
    for t, town in enumerate(TOWNS):
        idx = np.flatnonzero(addr.town == t)
        if len(idx) < 2:
            continue
        d = np.hypot(addr.x[idx] - town.x, addr.y[idx] - town.y)
        out[idx] = np.argsort(np.argsort(d, kind="stable"), kind="stable") / (len(idx) - 1)
    return out


def _house_name(rng: np.random.Generator) -> str:
    if rng.random() < CLASSIC_P:
        return str(rng.choice(CLASSIC_HOUSE_NAMES))
    return f"{rng.choice(HOUSE_NAME_WORDS)} {rng.choice(HOUSE_NAME_ENDINGS)}"


def _block_name(rng: np.random.Generator, character: int, tall: bool) -> str:
    endings = TOWER_ENDINGS if tall else BLOCK_ENDINGS[CHARACTERS[character]]
    return f"{rng.choice(STREET_WORDS)} {rng.choice(endings)}"


def _distinct(
    rows: list[int], scope: list[tuple[int, ...]], draw: Callable[[int], str]
) -> list[str]:
    """A name per row, never one its scope (a street, a town) already has."""
    taken: set[tuple[tuple[int, ...], str]] = set()
    names = []
    for i, key in zip(rows, scope, strict=True):
        for _ in range(50):
            name = draw(i)
            if (key, name) not in taken:
                break
        taken.add((key, name))
        names.append(name)
    return names


def name(rng: np.random.Generator, addr: Addresses) -> Addresses:
    """The addresses with building names, numbers dropped where a name stands alone, some
    flats called apartments, localities, and their full text rewritten to match."""
    n = len(addr)
    kind, char = addr.kind, addr.character
    number = addr.house_number.copy()
    sub = addr.sub_building.copy()
    building: ObjArray = np.full(n, None, dtype=object)
    flat = addr.parent >= 0
    # Houses: suburbs and the edge of town; never a "12A", and a "12" beside one keeps its 12.
    lettered_unit = np.array([str(v).endswith("A") for v in number.tolist()], dtype=bool)
    edge = np.clip((edge_share(addr) - EDGE_FROM) / (1 - EDGE_FROM), 0.0, 1.0)
    p = np.array(HOUSE_NAME_P)[char] + EDGE_EXTRA_P * edge
    p += np.where(kind == "bungalow", BUNGALOW_EXTRA_P, 0.0)
    p = np.where(np.isin(kind, ("house", "bungalow")) & ~lettered_unit, p, 0.0)
    p = np.where(kind == "supported", SUPPORTED_NAME_P, p)
    house = np.flatnonzero(rng.random(n) < p)
    # Blocks: not small conversions (lettered flats), nor the callers' "12 Ramsden Street".
    conversion = np.zeros(n, dtype=bool)
    small = flat & np.isin(sub.astype(str), SMALL_CONVERSION)
    conversion[addr.parent[small]] = True
    example = (addr.street_name == "Ramsden Street") & (number == "12")
    block_p = np.where((kind == "block") & ~conversion & ~example, np.array(BLOCK_NAME_P)[char], 0)
    block = np.flatnonzero(rng.random(n) < block_p)
    flats_in = np.bincount(addr.parent[flat], minlength=n)
    building[house] = _distinct(
        house.tolist(),
        [(int(addr.town[i]), int(addr.street[i])) for i in house.tolist()],
        lambda i: _house_name(rng),
    )
    building[block] = _distinct(
        block.tolist(),
        [(int(addr.town[i]),) for i in block.tolist()],
        lambda i: _block_name(rng, int(char[i]), bool(flats_in[i] >= TALL_BLOCK)),
    )
    # Numbers: most named houses drop theirs; a named block's flats follow the block.
    beside_a = {
        (int(addr.street[i]), str(number[i])[:-1]) for i in np.flatnonzero(lettered_unit).tolist()
    }
    keep = rng.random(n) < np.where(kind == "block", BLOCK_NUMBER_KEPT_P, HOUSE_NUMBER_KEPT_P)
    for i in house.tolist():
        keep[i] |= (int(addr.street[i]), str(number[i])) in beside_a
    named_only = np.zeros(n, dtype=bool)
    named_only[np.concatenate([house, block])] = True
    named_only &= ~keep
    apartments = np.zeros(n, dtype=bool)
    apartments[block[rng.random(len(block)) < APARTMENT_P]] = True
    up = addr.parent[flat]
    building[flat] = building[up]
    named_only[flat] = named_only[up]
    number[named_only] = None
    renamed = flat & apartments[np.maximum(addr.parent, 0)]
    sub[renamed] = np.array(["Apartment " + str(s)[len("Flat ") :] for s in sub[renamed]])
    named = dataclasses.replace(
        addr, house_number=number, sub_building=sub, building_name=building,
        locality=_localities(addr),
    )  # fmt: skip
    town_name = np.array([t.name for t in TOWNS], dtype=object)[addr.town]
    tail = prefixed(named.locality, ", ", town_name + ", " + addr.postcode)
    return dataclasses.replace(named, full_address=named.line + ", " + tail)


def _localities(addr: Addresses) -> ObjArray:
    out: ObjArray = np.full(len(addr), None, dtype=object)
    for t, town in enumerate(TOWNS):
        for k, nb in enumerate(town.neighbourhoods):
            if nb.locality is not None:
                out[(addr.town == t) & (addr.nbhd == k)] = nb.locality
    return out
