"""A budget plan in words, as a table of items with what each costs and adds, and as map points.

Disclosure-controlled as the coverage answers are (security.disclosure): works are shown per
provider and package, never per home, with the count of homes published (under 10 withheld,
the rest rounded to 5) and the cost and value of a withheld group withheld with it; the map
shows works per 250 m square with the same rule.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from hardening.budget.build import Meta
from hardening.budget.inputs import BudgetInputs
from hardening.budget.problem import BudgetProblem, Choice, sigmoid
from hardening.coverage.summary import money
from hardening.geo import to_lon_lat
from hardening.security.disclosure import publishable

CELL_M = 250.0
CAMERA_KINDS = ("new camera", "camera repair")


def scores_after(pr: BudgetProblem, choice: Choice) -> np.ndarray:
    """Each home's score (0-100) after the plan: its package, a camera and its block's."""
    change = np.zeros(pr.n_homes)
    has = choice.pkg >= 0
    change[has] = pr.opt_delta[choice.pkg[has]]
    change += np.where(pr.covered(choice.cols), pr.cam, 0.0)
    for b in np.flatnonzero(choice.blk >= 0).tolist():
        change[pr.block_homes[b]] += pr.blk_delta[int(choice.blk[b])]
    return 100 * sigmoid(pr.z + pr.scale * change)


def _names(inputs: BudgetInputs, codes: tuple[str, ...]) -> str:
    names = {c: n for c, n, _, _, _ in inputs.catalogue}
    return " + ".join(names.get(c, c) for c in codes)


def describe(inputs: BudgetInputs, pr: BudgetProblem, meta: Meta, choice: Choice) -> dict[str, Any]:
    value = pr.value(choice)
    spent = pr.spent(choice)
    items: list[dict[str, Any]] = []
    for j in np.flatnonzero(choice.cols).tolist():
        col = meta.cols[j]
        if col["kind"] not in CAMERA_KINDS:
            continue
        without = choice.copy()
        without.cols[j] = False
        lon, lat = to_lon_lat(col["x"], col["y"])
        items.append(
            {
                "kind": col["kind"],
                "owner": pr.owners[col["owner"]],
                "what": col["kind"],
                "count": 1,
                "cost": round(col["cost"], 2),
                "adds": round(value - pr.value(without), 6),
                "site_id": col["site_id"],
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "x": col["x"],
                "y": col["y"],
            }
        )
    items.sort(key=lambda i: -i["adds"])
    items += _works_items(inputs, pr, meta, choice, value)
    n_cams = sum(1 for i in items if i["kind"] == "new camera")
    n_repairs = sum(1 for i in items if i["kind"] == "camera repair")
    homes = int((choice.pkg >= 0).sum())
    blocks = int((choice.blk >= 0).sum())
    high = inputs.model.bands[1]
    before = int((pr.p0 * 100 >= high).sum())
    after = int((scores_after(pr, choice) >= high).sum())
    fewer = None if publishable(before) is None else round((before - after) / before, 4)
    budgets = [
        {
            "owner": "total",
            "name": "All owners",
            "budget": pr.total,
            "spent": round(float(spent.sum()), 2),
        }
    ]
    for o, org in enumerate(pr.owners):
        if spent[o] > 0 or np.isfinite(pr.caps[o]):
            budgets.append(
                {
                    "owner": org,
                    "name": inputs.orgs.get(org, (org, ""))[0],
                    "budget": None if not np.isfinite(pr.caps[o]) else float(pr.caps[o]),
                    "spent": round(float(spent[o]), 2),
                }
            )
    parts = [
        f"{n_repairs} camera repair{'s' if n_repairs != 1 else ''}",
        f"{n_cams} new camera{'s' if n_cams != 1 else ''}",
        f"{_count(homes)} home package{'s' if homes != 1 else ''}",
        f"{_count(blocks)} block package{'s' if blocks != 1 else ''}",
    ]
    words = f"{money(pr.total)}: " + ", ".join(parts)
    words += f" ({money(float(spent.sum()))} spent); expected {value:,.1f} fewer homes taken over"
    if fewer is not None:
        words += f" and {100 * fewer:.0f}% fewer homes in the high band"
    return {
        "kind": "budget",
        "area_id": inputs.area_id,
        "summary": words,
        "total_cost": round(float(spent.sum()), 2),
        "budget": pr.total,
        "budgets": budgets,
        "items": items,
        "counts": {
            "new_cameras": n_cams,
            "camera_repairs": n_repairs,
            "home_packages": publishable(homes),
            "block_packages": publishable(blocks),
        },
        "high_band": {
            "before": publishable(before),
            "after": publishable(after),
            "fewer_share": fewer,
        },
        "homes": publishable(pr.n_homes),
        "candidates": len(pr.col_cost),
        "map": {
            "cameras": [
                {k: i[k] for k in ("kind", "lon", "lat", "cost")}
                for i in items
                if i["kind"] in CAMERA_KINDS
            ],
            "works": _cells(inputs, choice),
        },
    }


def _count(n: int) -> str:
    shown = publishable(n)
    return "a few (under 10)" if shown is None and n else f"{shown or 0:,}"


def _works_items(
    inputs: BudgetInputs, pr: BudgetProblem, meta: Meta, choice: Choice, value: float
) -> list[dict[str, Any]]:
    """Works grouped by owner, kind and package, with what removing the group would cost."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[tuple[str, int]]] = defaultdict(list)
    for h in np.flatnonzero(choice.pkg >= 0).tolist():
        k = int(choice.pkg[h])
        groups[(pr.owners[int(pr.opt_owner[k])], "home package", meta.opt_codes[k])].append(
            ("pkg", h)
        )
    for b in np.flatnonzero(choice.blk >= 0).tolist():
        k = int(choice.blk[b])
        groups[(pr.owners[int(pr.blk_owner[k])], "block package", meta.blk_codes[k])].append(
            ("blk", b)
        )
    for j in np.flatnonzero(choice.cols).tolist():
        col = meta.cols[j]
        if col["kind"] == "CCTV repair":
            groups[(pr.owners[col["owner"]], "CCTV repair", ("cctv_repair",))].append(("col", j))
    # Packages for under 10 homes join their owner's "other" row of that kind.
    merged: dict[tuple[str, str, tuple[str, ...]], list[tuple[str, int]]] = defaultdict(list)
    for (owner, kind, codes), members in groups.items():
        small = publishable(len(members)) is None
        merged[(owner, kind, () if small else codes)].extend(members)
    out: list[dict[str, Any]] = []
    for (owner, kind, codes), members in merged.items():
        without = choice.copy()
        cost = 0.0
        for what, i in members:
            if what == "pkg":
                cost += float(pr.opt_cost[int(without.pkg[i])])
                without.pkg[i] = -1
            elif what == "blk":
                cost += float(pr.blk_cost[int(without.blk[i])])
                without.blk[i] = -1
            else:
                cost += float(pr.col_cost[i])
                without.cols[i] = False
        shown = publishable(len(members))
        out.append(
            {
                "kind": kind,
                "owner": owner,
                "what": _names(inputs, codes) if codes else f"other {kind}s",
                "measures": list(codes),
                "count": shown,
                "cost": None if shown is None else round(cost, 2),
                "adds": None if shown is None else round(value - pr.value(without), 6),
            }
        )
    out.sort(key=lambda i: (i["adds"] is None, -float(i["adds"] or 0.0)))
    return out


def _cells(inputs: BudgetInputs, choice: Choice) -> list[dict[str, Any]]:
    """Homes with a package per 250 m square (published counts only)."""
    h = np.flatnonzero(choice.pkg >= 0)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for cx, cy in zip(
        (inputs.homes.x[h] // CELL_M).astype(int).tolist(),
        (inputs.homes.y[h] // CELL_M).astype(int).tolist(),
        strict=True,
    ):
        counts[(cx, cy)] += 1
    out = []
    for (cx, cy), n in sorted(counts.items()):
        shown = publishable(n)
        if shown is not None:
            lon, lat = to_lon_lat((cx + 0.5) * CELL_M, (cy + 0.5) * CELL_M)
            out.append({"lon": round(lon, 6), "lat": round(lat, 6), "homes": shown})
    return out
