"""The register's streets, towns and postcodes, cached in the process.

Loaded from `address_vocabulary` (no personal data, no row-level security, so the cache is the
same whoever loads it) in one statement together with the state's stamp; reloaded when the
stamp changes (the database changes it whenever the register gains a street or postcode).
Token frequencies are counted over streets: a word in few street names ("Ramsden") counts
more than one in many ("Road", "Park").
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from hardening.addresses.fuzzy import FuzzyIndex
from hardening.addresses.normalise import compact_postcode, tokens

# Words in town names that do not tell towns apart.
TOWN_STOPWORDS = frozenset({"in", "on", "upon", "under", "the", "le", "by", "next", "sea"})


@dataclass(frozen=True)
class Street:
    street_id: int
    name: str  # as the register has it (addresses.street)
    town: str  # as the register has it ('' when none)
    words: tuple[str, ...]
    town_words: tuple[str, ...]  # the words that name the town (stopwords dropped)
    postcodes: frozenset[str]  # compact


@dataclass(frozen=True)
class Name:
    """A house or building name as the register has it, with where it is."""

    name_id: int
    name: str  # as the register has it (addresses.building_name)
    street: str  # '' when none
    town: str
    postcode: str  # as the register has it ('' when none)
    words: tuple[str, ...]


@dataclass
class Vocabulary:
    stamp: str
    streets: list[Street] = field(default_factory=list)
    by_word: dict[str, list[int]] = field(default_factory=dict)
    postings: dict[str, frozenset[int]] = field(default_factory=dict)
    street_weight: list[float] = field(default_factory=list)  # summed idf of a street's words
    idf: dict[str, float] = field(default_factory=dict)
    by_postcode: dict[str, list[int]] = field(default_factory=dict)  # compact -> street ids
    town_words: dict[str, set[str]] = field(default_factory=dict)  # word -> towns it names
    town_weight: dict[str, float] = field(default_factory=dict)  # rarer across towns: more
    streets_in_town_word: dict[str, frozenset[int]] = field(default_factory=dict)
    fuzzy: FuzzyIndex = field(default_factory=lambda: FuzzyIndex(()))
    postcode_index: FuzzyIndex = field(default_factory=lambda: FuzzyIndex((), edits=1))
    text_only: bool = False  # some register rows have only full text (no street part)
    names: list[Name] = field(default_factory=list)
    name_postings: dict[str, frozenset[int]] = field(default_factory=dict)  # word -> name ids
    name_idf: dict[str, float] = field(default_factory=dict)
    names_by_postcode: dict[str, list[int]] = field(default_factory=dict)  # compact -> name ids
    names_by_street: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    max_name_posting: int = 0  # name words in more names than this (cottage, house) retrieve none
    rare: float = 1.0  # the weight of a word no street name has
    max_posting: int = 0  # words in more street names than this (road, street) do not retrieve

    @classmethod
    def build(
        cls,
        stamp: str,
        rows: list[tuple[str, str, str, str]],
        names: Sequence[tuple[str, str, str, str]] = (),
    ) -> Vocabulary:
        """rows: (street, town, postcode, locality); names: (name, street, town, postcode)."""
        grouped: dict[tuple[str, str], set[str]] = defaultdict(set)
        localities: dict[tuple[str, str], set[str]] = defaultdict(set)
        for street, town, postcode, locality in rows:
            codes = grouped[(street, town)]
            if postcode:
                codes.add(compact_postcode(postcode))
            if locality and locality != town:
                localities[(street, town)].add(locality)
        vocab = cls(stamp)
        by_word: dict[str, list[int]] = defaultdict(list)
        by_postcode: dict[str, list[int]] = defaultdict(list)
        town_words: dict[str, set[str]] = defaultdict(set)
        in_town: dict[str, set[int]] = defaultdict(set)
        for street_id, ((name, town), codes) in enumerate(sorted(grouped.items())):
            words = tuple(tokens(name))
            places = [town, *sorted(localities.get((name, town), ()))]
            named = tuple(
                dict.fromkeys(w for p in places for w in tokens(p) if w not in TOWN_STOPWORDS)
            )
            vocab.streets.append(Street(street_id, name, town, words, named, frozenset(codes)))
            for word in set(words):
                by_word[word].append(street_id)
            for code in codes:
                by_postcode[code].append(street_id)
            for word in named:  # localities too: "Kempston" picks streets like "Bedford"
                in_town[word].add(street_id)
            for word in tokens(town):  # post towns only: a locality is no other town's name
                if word not in TOWN_STOPWORDS:
                    town_words[word].add(town)
        total = max(len(vocab.streets), 1)
        vocab.by_word = dict(by_word)
        vocab.postings = {w: frozenset(ids) for w, ids in by_word.items()}
        vocab.idf = {w: math.log(1 + total / len(ids)) for w, ids in by_word.items()}
        vocab.street_weight = [sum(vocab.idf[w] for w in s.words) for s in vocab.streets]
        vocab.by_postcode = dict(by_postcode)
        vocab.town_words = dict(town_words)
        vocab.streets_in_town_word = {w: frozenset(ids) for w, ids in in_town.items()}
        towns = max(len({s.town for s in vocab.streets}), 1)
        vocab.town_weight = {w: math.log(1 + towns / len(t)) for w, t in town_words.items()}
        vocab._add_names(names)
        vocab.fuzzy = FuzzyIndex(set(by_word) | set(in_town) | set(vocab.name_postings))
        vocab.postcode_index = FuzzyIndex(by_postcode, edits=1)
        vocab.max_posting = max(200, total // 25)
        vocab.rare = math.log(1 + total)
        return vocab

    def _add_names(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        postings: dict[str, set[int]] = defaultdict(set)
        by_postcode: dict[str, list[int]] = defaultdict(list)
        by_street: dict[tuple[str, str], list[int]] = defaultdict(list)
        for name_id, (name, street, town, postcode) in enumerate(sorted(set(rows))):
            words = tuple(tokens(name))
            self.names.append(Name(name_id, name, street, town, postcode, words))
            for word in set(words):
                postings[word].add(name_id)
            if postcode:
                by_postcode[compact_postcode(postcode)].append(name_id)
            if street:
                by_street[(street, town)].append(name_id)
        total = max(len(self.names), 1)
        self.name_postings = {w: frozenset(ids) for w, ids in postings.items()}
        self.name_idf = {w: math.log(1 + total / len(ids)) for w, ids in postings.items()}
        self.names_by_postcode = dict(by_postcode)
        self.names_by_street = dict(by_street)
        self.max_name_posting = max(50, total // 30)

    def knows(self, word: str) -> bool:
        """A word some street, place or house name has exactly (so not read as a typo)."""
        return (
            word in self.by_word or word in self.streets_in_town_word or word in self.name_postings
        )

    def name_weight(self, word: str) -> float:
        """Rarer words among house names count more ("Ballaskilley" more than "Cottage")."""
        return self.name_idf.get(word, self.rare)

    def word_weight(self, word: str) -> float:
        """Rarer words count more; a word absent from every street name counts as rare."""
        return self.idf.get(word, self.rare)

    def postcodes_near(self, compact: str) -> dict[str, int]:
        """Known postcodes equal to compact (0) or one substitution, insertion, deletion or
        swap away (1): a misheard character, a dropped or doubled one."""
        return self.postcode_index.lookup(compact)


_cache: dict[str, Vocabulary] = {}
_lock = threading.Lock()


def current(conn: Connection) -> Vocabulary:
    """The vocabulary as the database has it now, built at most once per stamp."""
    stamp = conn.execute(text("SELECT stamp FROM address_vocabulary_state")).scalar_one()
    cached = _cache.get("latest")
    if cached is not None and cached.stamp == stamp:
        return cached
    with _lock:
        cached = _cache.get("latest")
        if cached is not None and cached.stamp == stamp:
            return cached
        rows = conn.execute(
            text(
                "SELECT s.stamp, s.text_only, v.street, v.town, v.postcode, v.locality "
                "FROM address_vocabulary_state s LEFT JOIN address_vocabulary v ON true"
            )
        ).all()
        names = conn.execute(
            text("SELECT DISTINCT name, street, town, postcode FROM address_name_vocabulary")
        ).all()
        vocab = Vocabulary.build(
            rows[0][0],
            [(r[2], r[3], r[4], r[5]) for r in rows if r[2] is not None],
            [(r[0], r[1], r[2], r[3]) for r in names],
        )
        vocab.text_only = bool(rows[0][1])
        _cache["latest"] = vocab
        return vocab


def rebuild(conn: Connection) -> int:
    """Rebuild the vocabulary from the register (drops streets no address uses any more)."""
    return int(conn.execute(text("SELECT address_vocabulary_rebuild()")).scalar_one())
