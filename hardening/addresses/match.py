"""Free text to UPRN: the whole pipeline, for one query or a batch, set-based in the database.

1. Parse each query; resolve its postcode against the cached vocabulary (exact, or one
   character off), and shortlist streets from its words (typo-tolerant, rarer words first) and
   from those postcodes.
2. One SQL statement fetches, for every query at once, the register rows on the shortlisted
   streets or postcodes whose house number the caller said. Only `=` comparisons, which are
   leakproof, so the (street, house_number) and postcode indexes work under row-level
   security and each actor only ever sees candidates it may see.
3. Score every candidate, calibrate the best one's confidence, and say "ambiguous" with the
   top candidates when the runner-up is close.
When the register holds rows with no street part (text-only imports), queries the structured
path cannot answer fall back to trigram similarity over those rows.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, text

from hardening.addresses import vocabulary
from hardening.addresses.normalise import STREET_TYPES, format_postcode
from hardening.addresses.parse import MAX_QUERY_CHARS, ParsedAddress, parse
from hardening.addresses.scoring import (
    FILLER,
    LONE_RUNNER_UP,
    RegisterAddress,
    Scored,
    WordsFit,
    confidence,
    score,
)
from hardening.addresses.vocabulary import TOWN_STOPWORDS, Vocabulary
from hardening.errors import UserInputError

Status = Literal["matched", "ambiguous", "low_confidence", "no_match"]
ALIASES = {"st": ("street",), "street": ("st",)}  # as same_word has it
HIGH_CONFIDENCE = 0.9
AMBIGUOUS_LEAD = 0.5  # score points: a runner-up closer than this makes the answer ambiguous
SHORTLIST = 8  # streets whose addresses are fetched and scored, per query
NAME_SHORTLIST = 12  # house names whose addresses are fetched and scored, per query
TOP = 5
MAX_BATCH = 200_000
CHUNK = 2_000  # queries per candidate statement in a batch

_COLUMNS = (
    "a.uprn, a.parent_uprn, a.full_address, a.sub_building, a.house_number, a.street, a.town, "
    "a.postcode, a.property_type, a.building_name, a.locality"
)
_FETCH = text(f"""
    WITH by_street AS (
        SELECT * FROM unnest(CAST(:s_qid AS int[]), CAST(:s_street AS text[]),
                             CAST(:s_town AS text[]), CAST(:s_number AS text[]),
                             CAST(:s_flats AS boolean[])) AS w(qid, street, town, number, flats)
    ), by_postcode AS (
        SELECT * FROM unnest(CAST(:p_qid AS int[]), CAST(:p_postcode AS text[]),
                             CAST(:p_number AS text[]), CAST(:p_flats AS boolean[]))
               AS w(qid, postcode, number, flats)
    ), by_name AS (
        SELECT * FROM unnest(CAST(:n_qid AS int[]), CAST(:n_name AS text[]),
                             CAST(:n_street AS text[]), CAST(:n_town AS text[]),
                             CAST(:n_postcode AS text[]), CAST(:n_flats AS boolean[]))
               AS w(qid, name, street, town, postcode, flats)
    )
    SELECT w.qid, {_COLUMNS} FROM by_street w
    JOIN addresses a ON a.street = w.street AND a.house_number = w.number
    WHERE coalesce(a.town, '') = w.town AND (w.flats OR a.sub_building IS NULL)
    UNION
    SELECT w.qid, {_COLUMNS} FROM by_postcode w
    JOIN addresses a ON a.postcode = w.postcode AND a.house_number = w.number
    WHERE w.flats OR a.sub_building IS NULL
    UNION
    SELECT w.qid, {_COLUMNS} FROM by_name w
    JOIN addresses a ON a.building_name = w.name
    WHERE coalesce(a.street, '') = w.street AND coalesce(a.town, '') = w.town
      AND coalesce(a.postcode, '') = w.postcode AND (w.flats OR a.sub_building IS NULL)
    UNION  -- flats with neither a house number nor a name ("Flat 15, Halliard Court")
    SELECT w.qid, {_COLUMNS} FROM (SELECT DISTINCT qid, street, town FROM by_street
                                   WHERE flats) w
    JOIN addresses a ON a.street = w.street AND a.house_number IS NULL
    WHERE coalesce(a.town, '') = w.town AND a.building_name IS NULL
      AND a.sub_building IS NOT NULL
    UNION
    SELECT w.qid, {_COLUMNS} FROM (SELECT DISTINCT qid, postcode FROM by_postcode
                                   WHERE flats) w
    JOIN addresses a ON a.postcode = w.postcode
    WHERE a.house_number IS NULL AND a.building_name IS NULL AND a.sub_building IS NOT NULL
