"""Which events a factor counts: categories and/or source crime types, minus exclusions.

A selector is plain JSON in a model's parameters, e.g. {"categories": ["cuckooing"]} or
{"all": true, "exclude_categories": ["cuckooing"]}; it becomes one SQL predicate over the
events work table `risk_e` (alias e) with namespaced bind parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hardening.errors import UserInputError
from hardening.incidents import INCIDENT_CATEGORIES

CATEGORIES = frozenset(INCIDENT_CATEGORIES)


@dataclass(frozen=True)
class Selector:
    categories: tuple[str, ...] = ()
    crime_types: tuple[str, ...] = ()
    everything: bool = False
    exclude_categories: tuple[str, ...] = ()
    exclude_crime_types: tuple[str, ...] = ()
    kinds: tuple[str, ...] = field(default=())  # incident / intelligence / visit; () = any

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Selector:
        def strings(key: str) -> tuple[str, ...]:
            value = spec.get(key) or ()
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise UserInputError(f"event selector {key!r} must be a list of strings")
            return tuple(value)

        selector = cls(
            categories=strings("categories"),
            crime_types=strings("crime_types"),
            everything=bool(spec.get("all", False)),
            exclude_categories=strings("exclude_categories"),
            exclude_crime_types=strings("exclude_crime_types"),
            kinds=strings("kinds"),
        )
        unknown = set(selector.categories + selector.exclude_categories) - CATEGORIES
        if unknown:
            raise UserInputError(f"unknown incident categories: {', '.join(sorted(unknown))}")
        return selector

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.everything:
            out["all"] = True
        for key in ("categories", "crime_types", "exclude_categories", "exclude_crime_types"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.kinds:
            out["kinds"] = list(self.kinds)
        return out

    def excluding(self, other: Selector) -> Selector:
        """Everything this selects that other does not (other's positive lists)."""
        return Selector(
            self.categories,
            self.crime_types,
            self.everything,
            tuple(dict.fromkeys(self.exclude_categories + other.categories)),
            tuple(dict.fromkeys(self.exclude_crime_types + other.crime_types)),
            self.kinds,
        )

    def matches(self, category: str, crime_type: str | None, kind: str) -> bool:
        """The Python twin of `sql`, for one event (incremental re-scoring)."""
        label = crime_type or ""
        chosen = self.everything or category in self.categories or label in self.crime_types
        excluded = category in self.exclude_categories or label in self.exclude_crime_types
        return chosen and not excluded and (not self.kinds or kind in self.kinds)

    @property
    def empty(self) -> bool:
        return not (self.everything or self.categories or self.crime_types)

    def sql(self, key: str, alias: str = "e") -> tuple[str, dict[str, Any]]:
        """A predicate on alias's category/crime_type/kind (crime_type is never NULL there)."""
        binds: dict[str, Any] = {
            f"{key}_all": self.everything,
            f"{key}_cats": list(self.categories),
            f"{key}_types": list(self.crime_types),
            f"{key}_xcats": list(self.exclude_categories),
            f"{key}_xtypes": list(self.exclude_crime_types),
        }
        predicate = (
            f"(CAST(:{key}_all AS boolean) OR {alias}.category = ANY(CAST(:{key}_cats AS text[]))"
            f" OR {alias}.crime_type = ANY(CAST(:{key}_types AS text[])))"
            f" AND NOT ({alias}.category = ANY(CAST(:{key}_xcats AS text[]))"
            f" OR {alias}.crime_type = ANY(CAST(:{key}_xtypes AS text[])))"
        )
        if self.kinds:
            binds[f"{key}_kinds"] = list(self.kinds)
            predicate += f" AND {alias}.kind = ANY(CAST(:{key}_kinds AS text[]))"
        return f"({predicate})", binds


def split_list(value: str | None) -> list[str]:
    """'Drugs, Anti-social behaviour' -> ['Drugs', 'Anti-social behaviour']."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def selector_for(crime_types: Sequence[str], categories: Sequence[str]) -> Selector:
    if not crime_types and not categories:
        raise UserInputError("name the outcome: --crime-types and/or --categories")
    return Selector.parse({"crime_types": list(crime_types), "categories": list(categories)})
