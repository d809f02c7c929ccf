"""Address register rows (UPRN, text, type, tenure, provider, point) from a user's CSV / GeoJSON.

The parts of an address come as columns of their own (sub_building, building_name,
house_number, street, locality, town, postcode) or as HM Land Registry / AddressBase write
them: PAON (a house number, a name, or both: "Saffron Court, 50", "37 - 39") and SAON (the
flat: "Flat 2", "First Floor Flat"), which are split into those parts.

UPRN is the natural key. Rows are rejected for a bad UPRN, a property type or tenure outside the
schema's lists, a provider organisation that does not exist, and a parent UPRN that is neither
among the file's good rows nor already in the register (children of a rejected parent follow
it). Each address gets its area and its LSOA by containment when those polygons are loaded.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.importers.codepoint import normalise_postcode
from hardening.importers.core import (
    Batch,
    ImportReport,
    Origin,
    Progress,
    Record,
    RowRejected,
    check_organisations,
    each_row,
    ensure_acceptable,
    first_seen,
    integer,
    write,
)
from hardening.importers.spatial import assign_areas, containing, locate, point_geoms
from hardening.importers.tabular import Row, cell, parse_map, read_table

PARTS = ("sub_building", "building_name", "house_number", "street", "locality", "town", "postcode")
TARGETS = (
    "uprn",
    "parent_uprn",
    "address",
    *PARTS,
    "paon",
    "saon",
    "property_type",
    "tenure",
    "provider",
    "x",
    "y",
)
PROPERTY_TYPES = ("house", "bungalow", "flat", "block", "hmo", "supported", "commercial", "other")
TENURES = ("owner_occupied", "private_rented", "social_rented", "supported", "unknown")
SYNONYMS = {
    "detached": "house",
    "semi_detached": "house",
    "terraced": "house",
    "apartment": "flat",
    "maisonette": "flat",
    "house_in_multiple_occupation": "hmo",
    "owner": "owner_occupied",
    "private": "private_rented",
    "social": "social_rented",
}
MAX_UPRN = 999_999_999_999
ROW_COLUMNS = ("uprn", "parent_uprn", "full_address", *PARTS, "property_type", "tenure")
TABLE_COLUMNS = (*ROW_COLUMNS, "provider_org_id", "source", "area_id", "lsoa_code", "geom")


def parse(
    path: Path,
    maps: list[str] | None = None,
    crs: str | None = None,
    source: str | None = None,
    progress: Progress | None = None,
    layer: str | None = None,
) -> Batch:
    mapping = parse_map(maps or [], TARGETS)
    table = read_table(path, TARGETS, mapping, crs, layer=layer)
    if "uprn" not in table.mapped:
        raise UserInputError(f"{path}: no UPRN column; map one with --map uprn=<column>")
    if "address" not in table.mapped and not table.mapped & {*PARTS, "paon"}:
        raise UserInputError(
            f"{path}: no address text; map --map address=<column> or its parts "
            f"({', '.join(PARTS)}, or paon/saon)"
        )
    if table.mapped & {"paon", "saon"} and table.mapped & {"building_name", "house_number"}:
        raise UserInputError(
            "map either paon/saon or building_name/house_number (paon holds both), not both"
        )
    name = (source or path.stem).strip()
    if not name:
        raise UserInputError("--source must not be empty")
    batch = Batch("addresses", [str(path)])
    seen: dict[str, Origin] = {}
    for row in table.rows:
        each_row(batch, row.origin, _address, name, row, seen)
    if progress:
        progress(f"{path.name}: {batch.read} rows read")
    locate(batch, table.crs)
    point_geoms(batch)
    return batch


def _uprn(value: object, label: str) -> int:
    number = integer(value, label)
    if not 0 < number <= MAX_UPRN:
        raise RowRejected(f"{label} {number} is not a UPRN (1 to 12 digits)")
    return number


def _choice(value: str | None, allowed: tuple[str, ...], default: str, label: str) -> str:
    if value is None:
        return default
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    key = SYNONYMS.get(key, key)
    if key not in allowed:
        raise RowRejected(f"{label} {value!r} is not one of {', '.join(allowed)}")
    return key


_FLAT_PAON = re.compile(r"^(flat|unit|apartment|apt|studio|suite)\s+\w+$", re.IGNORECASE)
_PAON_NUMBER = re.compile(r"^\d+[A-Za-z]?(\s*-\s*\d+[A-Za-z]?)?$")
_LEADING_NUMBER = re.compile(r"^(\d+[A-Za-z]?)\s+(\D.*)$")


def house_number_text(value: str) -> str:
    """A house number as stored: a range without spaces ("37 - 39" -> "37-39")."""
    return re.sub(r"\s*-\s*", "-", value.strip())


def split_paon(paon: str | None) -> tuple[str | None, str | None]:
    """(building name, house number) of a PAON: "12A" -> (None, "12A"), "Rose Cottage" ->
    ("Rose Cottage", None), "Saffron Court, 50" -> ("Saffron Court", "50"), "37 - 39" ->
    (None, "37-39"), "12 Neaum Crag Court" -> ("Neaum Crag Court", "12")."""
    if paon is None or not paon.strip():
        return None, None
    text_value = " ".join(paon.split())
    if _PAON_NUMBER.match(text_value):
        return None, house_number_text(text_value)
    name, comma, last = text_value.rpartition(",")
    if comma and _PAON_NUMBER.match(last.strip()):
        return name.strip() or None, house_number_text(last)
    leading = _LEADING_NUMBER.match(text_value)
    if leading and not any(c.isdigit() for c in leading.group(2)):
        return leading.group(2).strip(), leading.group(1)
    return text_value, None


def address_text(parts: dict[str, str | None]) -> str:
    """One line from the parts: "Flat 2, Saffron Court, 50 Linden Road, Bognor Regis, PO21 2BT"."""
    number_street = " ".join(p for p in (parts["house_number"], parts["street"]) if p)
    ordered = (parts["sub_building"], parts["building_name"], number_street, parts["locality"],
               parts["town"], parts["postcode"])  # fmt: skip
    return ", ".join(p for p in ordered if p)


def _address(source: str, row: Row, seen: dict[str, Origin]) -> Record:
    if row.problem is not None:
        raise RowRejected(row.problem)
    uprn = _uprn(row.cells.get("uprn"), "UPRN")
    parent = cell(row, "parent_uprn")
    parent_uprn = None if parent is None else _uprn(parent, "parent UPRN")
    if parent_uprn == uprn:
        raise RowRejected(f"UPRN {uprn} is its own parent")
    postcode = cell(row, "postcode")
    parts = {p: cell(row, p) for p in PARTS}
    if postcode is not None:
        parts["postcode"] = normalise_postcode(postcode)
    if "paon" in row.cells or "saon" in row.cells:
        paon, saon = cell(row, "paon"), cell(row, "saon")
        if saon is None and paon is not None and _FLAT_PAON.match(paon):
            paon, saon = None, paon  # "Flat 15" as the PAON: the flat, with no house
        parts["building_name"], parts["house_number"] = split_paon(paon)
        parts["sub_building"] = saon
    if parts["house_number"] is not None:
        parts["house_number"] = house_number_text(parts["house_number"])
    if parts["locality"] is not None and parts["locality"] == parts["town"]:
        parts["locality"] = None  # Land Registry repeats the town as the locality
    if parts["street"] is None and parts["locality"] is not None:
        parts["street"], parts["locality"] = parts["locality"], None  # "21, The Green"
    full = cell(row, "address") or address_text(parts)
    if not 3 <= len(full) <= 300:
        raise RowRejected(f"address {full!r} must be 3 to 300 characters")
    values = {
        "uprn": uprn,
        "parent_uprn": parent_uprn,
        "full_address": full,
        **parts,
        "property_type": _choice(cell(row, "property_type"), PROPERTY_TYPES, "other", "type"),
        "tenure": _choice(cell(row, "tenure"), TENURES, "unknown", "tenure"),
        "provider_org_id": cell(row, "provider"),
        "source": source,
    }
    first_seen(seen, str(uprn), row.origin, "UPRN")
    return Record(row.origin, values, xy=row.xy)


def check_parents(conn: Connection, batch: Batch) -> None:
    """Reject rows whose parent is neither a good row of the file nor in the register; repeat
    so that children of a rejected parent are rejected too."""
    wanted = {r.values["parent_uprn"] for r in batch.records} - {None}
    in_file = {r.values["uprn"] for r in batch.records}
    known = set(
        conn.execute(
            text("SELECT uprn FROM addresses WHERE uprn = ANY(:ids)"),
            {"ids": sorted(wanted - in_file)},
        ).scalars()
        if wanted - in_file
        else ()
    )
    while True:
        good = {r.values["uprn"] for r in batch.records} | known
        bad = {
            i: f"parent UPRN {r.values['parent_uprn']} is not in the register nor a good row "
            "of this file"
            for i, r in enumerate(batch.records)
            if r.values["parent_uprn"] is not None and r.values["parent_uprn"] not in good
        }
        if not bad:
            return
        batch.drop(bad)


def load(conn: Connection, batch: Batch, *, skip_bad: bool = False) -> ImportReport:
    check_organisations(conn, batch, "provider_org_id", "provider")
    check_parents(conn, batch)
    ensure_acceptable(batch, skip_bad)
    assign_areas(conn, batch)
    anchors = [r.anchor for r in batch.records if r.anchor is not None]
    for record, code in zip(batch.records, containing(conn, "lsoas", anchors), strict=True):
        record.values["lsoa_code"] = code
    counts = write(conn, batch, "addresses", TABLE_COLUMNS, ("uprn",))
    return ImportReport.of(batch, counts)


def import_file(
    conn: Connection,
    path: Path,
    maps: list[str] | None = None,
    *,
    crs: str | None = None,
    source: str | None = None,
    skip_bad: bool = False,
    layer: str | None = None,
) -> ImportReport:
    return load(conn, parse(path, maps, crs, source, layer=layer), skip_bad=skip_bad)
