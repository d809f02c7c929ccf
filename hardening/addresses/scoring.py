"""How well one register address explains what the caller said.

Numbers are a gate, not a score: the house number must have been said (12 is not 12a, nor
21), and so must the flat when the caller gave one. Street words count by rarity, typos at
a discount; the town and the postcode (exact, one character off, same district) add or take
away. The score is turned into a confidence by a logistic curve fitted on labelled noisy
queries (benchmarks/bench_match.py --fit), so 0.9 means right about nine times in ten.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from hardening.addresses.fuzzy import allowed_edits, osa_distance, within_one
from hardening.addresses.normalise import compact_postcode, number_key, same_word, tokens
from hardening.addresses.parse import ParsedAddress, parse
from hardening.addresses.vocabulary import TOWN_STOPWORDS, Vocabulary

# Words a caller adds that name no street or town.
FILLER = frozenset(
    {"the", "of", "and", "near", "opposite", "outside", "behind", "at", "off", "next", "to",
     "by", "beside", "above", "below", "over", "corner", "junction", "with", "just", "in", "on"}
)  # fmt: skip
W_STREET, W_TOWN, W_TOWN_CONFLICT, W_POSTCODE, W_NAME = 4.0, 1.0, 1.5, 2.5, 3.5
NAME_SAID = 0.5  # share of a house name said (by weight) that names the house
NUMBER_UNSAID = -0.6  # a named house's number left out ("Orchard Cottage, Dunham Road")
FLAT_SAID, FLAT_BARE, FLAT_LETTER, FLAT_UNSAID, FLAT_UNKNOWN, EXTRA_NUMBER = (
    0.6,
    0.5,
    0.3,
    -1.5,
    -1.2,
    -0.7,
)
# Logistic calibration of P(best candidate is right) from (score, lead over the next one).
CALIBRATION = (-1.20, 0.39, 6.14)  # bench_match.py --fit at 500,000 addresses
LEAD_CAP = 4.0
# A lone candidate is compared with what a street sharing a common word and the number scores.
LONE_RUNNER_UP = 2.5
OUT_OF_ORDER = 0.93
FLAT_AFTER = 0.3  # a bare flat number said after the house number


@dataclass(frozen=True)
class RegisterAddress:
    uprn: int
    parent_uprn: int | None
    full_address: str
    sub_building: str | None
    house_number: str | None
    street: str | None
    town: str | None
    postcode: str | None
    property_type: str
    building_name: str | None = None
    locality: str | None = None


@dataclass(frozen=True)
class Scored:
    address: RegisterAddress
    score: float


@lru_cache(maxsize=200_000)
def word_similarity(register: str, said: str) -> float:
    if same_word(register, said):
        return 1.0
    if len(said) >= 4 and register.startswith(said) and len(said) >= 0.6 * len(register):
        return 0.8
    limit = allowed_edits(max(len(register), len(said)))
    if limit == 0:
        return 0.0
    distance = osa_distance(register, said, limit)
    if distance > limit:
        return 0.0
    if distance == 1:
        return 0.85 if len(register) >= 6 else 0.75
    return 0.65


def street_fit(
    vocab: Vocabulary,
    street_words: tuple[str, ...],
    words: tuple[str, ...],
    taken: frozenset[int] = frozenset(),
    weigh: Callable[[str], float] | None = None,
) -> tuple[float, dict[int, float]]:
    """Weighted share of the street's (or a house name's, with its weigh) words the caller
    said, typos discounted, and which of the caller's words were used, with their similarity.
    taken: the caller's words already used by another part of the address."""
    if not street_words:
        return 0.0, {}
    weigh = weigh or vocab.word_weight
    used: dict[int, float] = {}
    order: list[int] = []
    total = got = 0.0
    for register_word in street_words:
        if register_word in FILLER:
            continue  # "The Chase": the caller's "the" is never counted either
        weight = weigh(register_word)
        total += weight
        best, best_j = 0.0, -1
        for j, said in enumerate(words):
            if j in used or j in taken:
                continue
            sim = word_similarity(register_word, said)
            if sim > best:
                best, best_j = sim, j
        if best_j >= 0:
            used[best_j] = best
            order.append(best_j)
            got += weight * best
    if len(order) > 1 and order != sorted(order):
        got *= OUT_OF_ORDER  # "Elm Yew Road" is not "Yew Elm Road"
    return (got / total if total else 0.0), used


