"""A street said without a house number: every address on it, its SAFE markers flagged, and its
blocks with their flats and marker counts, so the control room can see "2 of 41 addresses on
Carlton Lane have a SAFE marker" while it confirms the address with the caller.

The streets come from the vocabulary the matcher keeps (`vocabulary.current`): a street is said
when every word of its name is among the caller's words (a word the vocabulary has is taken as
said; any other may be a typo of one, through the vocabulary's fuzzy index). When the caller
also named a town, only that town's streets are kept; otherwise a street name found in several
towns is listed once per town. The addresses are fetched in one statement by equality on street
and town (leakproof, so the (street, house_number) index works under row-level security): the
actor sees only the addresses and markers its policies let it see.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Any, Final

from sqlalchemy import Connection, text

from hardening.addresses import vocabulary
from hardening.addresses.match import ALIASES
from hardening.addresses.normalise import tokens
from hardening.addresses.vocabulary import Street, Vocabulary
from hardening.markers.records import BY_SEVERITY

MAX_STREETS: Final = 6  # street (and town) pairs listed for one query
MAX_LISTED: Final = 400  # addresses listed per street; the counts cover all of them
MAX_ROWS: Final = 20_000  # a guard on the statement, far above any real street
_NUMBER = re.compile(r"^(\d+)(.*)$")

STREET_SQL: Final = text("""
WITH w AS (
    SELECT * FROM unnest(CAST(:streets AS text[]), CAST(:towns AS text[])) WITH ORDINALITY
        AS w(street, town, k)
), a AS (
    SELECT w.k, a.uprn, a.parent_uprn, a.full_address, a.sub_building, a.house_number,
           a.property_type, a.geom
    FROM w JOIN addresses a ON a.street = w.street
    WHERE a.town = w.town OR (w.town = '' AND a.town IS NULL)
    LIMIT :max_rows
), m AS (
    SELECT m.uprn, count(*) AS markers,
           (array_agg(m.reason_category ORDER BY array_position(
                CAST(:reasons AS text[]), m.reason_category), m.marker_id))[1] AS reason
    FROM safe_markers m
    WHERE m.uprn IN (SELECT uprn FROM a UNION SELECT parent_uprn FROM a)
      AND marker_state(m.status, m.review_due, m.expires_on, CAST(:on AS date))
          IN ('active', 'review_due')
    GROUP BY m.uprn
)
SELECT a.k, a.uprn, a.parent_uprn, a.full_address, a.sub_building, a.house_number,
       a.property_type, p.full_address AS block_address,
       coalesce(mine.markers, 0) AS markers, mine.reason,
       coalesce(blk.markers, 0) AS block_markers, blk.reason AS block_reason,
       ST_X(ST_Transform(a.geom, 4326)) AS lon, ST_Y(ST_Transform(a.geom, 4326)) AS lat
FROM a
LEFT JOIN addresses p ON p.uprn = a.parent_uprn
LEFT JOIN m mine ON mine.uprn = a.uprn
LEFT JOIN m blk ON blk.uprn = a.parent_uprn
""")


def _said(vocab: Vocabulary, words: list[str]) -> set[str]:
    """The vocabulary's words the caller said: a word it has is taken as said (not read as a
    typo of another: "lane" is not "Lune"); any other may be one within a few edits."""
    said: set[str] = set()
    for word in words:
        if word.isdigit():
            continue
        if word in vocab.postings or word in vocab.town_words:
            said.add(word)
        else:
            said.update(vocab.fuzzy.lookup(word))
        for same in ALIASES.get(word, ()):
            said.add(same)
    return said


def streets_said(vocab: Vocabulary, text_value: str) -> list[Street]:
    """The streets (one per town) whose every word the caller said, most specific first:
    "lower carlton avenue" gives Lower Carlton Avenue, not Carlton Avenue too. When the
    caller named a town that has one of them, only that town's are kept."""
    said = _said(vocab, tokens(text_value))
    postings = [vocab.postings[w] for w in said if w in vocab.postings]
    if not postings:
        return []
    rare = [p for p in postings if len(p) <= vocab.max_posting]
    pool: set[int] = set().union(*rare) if rare else set(postings[0]).intersection(*postings)
    found = [vocab.streets[i] for i in pool if vocab.streets[i].words]
    found = [s for s in found if all(w in said for w in s.words)]
    names = {frozenset(s.words) for s in found}
    found = [s for s in found if not any(frozenset(s.words) < other for other in names)]
    # A town word counts only when it is not one of the street's own ("Dalton Road").
    towns = [s for s in found if (said - set(s.words)) & set(s.town_words)]
    chosen = towns or found
    return sorted(chosen, key=lambda s: (s.name, s.town))[:MAX_STREETS]


