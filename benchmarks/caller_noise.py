"""Real addresses said the way callers, housing officers and conveyancers say them.

Reads HM Land Registry Price Paid addresses (`addresses/ppd_combined_normalised.csv` in the open
data folder: SAON, PAON, street, locality, town, postcode), writes them as a register file for
`hardening import addresses --map paon=... --map saon=...`, and draws noisy queries from them,
one kind of noise or two at a time, each labelled by kind:

    clean, lower_case, abbreviation, street_typo, name_typo, no_postcode, damaged_postcode,
    unspaced_postcode, no_town, locality_for_town, extra_words, flat_form, name_only,
    name_and_postcode, number_dropped, range_form

A query is "answerable" when exactly one register address agrees with everything it kept;
"identified" when it kept the exact postcode and a house number or name that, with the
postcode, pick exactly one address (the matcher must never answer "no match" to those).
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hardening.importers.addresses import split_paon

SHORT_TYPES = {
    "STREET": "St", "ROAD": "Rd", "AVENUE": "Ave", "CLOSE": "Cl", "DRIVE": "Dr", "COURT": "Ct",
    "CRESCENT": "Cres", "GARDENS": "Gdns", "TERRACE": "Terr", "LANE": "Ln", "PLACE": "Pl",
    "GROVE": "Gr", "SQUARE": "Sq", "PARK": "Pk",
}  # fmt: skip
EXTRA_WORDS = (
    "next to the post office", "opposite the school", "above the shop", "near the church",
    "by the park", "behind the pub",
)  # fmt: skip
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"
FLAT_NUMBER = re.compile(r"^(?:FLAT|APARTMENT|UNIT)\s+(\w+)$")


@dataclass(frozen=True)
class Address:
    uprn: int
    saon: str
    building_name: str
    house_number: str
    street: str
    locality: str
    town: str
    postcode: str

    @property
    def flat(self) -> str:
        """The flat's own id ("FLAT 20" -> "20"), or the SAON as written ("GARDEN FLAT")."""
        found = FLAT_NUMBER.match(self.saon)
        return found.group(1) if found else self.saon


@dataclass
class Query:
    text: str
    truth: int
    kinds: set[str]
    answerable: bool = False
    identified: bool = False
    kept: dict[str, bool] = field(default_factory=dict)


def read_ppd(path: Path) -> list[Address]:
    """Distinct addresses of the combined Land Registry file, numbered 1.. in file order."""
    seen: dict[tuple[str, ...], None] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = tuple(
                " ".join(row[k].split()).upper()
                for k in ("saon", "paon", "street", "locality", "town", "postcode")
            )
            if key[1] and key[5]:
                seen.setdefault(key, None)
    out = []
    for uprn, (saon, paon, street, locality, town, postcode) in enumerate(seen, start=1):
        name, number = split_paon(paon)
        out.append(Address(uprn, saon, name or "", number or "", street, locality, town, postcode))
    return out


def point(postcode: str) -> tuple[float, float]:
    """A made-up but stable BNG point per postcode, inside the sample's Barrow area box (the
    matcher reads no coordinates; the register needs one, and an area for row-level security)."""
    digest = hashlib.sha256(postcode.encode()).digest()
    return 319_000 + digest[0] * 12 + digest[1] / 25, 468_000 + digest[2] * 12 + digest[3] / 25