def words_fit(
    vocab: Vocabulary,
    street_words: tuple[str, ...],
    town_words: tuple[str, ...],
    words: tuple[str, ...],
    name_words: tuple[str, ...] = (),
) -> tuple[float, float, float, float]:
    """(street fit, town fit, other town named, house name fit). The street fit averages the
    share of the street's words said and the share of the caller's words (towns aside) the
    house name and street explain, so "22 Fell Park" is far from "22 Park Avenue". The town
    fit is its most distinctive word said ("Barrow" names Barrow-in-Furness; "Furness" alone
    only half does). The house name fit is the share of its words said, rarer words counting
    more ("Ballaskilley" more than "Farm")."""
    named, by_name = street_fit(vocab, name_words, words, weigh=vocab.name_weight)
    if named < NAME_SAID:  # a common word of the name said ("house") does not name the house
        named, by_name = 0.0, {}
    recall, used = street_fit(vocab, street_words, words, frozenset(by_name))
    used = {**by_name, **used}
    town_best = 0.0
    conflict = 0.0
    said_total = said_used = 0.0
    top = max((vocab.town_weight.get(t, 1.0) for t in town_words), default=1.0)
    # A town is said after the street: a town word among the street's words ("Wasdale Furness
    # Avenue") belongs to some other street's name, not to the town.
    street_end = max(used, default=-1)
    for j, said in enumerate(words):
        if j not in used and j > street_end:
            # A word the register knows ("Walton") is not a typo of a town ("Dalton").
            known = vocab.knows(said)
            hit = max(
                (
                    vocab.town_weight.get(t, 1.0) * similarity
                    for t in town_words
                    if (
                        similarity := 1.0
                        if t == said
                        else 0.0
                        if known
                        else word_similarity(t, said)
                    )
                    >= 0.75
                ),
                default=0.0,
            )
            if hit:
                town_best = max(town_best, hit / top)
                continue
            if said in vocab.town_words:
                conflict = max(conflict, vocab.town_weight[said] / top)
                continue
            if said in TOWN_STOPWORDS:
                continue
        weight = vocab.word_weight(said)
        said_total += weight
        said_used += weight * used.get(j, 0.0)
    precision = said_used / said_total if said_total else 1.0
    street = (recall + precision) / 2 if street_words else precision / 2
    return street, town_best, min(conflict, 1.0), named


def postcode_fit(near: dict[str, int], said: str | None, outward: str | None, code: str) -> float:
    """How the candidate's compact postcode (code, '' for none) agrees with the compact one
    said. near: the known postcodes it may be (0 = said exactly, 1 = one character off)."""
    if said:
        if code in near:
            return 1.0 if near[code] == 0 else 0.6
        if code and within_one(code, said):
            return 0.25  # the caller said a real postcode one character from this one
        if code and any(code[:-3] == k[:-3] and code[-3] == k[-3] for k in near):
            return 0.2
        return -0.4 if code else 0.0
    if outward:
        return 0.3 if code[:-3] == outward else -0.2
    return 0.0


def _flat_fit(q: ParsedAddress, flat: str | None, numbers: list[str]) -> float | None:
    """How the flat said agrees with the candidate's, once its house is accounted for;
    numbers: the caller's numbers the house did not use."""
    if flat is None:
        if q.flat is not None or q.slash_house is not None:
            return FLAT_UNKNOWN + EXTRA_NUMBER * len(numbers)
        return EXTRA_NUMBER * len(numbers)
    if q.flat is not None:
        return FLAT_SAID + EXTRA_NUMBER * len(numbers) if q.flat == flat else None
    if flat in numbers:
        numbers.remove(flat)
        return FLAT_BARE + EXTRA_NUMBER * len(numbers)
    if numbers:
        return None  # another number was said where the flat's should be
    return FLAT_UNSAID


