"""What a caller said, taken apart: postcode (or a damaged attempt at one), flat, house
numbers and the words left for street and town.

Roles of numbers are not decided here beyond what the text says plainly ("Flat 3", "3/12"):
the scorer checks each candidate address against every reading, so "3 12 Ramsden St" can be
flat 3 at 12 and "12a" can be 12A or Flat A at 12, whichever exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hardening.addresses.normalise import (
    FLOOR_WORDS,
    NUMBER,
    OUTWARD,
    POSTCODE,
    RANGE,
    SLASHED,
    tokens,
)

MAX_QUERY_CHARS = 300


@dataclass(frozen=True)
class ParsedAddress:
    text: str
    words: tuple[str, ...]  # street and town words, canonical, in order
    numbers: tuple[str, ...]  # house/flat numbers in order, e.g. ('3', '12'), ('12a',), ('2-4',)
    flat: (
        str | None
    )  # "Flat 3" -> '3', "Flat A" -> 'a', "3/12" -> '3', "top floor flat" -> 'top floor'
    slash_house: str | None  # "3/12" -> '12'
    postcode: str | None  # compact, UK-shaped (may still be unknown or wrong)
    postcode_attempt: str | None  # compact, not UK-shaped: probably a damaged postcode
    outward: str | None  # an outward code said alone ("LA14")

    @property
    def all_numbers(self) -> tuple[str, ...]:
        extra = tuple(n for n in (self.flat, self.slash_house) if n and n not in self.numbers)
        return self.numbers + extra


def _alnum_mix(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def _find_postcode(toks: list[str]) -> tuple[str | None, str | None, set[int]]:
    """(postcode, damaged attempt, indexes used), preferring the last one in the text."""
    for i in range(len(toks) - 1, -1, -1):
        if i > 0 and POSTCODE.match(toks[i - 1] + toks[i]) and OUTWARD.match(toks[i - 1]):
            return (toks[i - 1] + toks[i]).upper(), None, {i - 1, i}
        if POSTCODE.match(toks[i]) and not NUMBER.match(toks[i]):
            return toks[i].upper(), None, {i}
    for i in range(len(toks) - 1, -1, -1):
        token = toks[i]
        if i > 0 and (
            (_looks_outward(toks[i - 1]) and _looks_inward(token))
            or (INWARD.match(token) and 2 <= len(toks[i - 1]) <= 4 and toks[i - 1].isalpha())
        ):  # "la14 1xx", or "ssi 1ep": an outward code with a letter for its digit
            joined = toks[i - 1] + token
            if 5 <= len(joined) <= 8:
                return None, joined.upper(), {i - 1, i}
        if NUMBER.match(token) or SLASHED.match(token):
            continue
        if 5 <= len(token) <= 8 and _alnum_mix(token):
            return None, token.upper(), {i}
    return None, None, set()


INWARD = re.compile(r"^\d[a-z]{2}$")
FLAT_ID = re.compile(r"^[a-z]{1,2}\d{1,3}[a-z]?$")  # "Unit HF4", "Flat B12"


def _looks_outward(token: str) -> bool:
    return 2 <= len(token) <= 4 and _alnum_mix(token) and not NUMBER.match(token)


def _looks_inward(token: str) -> bool:
    return 2 <= len(token) <= 4 and token.isalnum() and not token.isdigit()


def parse(text: str) -> ParsedAddress:
    toks = tokens(text[:MAX_QUERY_CHARS])
    postcode, attempt, used = _find_postcode(toks)
    outward: str | None = None
    flat: str | None = None
    slash_house: str | None = None
    numbers: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(toks):
        token = toks[i]
        if i in used:
            i += 1
            continue
        if token == "flat":
            floor: list[str] = []
            while words and (words[-1] in FLOOR_WORDS or (floor and words[-1] == "and")):
                # "first floor flat", "basement and ground floor flat": named by its floor
                floor.insert(0, words.pop())
            following = toks[i + 1] if i + 1 < len(toks) and i + 1 not in used else None
            # "Flat 3"; "Top Floor Flat 1, 80 X Road" is flat 1, but in "First Floor Flat, 24 X
            # Road" the 24 is the house: after floor words, an id needs a house number after it.
            house_after = any(NUMBER.match(t) or RANGE.match(t) for t in toks[i + 2 :])
            if (
                following
                and (NUMBER.match(following) or FLAT_ID.match(following) or len(following) == 1)
                and (not floor or house_after)
            ):
                flat = flat or following
                i += 2
                continue
            if floor:
                flat = flat or " ".join(floor)
            i += 1
            continue
        slashed = SLASHED.match(token)
        if slashed and flat is not None:  # "Loft 5, 24/26 Minster Road": 24/26 is a range
            numbers.append(f"{slashed.group(1)}-{slashed.group(2)}")
            i += 1
            continue
        if slashed:
            flat, slash_house = slashed.group(1), slashed.group(2)
            i += 1
            continue
        if NUMBER.match(token) or RANGE.match(token):
            numbers.append(token)
        elif OUTWARD.match(token) and postcode is None and outward is None:
            outward = token.upper()
        else:
            words.append(token)
        i += 1
    return ParsedAddress(
        text=text,
        words=tuple(words),
        numbers=tuple(numbers),
        flat=flat,
        slash_house=slash_house,
        postcode=postcode,
        postcode_attempt=attempt,
        outward=outward,
    )