""")
_TRIGRAM = text(f"""
    SELECT {_COLUMNS} FROM addresses a
    WHERE a.street IS NULL AND a.full_address % :q
    ORDER BY similarity(a.full_address, :q) DESC LIMIT 20
""")


@dataclass(frozen=True)
class Candidate:
    uprn: int
    full_address: str
    parent_uprn: int | None
    property_type: str
    score: float
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "uprn": self.uprn,
            "full_address": self.full_address,
            "parent_uprn": self.parent_uprn,
            "property_type": self.property_type,
            "score": round(self.score, 3),
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class MatchResult:
    query: str
    status: Status
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def uprn(self) -> int | None:
        return self.best.uprn if self.best else None

    @property
    def confidence(self) -> float:
        return self.best.confidence if self.best else 0.0

    @property
    def runner_up(self) -> Candidate | None:
        return self.candidates[1] if len(self.candidates) > 1 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "status": self.status,
            "uprn": self.uprn,
            "confidence": round(self.confidence, 4),
            "candidates": [c.as_dict() for c in self.candidates],
        }


@dataclass
class _Plan:
    q: ParsedAddress
    near: dict[str, int]
    streets: list[int]
    names: list[int]


def _near_postcodes(vocab: Vocabulary, q: ParsedAddress) -> dict[str, int]:
    said = q.postcode or q.postcode_attempt
    if not said or not 5 <= len(said) <= 8:
        return {}
    if said in vocab.by_postcode:  # said right (or wrong but real: the words will tell)
        return {said: 0}
    return vocab.postcodes_near(said)


def _retrieve(vocab: Vocabulary, words: tuple[str, ...]) -> dict[int, float]:
    """Streets holding the caller's words, weighted by how rare those words are.

    Rare words retrieve; a town's word at half weight (it may be the town, as "Barrow" is, or
    the street, as "Ellesmere" in Ellesmere Road is). Common words (kinds of street, words in
    many names) only add weight to streets already retrieved, or, when no rare word retrieved
    anything, retrieve the streets holding two of them. A word the vocabulary has exactly is
    not read as a typo of another ("lane" is not "Lune")."""
    weight: dict[int, float] = defaultdict(float)
    by_town: dict[int, float] = defaultdict(float)  # streets retrieved by a town's word only
    common: list[tuple[int, frozenset[int], float]] = []
    for j, word in enumerate(words):
        hits = {word: 0} if vocab.knows(word) else vocab.fuzzy.lookup(word)
        for alias in ALIASES.get(word, ()):
            hits.setdefault(alias, 0)
        for hit, distance in hits.items():
            posting = vocab.postings.get(hit)
            if not posting:
                continue
            gain = vocab.idf[hit] * (1.0 if distance == 0 else 0.7)
            if len(posting) > vocab.max_posting or hit in STREET_TYPES:
                common.append((j, posting, gain))
                continue
            townish = hit in vocab.town_words or hit in TOWN_STOPWORDS
            for street_id in posting:
                (by_town if townish else weight)[street_id] += gain * (0.5 if townish else 1.0)
    town_said = any(w in vocab.streets_in_town_word for w in words)
    if not weight or town_said:  # "122 The Grove, Southend-on-Sea": no rare word for the street
        for street_id, gain in _common_pool(vocab, words, common, town_only=bool(weight)).items():
            weight.setdefault(street_id, gain)
    for street_id, gain in by_town.items():
        weight[street_id] += gain
    for _, posting, gain in common:
        for street_id in posting & weight.keys():
            weight[street_id] += gain
    return weight


def _common_pool(
    vocab: Vocabulary,
    words: tuple[str, ...],
    common: list[tuple[int, frozenset[int], float]],
    town_only: bool = False,
) -> dict[int, float]:
    """The streets holding two of the common words said ("11 Park Avenue, Bristol"), in the
    town said when one was (so a large pool is cut to that town); town_only: none elsewhere."""
    by_word: dict[int, set[int]] = defaultdict(set)
    for j, posting, _ in common:
        by_word[j] |= posting
    sets = sorted(by_word.values(), key=len)[:4]
    pool: set[int] = set()
    for i, first in enumerate(sets):
        for second in sets[i + 1 :]:
            pool |= first & second
    if not pool and len(sets) == 1:
        pool = sets[0]
    towns = [vocab.streets_in_town_word[w] for w in words if w in vocab.streets_in_town_word]
    if towns:
        in_town = pool & frozenset().union(*towns)
        pool = in_town or (set() if town_only else pool)
    elif town_only:
        return {}
    if len(pool) > 5 * vocab.max_posting:
        return {}
    return {street_id: 0.0 for street_id in pool}


def _shortlist(vocab: Vocabulary, q: ParsedAddress, near: dict[str, int]) -> list[int]:
    """Streets worth fetching: those of the postcode said when it exists, and the most
    promising of those the words retrieve (rare words said, few of the street's own words
    unsaid, the town said, a postcode one character off)."""
    words = tuple(w for w in q.words if w not in FILLER)
    weight = _retrieve(vocab, words)
    exact = [code for code, edits in near.items() if edits == 0]
    for code, edits in near.items():
        if edits:
            for street_id in vocab.by_postcode.get(code, ()):
                weight[street_id] += 1.0 if exact else 3.0
    for word in words:
        town = vocab.streets_in_town_word.get(word)
        if town is not None:
            for street_id in [sid for sid in weight if sid in town]:
                weight[street_id] += 2.0
    chosen = [sid for code in exact for sid in vocab.by_postcode.get(code, ())]
    if not weight:
        return chosen
    floor = 0.4 * max(weight.values())
    totals = vocab.street_weight
    promising = [
        (w - 0.5 * max(0.0, totals[sid] - w), sid)
        for sid, w in weight.items()
        if w >= floor and sid not in chosen
    ]
    return chosen + [sid for _, sid in heapq.nlargest(SHORTLIST, promising)]


def _shortlist_names(
    vocab: Vocabulary, q: ParsedAddress, near: dict[str, int], streets: list[int]
) -> list[int]:
    """House names worth fetching: those holding the caller's rarer words (typos allowed),
    weighted up when at a postcode said or on a street shortlisted. Words in many names
    ("cottage", "house") only add weight to names retrieved another way."""
    if not vocab.names:
        return []
    weight: dict[int, float] = defaultdict(float)
    common: list[tuple[frozenset[int], float]] = []
    for word in q.words:
        if word in FILLER:
            continue
        hits = {word: 0} if vocab.knows(word) else vocab.fuzzy.lookup(word)
        for hit, distance in hits.items():
            posting = vocab.name_postings.get(hit)
            if not posting:
                continue
            gain = vocab.name_idf[hit] * (1.0 if distance == 0 else 0.7)
            if len(posting) > vocab.max_name_posting:
                common.append((posting, gain))
                continue
            for name_id in posting:
                weight[name_id] += gain
    for code, edits in near.items():
        for name_id in vocab.names_by_postcode.get(code, ()):
            weight[name_id] += 3.0 if edits == 0 else 1.5
    for street_id in streets:
        street = vocab.streets[street_id]
        for name_id in vocab.names_by_street.get((street.name, street.town), ()):
            weight[name_id] += 1.0
    for posting, gain in common:
        for name_id in posting & weight.keys():
            weight[name_id] += gain
    if not weight:
        return []
    unsaid = {
        name_id: sum(vocab.name_weight(w) for w in vocab.names[name_id].words) for name_id in weight
    }
    ranked = heapq.nlargest(
        NAME_SHORTLIST,
        weight,
        key=lambda name_id: weight[name_id] - 0.3 * max(0.0, unsaid[name_id] - weight[name_id]),
    )
    floor = 0.3 * weight[ranked[0]]
    return [name_id for name_id in ranked if weight[name_id] >= floor]


def _number_variants(q: ParsedAddress) -> list[str]:
    """House numbers as the register may spell them: '12a' -> 12a, 12A, and 12 (Flat A);
    '29/31' -> also the range 29-31."""
    out: set[str] = set()
    for n in q.all_numbers:
        out.update({n, n.upper()})
        if n[-1].isalpha():
            out.add(n[:-1])
    if q.flat is not None and q.slash_house is not None:
        out.add(f"{q.flat}-{q.slash_house}")
    return sorted(out)


def _plan(vocab: Vocabulary, text_value: str) -> _Plan:
    q = parse(text_value)
    near = _near_postcodes(vocab, q)
    streets = _shortlist(vocab, q, near)
    return _Plan(q, near, streets, _shortlist_names(vocab, q, near, streets))


def _mentions_flat(q: ParsedAddress) -> bool:
    """Whether the caller may have named a flat: a flat word, two numbers, or "12a"."""
    return (
        q.flat is not None
        or q.slash_house is not None
        or len(q.numbers) > 1
        or any(n[-1].isalpha() for n in q.numbers)
    )


def _fetch(
    conn: Connection, vocab: Vocabulary, plans: dict[int, _Plan], all_flats: bool = False
) -> dict[int, list[RegisterAddress]]:
    """Candidates of every plan (by query id) in one statement. Flats are fetched only when
    the caller may have named one (or all_flats): otherwise the house or the block is the
    answer, and a 60-flat block would only add 60 candidates that cannot win."""
    s: dict[str, list[Any]] = {k: [] for k in ("qid", "street", "town", "number", "flats")}
    p: dict[str, list[Any]] = {k: [] for k in ("qid", "postcode", "number", "flats")}
    named: dict[str, list[Any]] = {k: [] for k in ("qid", "name", "street", "town", "postcode")}
    named_flats: list[bool] = []
    for qid, plan in plans.items():
        flats = all_flats or _mentions_flat(plan.q)
        # A number said beside a building's name may be its flat's ("9 Bentley House" for
        # Flat 9, Bentley House, 21 Wellington Way): fetch the named buildings' flats too.
        named_with_flats = flats or bool(plan.q.numbers)
        for name_id in plan.names:
            name = vocab.names[name_id]
            for key, value in zip(
                named, (qid, name.name, name.street, name.town, name.postcode), strict=True
            ):
                named[key].append(value)
            named_flats.append(named_with_flats)
        numbers = _number_variants(plan.q)
        for street_id in plan.streets:
            street = vocab.streets[street_id]
            for n in numbers:
                for key, value in zip(s, (qid, street.name, street.town, n, flats), strict=True):
                    s[key].append(value)
        exact = [code for code, edits in plan.near.items() if edits == 0]
        for code in exact or plan.near:
            for n in numbers:
                for key, value in zip(p, (qid, format_postcode(code), n, flats), strict=True):
                    p[key].append(value)
    found: dict[int, list[RegisterAddress]] = defaultdict(list)
    if not s["qid"] and not p["qid"] and not named["qid"]:
        return found
    params = (
        {f"s_{k}": v for k, v in s.items()}
        | {f"p_{k}": v for k, v in p.items()}
        | {f"n_{k}": v for k, v in named.items()}
        | {"n_flats": named_flats}
    )
    for row in conn.execute(_FETCH, params):
        found[row[0]].append(RegisterAddress(*row[1:]))
    return found


def _trigram(conn: Connection, q: ParsedAddress) -> list[RegisterAddress]:
    conn.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.3', true)"))
    return [RegisterAddress(*row) for row in conn.execute(_TRIGRAM, {"q": q.text})]


def _decide(vocab: Vocabulary, plan: _Plan, rows: list[RegisterAddress], top: int) -> MatchResult:
    scored: dict[int, Scored] = {}
    memo: WordsFit = {}
    for address in rows:
        value = score(vocab, plan.q, plan.near, address, memo)
        if value is not None and (address.uprn not in scored or scored[address.uprn].score < value):
            scored[address.uprn] = Scored(address, value)
    ranked = sorted(scored.values(), key=lambda s: (-s.score, s.address.uprn))
    if not ranked:
        return MatchResult(plan.q.text, "no_match")
    candidates: list[Candidate] = []
    for i, item in enumerate(ranked[:top]):
        others = [r.score for j, r in enumerate(ranked[: top + 1]) if j != i]
        lead = item.score - (max(others) if others else LONE_RUNNER_UP)
        a = item.address
        candidates.append(
            Candidate(
                a.uprn,
                a.full_address,
                a.parent_uprn,
                a.property_type,
                item.score,
                confidence(item.score, lead),
            )
        )
    best = candidates[0]
    close = len(ranked) > 1 and ranked[0].score - ranked[1].score < AMBIGUOUS_LEAD
    status: Status
    if best.confidence >= HIGH_CONFIDENCE and not close:
        status = "matched"
    elif close:
        status = "ambiguous"
    else:
        status = "low_confidence"
    return MatchResult(plan.q.text, status, candidates)


def _check(text_value: str) -> str:
    cleaned = " ".join(str(text_value).split())
    if not cleaned:
        raise UserInputError("address text is empty")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise UserInputError(f"address text is longer than {MAX_QUERY_CHARS} characters")
    return cleaned


def _candidates(
    conn: Connection, vocab: Vocabulary, plans: dict[int, _Plan]
) -> dict[int, list[RegisterAddress]]:
    """Everything the database holds for these plans: one statement, then (rarely) flats at
    numbers that have no house or block row, and trigram search for text-only rows."""
    found = _fetch(conn, vocab, plans)
    retry = {
        qid: plan
        for qid, plan in plans.items()
        if qid not in found
        and not _mentions_flat(plan.q)
        and (plan.streets or plan.near or plan.names)
    }
    if retry:
        found.update(_fetch(conn, vocab, retry, all_flats=True))
    if vocab.text_only:  # rows with no street part: only their text can find them
        for qid, plan in plans.items():
            if qid not in found:
                found[qid] = _trigram(conn, plan.q)
    return found


def match_many(conn: Connection, texts: Sequence[str], top: int = TOP) -> list[MatchResult]:
    """Match a batch of free-text addresses: one candidate statement per chunk of CHUNK
    queries. The database fetches one chunk while Python parses the next and scores the
    last (the connection is only ever used by one thread at a time)."""
    if len(texts) > MAX_BATCH:
        raise UserInputError(f"at most {MAX_BATCH:,} addresses per batch")
    cleaned = [_check(t) for t in texts]
    vocab = vocabulary.current(conn)
    chunks = [range(i, min(i + CHUNK, len(cleaned))) for i in range(0, len(cleaned), CHUNK)]
    results: list[MatchResult] = []
    if len(chunks) <= 1:
        plans = {qid: _plan(vocab, cleaned[qid]) for qid in range(len(cleaned))}
        found = _candidates(conn, vocab, plans)
        return [_decide(vocab, plan, found.get(qid, []), top) for qid, plan in plans.items()]
    with ThreadPoolExecutor(max_workers=1) as database:
        plans = {qid: _plan(vocab, cleaned[qid]) for qid in chunks[0]}
        pending: Future[dict[int, list[RegisterAddress]]] = database.submit(
            _candidates, conn, vocab, plans
        )
        for k in range(len(chunks)):
            following = (
                {qid: _plan(vocab, cleaned[qid]) for qid in chunks[k + 1]}
                if k + 1 < len(chunks)
                else {}
            )
            found = pending.result()
            if following:
                pending = database.submit(_candidates, conn, vocab, following)
            results.extend(
                _decide(vocab, plan, found.get(qid, []), top) for qid, plan in plans.items()
            )
            plans = following
    return results


def match(conn: Connection, text_value: str, top: int = TOP) -> MatchResult:
    """Match one free-text address (what a caller said) to the register."""
    return match_many(conn, [text_value], top)[0]
