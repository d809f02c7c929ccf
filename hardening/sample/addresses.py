"""Addresses: houses and blocks of flats on the house slots, tenure, landlords and postcodes.

A slot becomes a house (or bungalow, shop, HMO, supported home) or a block whose flats share
the block's point and have it as parent UPRN. Each neighbourhood keeps exactly its share of the
requested addresses, cut in growth order so the outermost cells go first. Postcodes take about
15 addresses in street order under the neighbourhood's real outward code and sector digits,
with invented unit letters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np

from hardening.sample.layout import Slots
from hardening.sample.spec import PROVIDERS, TOWN_PROVIDERS, TOWNS, UPRN_BASE
from hardening.sample.table import Table
from hardening.sample.util import (
    FloatArray,
    IntArray,
    ObjArray,
    nullable,
    points_ewkt,
    prefixed,
)

KINDS: Final = ("house", "bungalow", "commercial", "hmo", "supported", "other", "block")
# Probabilities of each kind (order of KINDS) per character (centre, terraces, estate, suburb).
KIND_P: Final = np.array(
    [
        [0.623, 0.0, 0.22, 0.03, 0.015, 0.002, 0.11],
        [0.902, 0.01, 0.03, 0.03, 0.01, 0.003, 0.015],
        [0.852, 0.08, 0.005, 0.005, 0.015, 0.003, 0.04],
        [0.82, 0.15, 0.005, 0.002, 0.005, 0.003, 0.015],
    ]
)
FLATS: Final = ((2, 6), (2, 8), (6, 18), (4, 10))  # flats per block, by character
TALL_BLOCK_P: Final = 0.05  # estate blocks of 36-60 flats
EXTRA_A_P: Final = (0.015, 0.015, 0.005, 0.005)  # "12A" beside 12
SOCIAL_CELL_P: Final = (0.05, 0.08, 0.5, 0.03)
# (owner_occupied, private_rented, social_rented) for houses outside social cells, by character
HOUSE_TENURE: Final = (
    (0.45, 0.50, 0.05),
    (0.55, 0.40, 0.05),
    (0.62, 0.23, 0.15),
    (0.88, 0.10, 0.02),
)
SOCIAL_CELL_TENURE: Final = (0.22, 0.10, 0.68)
SOCIAL_BLOCK_P: Final = (0.25, 0.3, 0.6, 0.2)
POSTCODE_SIZE: Final = 15
UNIT_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in inward codes


def per_slot(character: int) -> float:
    """Addresses a house slot gives on average (a block counts itself and its flats)."""
    lo, hi = FLATS[character]
    flats = (lo + hi) / 2
    if character == 2:
        flats = (1 - TALL_BLOCK_P) * flats + TALL_BLOCK_P * 48
    return 1.0 + float(KIND_P[character, KINDS.index("block")]) * flats


@dataclass
class Addresses:
    uprn: IntArray
    parent: IntArray  # row index of the parent block, -1 for none
    x: FloatArray
    y: FloatArray
    town: IntArray
    nbhd: IntArray
    character: IntArray
    cell: IntArray
    street: IntArray  # index of the street (into the street arrays)
    street_name: ObjArray
    kind: ObjArray  # property_type
    tenure: ObjArray
    provider: ObjArray
    sub_building: ObjArray
    house_number: ObjArray  # None for a house or block known by its name alone
    postcode: ObjArray
    full_address: ObjArray
    building_name: ObjArray  # "Rose Cottage", "Harbour Court" (sample.naming), else None
    locality: ObjArray  # "Walney", else None

    def __len__(self) -> int:
        return len(self.uprn)

    @cached_property
    def street_line(self) -> ObjArray:
        """Number and street ("12 Dock Street"), or the street alone where there is no number."""
        return prefixed(self.house_number, " ", self.street_name.astype(object))

    @cached_property
    def premises(self) -> ObjArray:
        """What the building is called: its name, else its number and street."""
        out = self.street_line.copy()
        named = np.array([n is not None for n in self.building_name.tolist()], dtype=bool)
        out[named] = self.building_name[named]
        return out

    @cached_property
    def line(self) -> ObjArray:
        """The address before locality and town: "Flat 3, Harbour Court, 12 Dock Street"."""
        named = prefixed(self.building_name, ", ", self.street_line)
        return prefixed(self.sub_building, ", ", named)

    @cached_property
    def social(self) -> np.ndarray:
        """True where a housing provider is the landlord (social rented or supported)."""
        return np.array([p is not None for p in self.provider.tolist()], dtype=bool)


def _slot_kinds(rng: np.random.Generator, character: IntArray) -> tuple[IntArray, IntArray]:
    """Kind index and flat count of every slot."""
    u = rng.random(len(character))
    cum = np.cumsum(KIND_P, axis=1)[character]
    kind = (u[:, None] > cum).sum(axis=1).clip(0, len(KINDS) - 1)
    lo = np.array([f[0] for f in FLATS])[character]
    hi = np.array([f[1] for f in FLATS])[character]
    flats = rng.integers(lo, hi + 1)
    tall = (character == 2) & (rng.random(len(character)) < TALL_BLOCK_P)
    flats = np.where(tall, rng.integers(36, 61, size=len(character)), flats)
    return kind, np.where(kind == KINDS.index("block"), flats, 0)


def build(
    rng: np.random.Generator,
    streets: dict[str, np.ndarray],
    names: ObjArray,
    slots: Slots,
    targets: dict[tuple[int, int], int],
) -> Addresses:
    """Exactly targets[(town, nbhd)] addresses per neighbourhood."""
    s_town, s_nbhd = streets["town"][slots.street], streets["nbhd"][slots.street]
    s_char = streets["character"][slots.street]
    kind, flats = _slot_kinds(rng, s_char)
    # "Flat 3, 12 Ramsden Street, Barrow-in-Furness": the example callers give, made to exist.
    ramsden = np.flatnonzero((names[slots.street] == "Ramsden Street") & (slots.number == 12))
    kind[ramsden], flats[ramsden] = KINDS.index("block"), 6
    extra = (kind == 0) & (rng.random(len(kind)) < np.array(EXTRA_A_P)[s_char])
    # Units in order: every slot, and a "12A" unit right after its slot where there is one.
    slot_of = np.concatenate([np.arange(len(kind)), np.flatnonzero(extra)])
    is_a = np.concatenate([np.zeros(len(kind), bool), np.ones(int(extra.sum()), bool)])
    order = np.lexsort((is_a, slot_of, s_nbhd[slot_of], s_town[slot_of]))
    slot_of, is_a = slot_of[order], is_a[order]
    u_kind = np.where(is_a, 0, kind[slot_of])
    u_flats = np.where(is_a, 0, flats[slot_of])
    keep = np.zeros(len(slot_of), bool)
    for (t, n), want in targets.items():
        idx = np.flatnonzero((s_town[slot_of] == t) & (s_nbhd[slot_of] == n))
        size = 1 + u_flats[idx]
        end = np.cumsum(size)
        if end[-1] < want:  # a short neighbourhood: its last building takes the rest as flats
            i = idx[-1]
            u_flats[i] += want - int(end[-1])
            u_kind[i] = KINDS.index("block")
            end[-1] = want
        whole = int(np.searchsorted(end, want, side="right"))
        keep[idx[:whole]] = True
        short = want - (int(end[whole - 1]) if whole else 0)
        if short > 0:  # the next unit, trimmed to fit: fewer flats, or a house
            i = idx[whole]
            keep[i] = True
            u_flats[i] = short - 1
            if short == 1 and u_kind[i] == KINDS.index("block"):
                u_kind[i] = 0
    slot_of, is_a, u_kind, u_flats = slot_of[keep], is_a[keep], u_kind[keep], u_flats[keep]
    return _expand(rng, streets, names, slots, slot_of, is_a, u_kind, u_flats)


def _expand(
    rng: np.random.Generator,
    streets: dict[str, np.ndarray],
    names: ObjArray,
    slots: Slots,
    slot_of: IntArray,
    is_a: np.ndarray,
    u_kind: IntArray,
    u_flats: IntArray,
) -> Addresses:
    """One row per unit plus one per flat, right after its block."""
    size = 1 + u_flats
    unit = np.repeat(np.arange(len(size)), size)
    first = np.repeat(np.cumsum(size) - size, size)
    flat_no = np.arange(len(unit)) - first  # 0 for the unit's own row, k for Flat k
    st = slots.street[slot_of][unit]
    dx = np.where(is_a[unit], 2.5, 0.0)  # "12A" stands just along from 12
    x = slots.x[slot_of][unit] + dx * streets["ux"][st]
    y = slots.y[slot_of][unit] + dx * streets["uy"][st]
    kind_idx = u_kind[unit]
    kind = np.array(KINDS, dtype=object)[kind_idx]
    kind[flat_no > 0] = "flat"
    parent = np.where(flat_no > 0, first, -1)
    number = np.char.mod("%d", slots.number[slot_of][unit]).astype(object)
    number[is_a[unit]] = number[is_a[unit]] + "A"
    lettered = (u_flats <= 4) & (rng.random(len(size)) < 0.3)  # small conversions: Flat A, B
    sub = np.where(
        lettered[unit],
        np.array([None, *"ABCD"], dtype=object)[np.minimum(flat_no, 4)],
        np.char.mod("%d", flat_no).astype(object),
    )
    sub = nullable(np.asarray("Flat " + sub.astype(str), dtype=object), flat_no > 0)
    town, nbhd = streets["town"][st], streets["nbhd"][st]
    character, cell = streets["character"][st], streets["cell"][st]
    tenure, provider = _tenure(rng, town, character, cell, kind, parent)
    postcode = _postcodes(rng, town, nbhd, unit, first)
    town_name = np.array([t.name for t in TOWNS], dtype=object)[town]
    line = number + " " + names[st]
    line = prefixed(sub, ", ", line)
    full = line + ", " + town_name + ", " + postcode
    nobody = np.full(len(unit), None, dtype=object)  # names and localities: sample.naming
    return Addresses(
        uprn=UPRN_BASE + np.arange(len(unit), dtype=np.int64),
        parent=parent,
        x=x,
        y=y,
        town=town,
        nbhd=nbhd,
        character=character,
        cell=cell,
        street=st,
        street_name=names[st],
        kind=kind,
        tenure=tenure,
        provider=provider,
        sub_building=sub,
        house_number=number,
        postcode=postcode,
        full_address=full.astype(object),
        building_name=nobody,
        locality=nobody.copy(),
    )


def _tenure(
    rng: np.random.Generator,
    town: IntArray,
    character: IntArray,
    cell: IntArray,
    kind: ObjArray,
    parent: IntArray,
) -> tuple[ObjArray, ObjArray]:
    n = len(town)
    # Estates are mostly one landlord's: a cell is social or not, with one main provider.
    cell_key = town * 1_000_000 + cell
    uniq, inv = np.unique(cell_key, return_inverse=True)
    first = np.unique(inv, return_index=True)[1]
    u_char = character[first]
    social_cell = (rng.random(len(uniq)) < np.array(SOCIAL_CELL_P)[u_char])[inv]
    shares = np.array([TOWN_PROVIDERS[t.key] for t in TOWNS])
    cum = np.cumsum(shares, axis=1)[town[first]]
    cell_provider = (rng.random(len(uniq))[:, None] > cum).sum(axis=1).clip(0, 2)[inv]
    other = (rng.random(n)[:, None] > np.cumsum(shares, axis=1)[town]).sum(axis=1).clip(0, 2)
    prov_idx = np.where(rng.random(n) < 0.85, cell_provider, other)
    house_p = np.where(
        social_cell[:, None],
        np.array(SOCIAL_CELL_TENURE)[None, :],
        np.array(HOUSE_TENURE)[character],
    )
    u = rng.random(n)
    pick = (u[:, None] > np.cumsum(house_p, axis=1)).sum(axis=1).clip(0, 2)
    tenure = np.array(["owner_occupied", "private_rented", "social_rented"], dtype=object)[pick]
    tenure[kind == "hmo"] = "private_rented"
    tenure[(kind == "commercial") | (kind == "other")] = "unknown"
    tenure[kind == "supported"] = "supported"
    block = kind == "block"
    social_block = block & (
        rng.random(n) < np.where(social_cell, 0.9, np.array(SOCIAL_BLOCK_P)[character])
    )
    tenure[block] = np.where(social_block[block], "social_rented", "unknown")
    flat = parent >= 0
    in_social = np.zeros(n, bool)
    in_social[flat] = social_block[parent[flat]]
    prov_idx[flat] = prov_idx[parent[flat]]
    v = rng.random(n)
    flat_tenure = np.where(
        in_social,
        np.where(v < 0.9, "social_rented", "owner_occupied"),  # right-to-buy leaseholders
        np.where(v < 0.55, "private_rented", "owner_occupied"),
    )
    tenure[flat] = flat_tenure[flat]
    unknown = (rng.random(n) < 0.01) & (kind != "block")
    tenure[unknown & (tenure != "supported") & (tenure != "social_rented")] = "unknown"
    ids = np.array([p[0] for p in PROVIDERS], dtype=object)[prov_idx]
    has = (tenure == "social_rented") | (tenure == "supported")
    return tenure, nullable(ids, has)


def _postcodes(
    rng: np.random.Generator, town: IntArray, nbhd: IntArray, unit: IntArray, first: IntArray
) -> ObjArray:
    """~15 addresses a postcode, whole units (a block and its flats share one)."""
    out = np.empty(len(town), dtype=object)
    pairs = np.array([a + b for a in UNIT_LETTERS for b in UNIT_LETTERS], dtype=object)
    for t, tw in enumerate(TOWNS):
        for n, nb in enumerate(tw.neighbourhoods):
            idx = np.flatnonzero((town == t) & (nbhd == n))
            if len(idx) == 0:
                continue
            capacity = len(pairs) * len(nb.sectors)
            size = max(POSTCODE_SIZE, math.ceil(len(idx) / capacity))
            start = first[idx] - first[idx[0]]  # position of the row's unit in the nbhd
            code = start // size
            _, code = np.unique(code, return_inverse=True)  # 0, 1, 2, ... without gaps
            sector = np.array(nb.sectors)[code // len(pairs)]
            letters = np.concatenate([rng.permutation(pairs) for _ in nb.sectors])
            out[idx] = nb.outward + " " + np.char.mod("%d", sector).astype(object) + letters[code]
    return out


def postcode_units_table(addr: Addresses) -> Table:
    codes, inv = np.unique(addr.postcode.astype(str), return_inverse=True)
    count = np.bincount(inv)
    x = np.bincount(inv, weights=addr.x) / count
    y = np.bincount(inv, weights=addr.y) / count
    town = np.zeros(len(codes), dtype=np.int64)
    town[inv] = addr.town
    return Table.of(
        "postcode_units",
        postcode=codes.astype(object),
        positional_quality=np.full(len(codes), 10, dtype=object),
        admin_district=np.array([t.district_code for t in TOWNS], dtype=object)[town],
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[town],
        geom=points_ewkt(x, y),
    )


def addresses_table(addr: Addresses, lsoa_code: ObjArray) -> Table:
    parent = np.where(addr.parent >= 0, addr.uprn[np.maximum(addr.parent, 0)], 0)
    return Table.of(
        "addresses",
        uprn=addr.uprn,
        parent_uprn=nullable(parent, addr.parent >= 0),
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[addr.town],
        full_address=addr.full_address,
        sub_building=addr.sub_building,
        building_name=addr.building_name,
        house_number=addr.house_number,
        street=addr.street_name,
        locality=addr.locality,
        town=np.array([t.name for t in TOWNS], dtype=object)[addr.town],
        postcode=addr.postcode,
        property_type=addr.kind,
        tenure=addr.tenure,
        provider_org_id=addr.provider,
        lsoa_code=lsoa_code,
        source=np.full(len(addr), "sample", dtype=object),
        geom=points_ewkt(addr.x, addr.y),
    )
