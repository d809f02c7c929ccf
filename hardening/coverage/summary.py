"""What a site plan means to the person paying for it: unit costs in pounds, each chosen site by
its street and junction, what each adds, the coverage before and after in one sentence, and why
fewer sites came back than were asked for. The solver's own figures stay in the plan's JSON.

Unit costs (pounds, indicative; set your own quotes): a new CCTV camera on a street column
£12,000 (camera, column, power and link), bringing a faulty public camera back £4,800, a new
fixed ANPR camera £18,000. docs/coverage.md lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, text

from hardening.errors import UserInputError

JUNCTION_M: Final = 40.0  # a second named road this near makes the place a junction
NEAR_M: Final = 150.0  # a second named road this near is named as a landmark


@dataclass(frozen=True)
class UnitCosts:
    """Pounds per site: new CCTV camera, repair of a faulty one, new ANPR camera."""

    new_cctv: float = 12_000.0
    cctv_repair: float = 4_800.0
    anpr: float = 18_000.0

    def check(self) -> None:
        for name, value in (("new CCTV camera", self.new_cctv), ("repair", self.cctv_repair),
                            ("ANPR camera", self.anpr)):  # fmt: skip
            if not 1.0 <= value <= 10_000_000.0:
                raise UserInputError(f"the cost of a {name} must be between £1 and £10,000,000")


def money(pounds: float) -> str:
    return f"£{pounds:,.0f}"


def place_names(
    conn: Connection, points: Sequence[tuple[float, float]], own: Sequence[str | None] = ()
) -> list[str]:
    """Each BNG point by its nearest named roads: "Abbey Road at Hartington Street" where a
    second named road is within JUNCTION_M, "Abbey Road, near Hartington Street" within NEAR_M,
    else "Abbey Road". `own` names the road a site is on when known (ANPR reads one road)."""
    if not points:
        return []
    rows = conn.execute(
        text(
            "SELECT p.i, k.name, k.d FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) "
            "WITH ORDINALITY AS p(x, y, i) CROSS JOIN LATERAL ("
            " SELECT name, min(d) AS d FROM ("
            "  SELECT r.name, ST_Distance(r.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 27700)) AS d"
            "  FROM roads r WHERE r.name IS NOT NULL"
            "  ORDER BY r.geom <-> ST_SetSRID(ST_MakePoint(p.x, p.y), 27700) LIMIT 16) n"
            " GROUP BY name ORDER BY min(d) LIMIT 3) k ORDER BY p.i, k.d"
        ),
        {"xs": [float(x) for x, _ in points], "ys": [float(y) for _, y in points]},
    ).all()
    near: dict[int, list[tuple[str, float]]] = {}
    for i, name, d in rows:
        near.setdefault(int(i) - 1, []).append((str(name), float(d)))
    out = []
    for i in range(len(points)):
        found = near.get(i, [])
        first = own[i] if i < len(own) and own[i] else (found[0][0] if found else None)
        others = [(n, d) for n, d in found if n != first]
        if first is None:
            out.append("an unnamed road")
        elif others and others[0][1] <= JUNCTION_M:
            out.append(f"{first} at {others[0][0]}")
        elif others and others[0][1] <= NEAR_M:
            out.append(f"{first}, near {others[0][0]}")
        else:
            out.append(first)
    return out


def share(value: float | None) -> str:
    return "an unknown share" if value is None else f"{100 * value:.0f}%"


def percent(value: float | None, digits: int = 0) -> str:
    """A share as a percentage; None (withheld: it would speak of fewer than 10 homes) says so."""
    return "withheld (under 10 homes)" if value is None else f"{100 * value:.{digits}f}%"


def homes(n: int | None, more: bool = False) -> str:
    """A published household count in words (None: too few to publish): "1,240 homes",
    with more=True "1,240 more homes"."""
    extra = "more " if more else ""
    if n is None:
        return f"a few {extra}homes (under 10, not published)"
    return f"{n:,} {extra}home{'s' if n != 1 else ''}"


def cctv_sentence(plan: dict[str, Any], area_name: str) -> str:
    """ "New cameras would see 1,240 more homes: 31% of the risk in Barrow instead of 18%"."""
    more = plan.get("households_added")
    return (
        f"The {len(plan['chosen'])} camera site{'s' if len(plan['chosen']) != 1 else ''} "
        f"would see {homes(more, more=True)}, for {money(plan['cost_pounds'])}: "
        f"{share(plan['coverage_after'])} of the risk in {area_name} "
        f"instead of {share(plan['coverage_before'])} today."
    )


def anpr_sentence(plan: dict[str, Any], area_name: str) -> str:
    return (
        f"The {len(plan['chosen'])} ANPR camera{'s' if len(plan['chosen']) != 1 else ''} would "
        f"read {share(plan['coverage_after'])} of the journeys from the roads into {area_name} "
        f"and its stations to its highest-risk places, instead of "
        f"{share(plan['coverage_before'])} today, for {money(plan['cost_pounds'])}."
    )
