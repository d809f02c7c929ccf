"""Address text to canonical tokens, the same way for the register and for what a caller said.

Lower case, accents and punctuation gone, common abbreviations expanded (Rd -> road,
Ave -> avenue, Ct -> court ...). "St" is both Street and Saint, so Saint becomes "st" and the
scorer treats "st" and "street" as the same word. Flat words (Flat, Apartment, Apt, Unit ...)
become "flat"; "3/12" (flat 3 at number 12) stays one token for the parser.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

ABBREVIATIONS: Final[dict[str, str]] = {
    "rd": "road",
    "st": "st",
    "str": "street",
    "saint": "st",
    "ave": "avenue",
    "av": "avenue",
    "avn": "avenue",
    "ct": "court",
    "crt": "court",
    "cl": "close",
    "clo": "close",
    "cres": "crescent",
    "cresc": "crescent",
    "cr": "crescent",
    "dr": "drive",
    "drv": "drive",
    "gdns": "gardens",
    "gdn": "gardens",
    "gr": "grove",
    "grv": "grove",
    "ln": "lane",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "pk": "park",
    "pde": "parade",
    "mt": "mount",
    "vw": "view",
    "wk": "walk",
    "wy": "way",
    "hse": "house",
    "ho": "house",
    "est": "estate",
    "cotts": "cottages",
    "bldgs": "buildings",
    "bldg": "buildings",
    "hts": "heights",
    "mdw": "meadow",
    "mdws": "meadows",
    "gt": "great",
    "lt": "little",
    "upr": "upper",
    "lwr": "lower",
    "nth": "north",
    "sth": "south",
    "ctr": "centre",
    "center": "centre",
}
# Kinds of street: they tell no street apart, so they never retrieve streets on their own.
STREET_TYPES: Final = frozenset(
    {
        "st",
        "street",
        "road",
        "avenue",
        "court",
        "close",
        "crescent",
        "drive",
        "gardens",
        "grove",
        "lane",
        "place",
        "square",
        "terrace",
        "park",
        "parade",
        "mount",
        "view",
        "walk",
        "way",
        "rise",
        "row",
        "hill",
        "green",
        "mews",
        "gate",
        "fold",
        "brow",
    }
)
FLAT_WORDS: Final = frozenset(
    {
        "flat",
        "flats",
        "apartment",
        "apartments",
        "apt",
        "unit",
        "room",
        "rm",
        "maisonette",
        "fl",
        "loft",
        "studio",
        "suite",
    }
)
# Words that name a flat by its place in the house ("First Floor Flat", "Garden Flat").
FLOOR_WORDS: Final = frozenset(
    {"ground", "first", "second", "third", "fourth", "top", "upper", "lower", "basement",
     "garden", "floor", "rear", "front"}
)  # fmt: skip
# Words that say nothing about which address: dropped.
NOISE: Final = frozenset({"no", "number", "nr", "num"})
# "street" and "st" are the same word for scoring; everything else compares canonically.
EQUIVALENT: Final[dict[str, str]] = {"street": "st"}

_APOSTROPHES = re.compile(r"['\u2019`]")
_SLASH = re.compile(r"(\d+[a-z]?)\s*/\s*(\d+[a-z]?)(?![a-z0-9]|\s*-\s*\d)")
_RANGE = re.compile(r"\b(\d+[a-z]?)\s*-\s*(\d+[a-z]?)\b")
_NOT_WORD = re.compile(r"[^a-z0-9/-]+")
_FLAT_AT_RANGE = re.compile(r"^(\d+[a-z]?)/(\d+[a-z]?-\d+[a-z]?)$")
NUMBER = re.compile(r"^\d+[a-z]?$")
SLASHED = re.compile(r"^(\d+[a-z]?)/(\d+[a-z]?)$")
RANGE = re.compile(r"^\d+[a-z]?-\d+[a-z]?$")  # "41-51": one house number spanning several
POSTCODE = re.compile(r"^([a-z]{1,2}\d[a-z\d]?)(\d[a-z]{2})$")
OUTWARD = re.compile(r"^[a-z]{1,2}\d[a-z\d]?$")


def fold(text: str) -> str:
    """Lower case ASCII: accents dropped, apostrophes removed (St John's -> st johns)."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _APOSTROPHES.sub("", ascii_text.lower())


def canonical(token: str) -> str:
    return ABBREVIATIONS.get(token, token)


def tokens(text: str) -> list[str]:
    """Canonical tokens; a house number split from its letter ("12 a") is joined again."""
    folded = _RANGE.sub(r"\1-\2", _SLASH.sub(r"\1/\2", fold(text)))
    raw: list[str] = []
    for token in _NOT_WORD.sub(" ", folded).split():  # a hyphen is kept only in a range
        flat_at_range = _FLAT_AT_RANGE.match(token)
        if flat_at_range:  # "5/35-36": flat 5 at 35-36
            raw.extend(("flat", flat_at_range.group(1), flat_at_range.group(2)))
            continue
        raw.extend([token] if RANGE.match(token) else [t for t in token.split("-") if t])
    out: list[str] = []
    for i, token in enumerate(raw):
        if token.endswith("/") and (NUMBER.match(token[:-1]) or token[:-1].isalpha()):
            out.extend(("flat", token[:-1]))  # "2/ Cavendish House": flat 2; "d/ 22": flat D
            continue
        if "/" in token and not SLASHED.match(token):
            out.extend(canonical(part) for part in token.split("/") if part)
            continue
        if token in NOISE:
            continue
        if token in FLAT_WORDS:
            if not out or out[-1] != "flat":  # "Loft Flat", "Apartment Flat": one flat word
                out.append("flat")
            continue
        if (
            len(token) == 1
            and token.isalpha()
            and out
            and out[-1].isdigit()
            and i + 1 < len(raw)
            and (len(out) < 2 or out[-2] != "flat")
        ):
            out[-1] += token  # "12 a ramsden street" -> 12a
            continue
        out.append(canonical(token))
    return out


def same_word(a: str, b: str) -> bool:
    return EQUIVALENT.get(a, a) == EQUIVALENT.get(b, b)


def compact_postcode(text: str) -> str:
    """'la14 1xx', 'LA141XX' -> 'LA141XX' (no check that it is one)."""
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def format_postcode(compact: str) -> str:
    """'LA141XX' -> 'LA14 1XX' (the register's form); unchanged when too short."""
    compact = compact.upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact


def number_key(value: str | None) -> str | None:
    """A house number or flat id as compared: '12 A' -> '12a', 'Flat 3' -> '3', 'Flat A' -> 'a'."""
    if value is None:
        return None
    words = [t for t in tokens(value) if t != "flat"]
    if len(words) == 2 and words[0].isdigit() and len(words[1]) == 1 and words[1].isalpha():
        return words[0] + words[1]  # "12 A" at the end, where tokens() could not join it
    floor_then_id = len(words) > 1 and all(w in FLOOR_WORDS or w == "and" for w in words[:-1])
    if floor_then_id and (NUMBER.match(words[-1]) or len(words[-1]) == 1):
        return words[-1]  # "Top Floor Flat 1" is flat 1
    return " ".join(words) or None