def number_fit(
    q: ParsedAddress, house: str | None, flat: str | None, named: bool = False
) -> float | None:
    """None when the numbers disagree; otherwise a small bonus or penalty for the flat.
    named: the caller said the house's name, which identifies it without its number."""
    numbers = list(q.numbers)
    if house is None:
        return _flat_fit(q, flat, numbers) if named else None
    letter_flat = False
    if house in numbers:
        numbers.remove(house)
    elif house == q.slash_house:
        pass
    elif q.flat is not None and f"{q.flat}-{q.slash_house}" == house:
        return EXTRA_NUMBER * len(numbers) if flat is None else FLAT_UNSAID  # "29/31": 29-31
    elif flat and flat.isalpha() and len(flat) == 1 and house + flat in numbers:
        numbers.remove(house + flat)  # "12a" said for Flat A at 12
        letter_flat = True
    elif q.flat == house and q.slash_house is not None and q.slash_house == flat:
        return FLAT_BARE  # "12/3" for flat 3 at 12
    elif named and q.flat is not None and q.flat == flat:
        # "Flat 6, Linden House" for flat 6 of Linden House, 6 Crosby Street: the name found
        # the building, so the number said is the flat's, not the house's.
        return FLAT_SAID + EXTRA_NUMBER * len(numbers) + NUMBER_UNSAID
    elif q.flat == house and q.slash_house is None and not numbers and not q.flat.isalpha():
        # "Loft Flat, 59 Burleigh Piece" said as "flat 59 burleigh piece": the house is 59
        return FLAT_UNKNOWN if flat is None else FLAT_UNSAID
    elif named:
        fit = _flat_fit(q, flat, numbers)
        return None if fit is None else fit + NUMBER_UNSAID
    else:
        return None
    if letter_flat:
        return FLAT_LETTER + EXTRA_NUMBER * len(numbers)
    # "5 8 Regent Road" is flat 5 at 8 more often than flat 8 at 5.
    bare_after = (
        flat is not None
        and q.flat is None
        and flat in numbers
        and house in q.numbers
        and q.numbers.index(flat) >= q.numbers.index(house)
    )
    fit = _flat_fit(q, flat, numbers)
    return fit - FLAT_AFTER if fit is not None and bare_after else fit


@lru_cache(maxsize=100_000)
def _compact(postcode: str | None) -> str:
    return compact_postcode(postcode) if postcode else ""


@lru_cache(maxsize=100_000)
def _number(value: str | None) -> str | None:
    return number_key(value)


@lru_cache(maxsize=100_000)
def _street_parts(
    street: str, town: str | None, locality: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    places = tokens(f"{locality or ''} {town or ''}")
    town_words = tuple(dict.fromkeys(w for w in places if w not in TOWN_STOPWORDS))
    return tuple(tokens(street)), town_words


@lru_cache(maxsize=100_000)
def _name_words(name: str | None) -> tuple[str, ...]:
    return tuple(tokens(name)) if name else ()


WordsFit = dict[tuple[str | None, ...], tuple[float, float, float, float]]


def score(
    vocab: Vocabulary,
    q: ParsedAddress,
    near: dict[str, int],
    a: RegisterAddress,
    memo: WordsFit | None = None,
) -> float | None:
    """The candidate's score, or None when its numbers disagree with what was said. memo
    keeps the street's fit for the other candidates of the same query on the same street."""
    house = _number(a.house_number)
    flat = _number(a.sub_building)
    structured = bool(a.street or a.building_name)
    if house is None and not structured:  # a row with text only: numbers from its text
        parsed = parse(a.full_address)
        house = parsed.numbers[-1] if parsed.numbers else None
        flat = parsed.flat
    unnumbered_flat = house is None and not a.building_name
    if unnumbered_flat and flat is None:
        return None  # neither a number, a name nor a flat: nothing the caller said can pick it
    key = (a.street, a.town, a.locality, a.building_name) if structured else (a.full_address,)
    fit = memo.get(key) if memo is not None else None
    if fit is None:
        if structured:
            street_words, town_words = _street_parts(a.street or "", a.town, a.locality)
        else:
            street_words, town_words = parse(a.full_address).words, ()
        words = tuple(w for w in q.words if w not in FILLER)
        fit = words_fit(vocab, street_words, town_words, words, _name_words(a.building_name))
        if memo is not None:
            memo[key] = fit
    street, town, conflict, named = fit
    # A flat with neither number nor name ("Flat 15, Halliard Court") is picked by its flat.
    numbers = number_fit(q, house, flat, named >= NAME_SAID or unnumbered_flat)
    if numbers is None:
        return None
    postcode = postcode_fit(near, q.postcode or q.postcode_attempt, q.outward, _compact(a.postcode))
    return (
        W_STREET * street
        + W_NAME * named
        + W_TOWN * town
        - W_TOWN_CONFLICT * conflict
        + W_POSTCODE * postcode
        + numbers
    )


def confidence(best: float, lead: float) -> float:
    """Calibrated probability that the best candidate is the address meant."""
    b0, b_score, b_lead = CALIBRATION
    z = b0 + b_score * best + b_lead * min(lead, LEAD_CAP)
    return 1.0 / (1.0 + math.exp(-z))
