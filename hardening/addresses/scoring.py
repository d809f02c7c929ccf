"""How well one register address explains what the caller said.

Numbers are a gate, not a score: the house number must have been said (12 is not 12a, nor
21), and so must the flat when the caller gave one. Street words count by rarity, typos at
a discount; the town and the postcode (exact, one character off, same district) add or take
away. The score is turned into a confidence by a logistic curve fitted on labelled noisy
queries (benchmarks/bench_match.py --fit), so 0.9 means right about nine times in ten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from hardening.addresses.fuzzy import allowed_edits, osa_distance, within_one
from hardening.addresses.normalise import compact_postcode, number_key, same_word, tokens
from hardening.addresses.parse import ParsedAddress, parse
from hardening.addresses.vocabulary import TOWN_STOPWORDS, Vocabulary

# Words a caller adds that name no street or town.
FILLER = frozenset({"the", "of", "and", "near", "opposite", "outside", "behind", "at", "off"})
W_STREET, W_TOWN, W_TOWN_CONFLICT, W_POSTCODE = 4.0, 1.0, 1.5, 2.5
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
    vocab: Vocabulary, street_words: tuple[str, ...], words: tuple[str, ...]
) -> tuple[float, dict[int, float]]:
    """Weighted share of the street's words the caller said (typos discounted), and which of
    the caller's words were used, with their similarity."""
    if not street_words:
        return 0.0, {}
    used: dict[int, float] = {}
    order: list[int] = []
    total = got = 0.0
    for register_word in street_words:
        weight = vocab.word_weight(register_word)
        total += weight
        best, best_j = 0.0, -1
        for j, said in enumerate(words):
            if j in used:
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
    return got / total, used


def words_fit(
    vocab: Vocabulary,
    street_words: tuple[str, ...],
    town_words: tuple[str, ...],
    words: tuple[str, ...],
) -> tuple[float, float, float]:
    """(street fit, town fit, other town named). The street fit averages the share of the
    street's words said and the share of the caller's words (towns aside) the street explains,
    so "22 Fell Park" is far from "22 Park Avenue". The town fit is its most distinctive word
    said ("Barrow" names Barrow-in-Furness; "Furness" alone only half does)."""
    recall, used = street_fit(vocab, street_words, words)
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
            known = said in vocab.idf or said in vocab.town_words
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
    return (recall + precision) / 2, town_best, min(conflict, 1.0)


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


def number_fit(q: ParsedAddress, house: str | None, flat: str | None) -> float | None:
    """None when the numbers disagree; otherwise a small bonus or penalty for the flat."""
    numbers = list(q.numbers)
    if house is None:
        return None
    letter_flat = False
    if house in numbers:
        numbers.remove(house)
    elif house == q.slash_house:
        pass
    elif flat and flat.isalpha() and len(flat) == 1 and house + flat in numbers:
        numbers.remove(house + flat)  # "12a" said for Flat A at 12
        letter_flat = True
    elif q.flat == house and q.slash_house is not None and q.slash_house == flat:
        return FLAT_BARE  # "12/3" for flat 3 at 12
    else:
        return None
    if flat is None:
        if q.flat is not None or q.slash_house is not None:
            return FLAT_UNKNOWN + EXTRA_NUMBER * len(numbers)
        return EXTRA_NUMBER * len(numbers)
    if letter_flat:
        return FLAT_LETTER + EXTRA_NUMBER * len(numbers)
    if q.flat is not None:
        return FLAT_SAID + EXTRA_NUMBER * len(numbers) if q.flat == flat else None
    if flat in numbers:
        # "5 8 Regent Road" is flat 5 at 8 more often than flat 8 at 5.
        first = q.numbers.index(flat) < q.numbers.index(house) if house in q.numbers else True
        numbers.remove(flat)
        return FLAT_BARE - (0.0 if first else FLAT_AFTER) + EXTRA_NUMBER * len(numbers)
    if numbers:
        return None  # another number was said where the flat's should be
    return FLAT_UNSAID


@lru_cache(maxsize=100_000)
def _compact(postcode: str | None) -> str:
    return compact_postcode(postcode) if postcode else ""


@lru_cache(maxsize=100_000)
def _number(value: str | None) -> str | None:
    return number_key(value)


@lru_cache(maxsize=100_000)
def _street_parts(street: str, town: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    town_words = tuple(w for w in tokens(town or "") if w not in TOWN_STOPWORDS)
    return tuple(tokens(street)), town_words


WordsFit = dict[tuple[str | None, str | None], tuple[float, float, float]]


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
    if house is None and a.street is None:  # a row with text only: numbers from its text
        parsed = parse(a.full_address)
        house = parsed.numbers[-1] if parsed.numbers else None
        flat = parsed.flat
    numbers = number_fit(q, house, flat)
    if numbers is None:
        return None
    key = (a.street, a.town) if a.street else (a.full_address, None)
    fit = memo.get(key) if memo is not None else None
    if fit is None:
        if a.street:
            street_words, town_words = _street_parts(a.street, a.town)
        else:
            street_words, town_words = parse(a.full_address).words, ()
        words = tuple(w for w in q.words if w not in FILLER)
        fit = words_fit(vocab, street_words, town_words, words)
        if memo is not None:
            memo[key] = fit
    street, town, conflict = fit
    postcode = postcode_fit(near, q.postcode or q.postcode_attempt, q.outward, _compact(a.postcode))
    return (
        W_STREET * street
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