def write_register(addresses: Iterable[Address], path: Path) -> None:
    """A CSV for `hardening import addresses` with PAON/SAON columns as the Land Registry has."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["uprn", "saon", "paon", "street", "locality", "town", "postcode", "x", "y"])
        for a in addresses:
            paon = ", ".join(p for p in (a.building_name, a.house_number) if p)
            out.writerow(
                [a.uprn, a.saon, paon, a.street, a.locality, a.town, a.postcode, *point(a.postcode)]
            )


# -- noise --------------------------------------------------------------------------------------
def typo(rng: random.Random, word: str, shortest: int = 4) -> str:
    """One swap, drop, doubling or wrong key inside a word of `shortest` letters or more."""
    if len(word) < shortest:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    key = rng.choice(KEYBOARD)
    return word[:i] + (key.upper() if word.isupper() else key) + word[i + 1 :]


def typo_in(rng: random.Random, text: str) -> str:
    words = text.split()
    if not words:
        return text
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    words[longest] = typo(rng, words[longest], shortest=5)
    return " ".join(words)


def damage(rng: random.Random, postcode: str) -> str:
    """One character misheard or mistyped ("0" for "O" and the like), the space kept."""
    chars = list(postcode.replace(" ", ""))
    i = rng.randrange(len(chars))
    confusions = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
    chars[i] = confusions.get(chars[i]) or rng.choice(
        "ABCDEFGHJKLMNPRSTUWXYZ" if chars[i].isalpha() else "0123456789"
    )
    out = "".join(chars)
    return out[:-3] + " " + out[-3:]


def flat_line(rng: random.Random, a: Address, rest: str) -> tuple[str, bool]:
    """The flat said in one of the ways people write it; (text, flat kept)."""
    flat = a.flat
    if not flat.isalnum():  # "GARDEN FLAT", "FIRST FLOOR FLAT"
        return f"{a.saon}, {rest}", True
    forms = ["Flat {f}, {r}", "{f}/ {r}", "Apartment {f}, {r}", "{r}, flat {f}", "Loft {f} {r}"]
    if flat.isdigit() and a.house_number and not a.building_name:
        forms.append("{f}/{r}")  # 2/12 High Street
    return rng.choice(forms).format(f=flat, r=rest), True


def variant(rng: random.Random, a: Address, kind: str) -> tuple[str, set[str], dict[str, bool]]:
    """The caller's text for one main kind of noise (plus flat forms where there is a flat)."""
    kinds = {kind}
    kept = {"flat": bool(a.saon), "name": bool(a.building_name), "number": bool(a.house_number),
            "street": bool(a.street), "town": True, "postcode": True}  # fmt: skip
    street = a.street
    name = a.building_name
    if kind == "abbreviation" and street.split() and street.split()[-1] in SHORT_TYPES:
        street = " ".join([*street.split()[:-1], SHORT_TYPES[street.split()[-1]]])
    if kind == "street_typo":
        street = typo_in(rng, street)
    if kind == "name_typo":
        name = typo_in(rng, name)
    number = a.house_number
    if kind == "range_form" and "-" in number:
        number = number.replace("-", " - ") if rng.random() < 0.5 else number.replace("-", "/")
    if kind == "number_dropped":
        number, kept["number"] = "", False
    line = " ".join(p for p in (number, street) if p)
    parts = [p for p in (name, line) if p]
    if kind == "name_only":
        parts, kept["street"], kept["number"] = [name], False, False
    head = ", ".join(parts)
    if a.saon:
        head, _ = flat_line(rng, a, head)
        kinds.add("flat_form")
    tail: list[str] = []
    if kind == "locality_for_town" and a.locality:
        tail.append(a.locality)
    elif kind not in ("no_town", "name_only", "name_and_postcode"):
        tail.append(a.town)
    else:
        kept["town"] = False
    if kind in ("no_postcode", "name_only"):
        kept["postcode"] = False
    elif kind == "damaged_postcode":
        tail.append(damage(rng, a.postcode))
    elif kind == "unspaced_postcode":
        tail.append(a.postcode.replace(" ", ""))
    else:
        tail.append(a.postcode)
    if kind == "name_and_postcode":
        head, kept["street"], kept["number"] = name, False, False
        if a.saon:
            head, _ = flat_line(rng, a, head)
    said = ", ".join([head, *tail])
    if kind == "extra_words":
        said = f"{head} {rng.choice(EXTRA_WORDS)}, {', '.join(tail)}"
    if kind == "lower_case":
        said = said.lower()
    elif kind != "clean":
        said = said.title() if rng.random() < 0.5 else said.lower()
    else:
        said = said.title()
    return said, kinds, kept


def _key(a: Address, kept: dict[str, bool]) -> tuple[str, ...]:
    fields = (("flat", a.saon), ("name", a.building_name), ("number", a.house_number),
              ("street", a.street), ("town", a.town), ("postcode", a.postcode))  # fmt: skip
    return tuple(value if kept.get(k) else "*" for k, value in fields)


def kinds_for(a: Address) -> list[str]:
    kinds = ["clean", "lower_case", "abbreviation", "street_typo", "no_postcode",
             "damaged_postcode", "unspaced_postcode", "no_town", "extra_words"]  # fmt: skip
    if a.locality and a.locality != a.town:
        kinds.append("locality_for_town")
    if a.building_name:
        kinds += ["name_typo", "name_only", "name_and_postcode"]
        if a.house_number:
            kinds.append("number_dropped")
    if "-" in a.house_number:
        kinds.append("range_form")
    return kinds


def queries(addresses: list[Address], per_address: int, seed: int) -> list[Query]:
    """per_address noisy queries for every address (each of a different kind where it can)."""
    rng = random.Random(seed)
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    kept_kinds = [
        {"flat": True, "name": n, "number": u, "street": s, "town": t, "postcode": p}
        for n in (True, False) for u in (True, False) for s in (True, False)
        for t in (True, False) for p in (True, False)
    ]  # fmt: skip
    for a in addresses:
        for kept in kept_kinds:
            counts[_key(a, kept)] += 1
    out: list[Query] = []
    for a in addresses:
        for kind in rng.sample(kinds_for(a), min(per_address, len(kinds_for(a)))):
            said, kinds, kept = variant(rng, a, kind)
            full = {**kept, "flat": True}
            unique = counts[_key(a, full)] == 1
            identified = (
                kept["postcode"]
                and kind != "damaged_postcode"
                and (kept["number"] or kept["name"])
                and counts[_key(a, {"flat": True, "name": kept["name"],
                                    "number": kept["number"], "postcode": True})] == 1
            )  # fmt: skip
            out.append(Query(said, a.uprn, kinds, unique, bool(identified), kept))
    return out
