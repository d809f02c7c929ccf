"""Typo-tolerant word look-up over a small vocabulary (street and town words).

A symmetric-delete index: every vocabulary word is stored under each string made by deleting
up to k of its characters, and a query word is looked up under its own deletions, so words
within k edits meet without comparing against the whole vocabulary. Hits are confirmed with
the optimal-string-alignment distance (a swap of two neighbours counts as one edit).
pg_trgm does this badly for short words ("rmasden" shares 4 of 12 trigrams with "ramsden").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations

MEMO_SIZE = 200_000


def allowed_edits(length: int) -> int:
    """Edits tolerated for a word of this length: none for 1-3 letters, then 1, then 2."""
    if length <= 3:
        return 0
    return 1 if length <= 6 else 2


def deletions(word: str, k: int) -> set[str]:
    out = {word}
    for d in range(1, min(k, len(word) - 1) + 1):
        for drop in combinations(range(len(word)), d):
            out.add("".join(c for i, c in enumerate(word) if i not in drop))
    return out


def within_one(a: str, b: str) -> bool:
    """One substitution, insertion, deletion or swap of neighbours apart (or equal)."""
    if len(a) < len(b):
        a, b = b, a
    if len(a) - len(b) > 1:
        return False
    i = 0
    while i < len(b) and a[i] == b[i]:
        i += 1
    if len(a) > len(b):
        return a[i + 1 :] == b[i:]
    if i == len(a):
        return True
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or limit + 1 once it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if limit == 1:
        return 0 if a == b else 1 if within_one(a, b) else 2
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class FuzzyIndex:
    """edits: a fixed number of edits for every word (postcodes), else by length."""

    def __init__(self, words: Iterable[str], edits: int | None = None) -> None:
        self.words = set(words)
        self.edits = edits
        self._memo: dict[str, dict[str, int]] = {}  # callers say the same words again and again
        self._index: dict[str, set[str]] = defaultdict(set)
        for word in self.words:
            for key in deletions(word, self._allowed(len(word))):
                self._index[key].add(word)

    def _allowed(self, length: int) -> int:
        return allowed_edits(length) if self.edits is None else self.edits

    def lookup(self, query: str) -> dict[str, int]:
        """Vocabulary words within the tolerated edits of query, with their distance (a copy
        the caller may change)."""
        known = self._memo.get(query)
        if known is None:
            known = self._lookup(query)
            if len(self._memo) < MEMO_SIZE:
                self._memo[query] = known
        return dict(known)

    def _lookup(self, query: str) -> dict[str, int]:
        found = {query: 0} if query in self.words else {}
        # A word one letter longer than the query may be within reach ("edn" for "eden").
        k = self._allowed(len(query) + 1)
        if k == 0:
            return found
        seen: set[str] = set()
        for key in deletions(query, k):
            for word in self._index.get(key, ()):
                if word in seen or word in found:
                    continue
                seen.add(word)
                limit = min(k, self._allowed(len(word)))
                if limit == 0:
                    continue
                distance = osa_distance(query, word, limit)
                if distance <= limit:
                    found[word] = distance
        return found