def _house_order(row: dict[str, Any]) -> tuple[int, str, str, int]:
    number = _NUMBER.match(row["house_number"] or "")
    if number is None:
        return (1 << 30, row["house_number"] or "", row["sub_building"] or "", row["uprn"])
    return (int(number.group(1)), number.group(2), row["sub_building"] or "", row["uprn"])


def _blocks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks on the street: each with its flats on the street and their markers."""
    blocks: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["property_type"] == "block":
            block = blocks.setdefault(row["uprn"], _block(row["uprn"], row["full_address"]))
            block["block_markers"] = row["markers"]
    for row in rows:
        parent = row["parent_uprn"]
        if parent is None:
            continue
        block = blocks.setdefault(parent, _block(parent, row["block_address"]))
        block["flats"] += 1
        block["block_markers"] = row["block_markers"]
        if row["markers"]:
            block["marked_flats"] += 1
    return sorted(blocks.values(), key=lambda b: (b["full_address"] or "", b["uprn"]))


def _block(uprn: int, full_address: str | None) -> dict[str, Any]:
    return {
        "uprn": uprn,
        "full_address": full_address,
        "flats": 0,
        "marked_flats": 0,
        "block_markers": 0,
    }


def _listing(street: Street, rows: list[dict[str, Any]]) -> dict[str, Any]:
    rows.sort(key=_house_order)
    listed = [
        {
            "uprn": r["uprn"],
            "full_address": r["full_address"],
            "house_number": r["house_number"],
            "sub_building": r["sub_building"],
            "property_type": r["property_type"],
            "parent_uprn": r["parent_uprn"],
            "markers": r["markers"],
            "block_markers": r["block_markers"],
            "has_marker": bool(r["markers"] or r["block_markers"]),
            "reason_category": r["reason"] or r["block_reason"],
            "lon": r["lon"],
            "lat": r["lat"],
        }
        for r in rows
    ]
    marked = [r for r in listed if r["has_marker"]]
    return {
        "street": street.name,
        "town": street.town,
        "addresses": len(listed),
        "marked": len(marked),
        "blocks": _blocks(rows),
        # Marked addresses first, so a long street never hides one past the cut.
        "listed": (marked + [r for r in listed if not r["has_marker"]])[:MAX_LISTED],
        "truncated": len(listed) > MAX_LISTED,
    }


def street_listing(
    conn: Connection, text_value: str, on: date, vocab: Vocabulary | None = None
) -> dict[str, Any] | None:
    """Every street the caller named (without a number), with its addresses and markers as
    the actor may see them; None when the words name no street."""
    vocab = vocab or vocabulary.current(conn)
    streets = streets_said(vocab, text_value)
    if not streets:
        return None
    rows = conn.execute(
        STREET_SQL,
        {
            "streets": [s.name for s in streets],
            "towns": [s.town for s in streets],
            "on": on,
            "reasons": list(BY_SEVERITY),
            "max_rows": MAX_ROWS,
        },
    ).mappings()
    by_street: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_street[row["k"]].append(dict(row))
    listings = [_listing(s, by_street[k]) for k, s in enumerate(streets, start=1)]
    # Streets the actor sees no address on are left out; streets with markers come first.
    listings = sorted(
        (x for x in listings if x["addresses"]), key=lambda x: (-x["marked"], x["town"])
    )
    if not listings:
        return None
    return {
        "query": text_value,
        "streets": listings,
        "addresses": sum(x["addresses"] for x in listings),
        "marked": sum(x["marked"] for x in listings),
    }
