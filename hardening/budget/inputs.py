"""What a budget plan reads (one transaction, as the actor) and its parameters.

Dwellings come through the SECURITY DEFINER function budget_dwellings (sql/028): planning
roles in their areas get every scored dwelling with its score, owner and fitted measures, the
identifiers only when they read the area's addresses anyway (analyst, admin, the system).
Cameras, streets and walls come through the coverage model's readers (coverage.data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from sqlalchemy import Connection, text

from hardening.coverage import data
from hardening.coverage.geometry import Walls
from hardening.errors import UserInputError
from hardening.risk.model import Model, load

NEW_CAMERA: Final = "new_camera"  # cost keys beside the catalogue's measure codes
CAMERA_REPAIR: Final = "camera_repair"
NEW_CAMERA_POUNDS: Final = 12_000.0  # a public-space camera with its mast and link, fitted
MAX_POUNDS: Final = 1e9


@dataclass(frozen=True)
class BudgetParams:
    budget: float
    owner_budgets: tuple[tuple[str, float], ...] = ()  # owner (org id or unique kind), pounds
    costs: tuple[tuple[str, float], ...] = ()  # pounds per new_camera, camera_repair, measure
    camera_owner: str | None = None  # who pays for new cameras (default: the police)
    spacing_m: float = 60.0
    range_m: float = 60.0
    fov_deg: float = 360.0
    visibility: bool = True
    effects: tuple[float, float] = (0.5, 1.5)  # low and high effect sizes, x the central
    uncertainty: bool = True
    time_limit_s: float = 30.0

    def check(self) -> None:
        if not (math.isfinite(self.budget) and 0 < self.budget <= MAX_POUNDS):
            raise UserInputError("the budget must be more than £0 and at most £1,000,000,000")
        for owner, pounds in self.owner_budgets:
            if not (math.isfinite(pounds) and 0 <= pounds <= MAX_POUNDS):
                raise UserInputError(f"the budget of {owner} must be £0 to £1,000,000,000")
        if len({o for o, _ in self.owner_budgets}) != len(self.owner_budgets):
            raise UserInputError("each owner's budget may be given once")
        for key, pounds in self.costs:
            if not (math.isfinite(pounds) and 0 <= pounds <= 10_000_000):
                raise UserInputError(f"the cost of {key} must be £0 to £10,000,000")
        if not 10.0 <= self.spacing_m <= 1000.0:
            raise UserInputError("candidate spacing must be between 10 and 1000 metres")
        if not (1.0 <= self.range_m <= 1000.0 and 1.0 <= self.fov_deg <= 360.0):
            raise UserInputError("range must be 1..1000 m and field of view 1..360 degrees")
        low, high = self.effects
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= 1 <= high <= 5):
            raise UserInputError("effect sizes: low between 0 and 1, high between 1 and 5")
        if not 0.1 <= self.time_limit_s <= 600:
            raise UserInputError("the time limit must be between 0.1 s and 10 minutes")


@dataclass(frozen=True)
class Dwellings:
    uprn: np.ndarray  # object: int or None (not named to this actor)
    block: np.ndarray  # int64 block number, -1 for none
    block_uprn: np.ndarray  # object: int or None
    provider: np.ndarray  # object: org id or None
    is_flat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    working: list[list[str]]
    faulty: list[list[str]]
    on_order: list[list[str]]

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class BudgetInputs:
    """Everything the solve needs, read in one short transaction (the values pickle)."""

    area_id: str
    area: shapely.Geometry
    fence: Walls
    roads: list[data.Road]
    sites: list[data.Site]
    site_owner: dict[int, str | None]
    homes: Dwellings
    catalogue: list[tuple[str, str, str, str, int]]
    model: Model
    orgs: dict[str, tuple[str, str]]  # org id -> (name, kind)
    caps: dict[str, float]  # resolved owner -> pounds
    camera_owner: str
    costs: dict[str, float] = field(default_factory=dict)  # pounds per key

    @property
    def named(self) -> bool:
        """Whether the homes carry their UPRNs (the actor reads the area's addresses)."""
        return bool(len(self.homes)) and self.homes.uprn[0] is not None


def resolve_owner(orgs: dict[str, tuple[str, str]], key: str) -> str:
    """An organisation id, or a kind that names exactly one organisation ('police')."""
    if key in orgs:
        return key
    kind = [o for o, (_, k) in orgs.items() if k == key]
    if len(kind) == 1:
        return kind[0]
    raise UserInputError(
        f"unknown owner {key!r}: give an organisation id ({', '.join(sorted(orgs))})"
        if not kind
        else f"{key!r} names {len(kind)} organisations: give one of {', '.join(sorted(kind))}"
    )


# organisations, caps by owner, the catalogue, unit costs
Terms = tuple[
    dict[str, tuple[str, str]],
    dict[str, float],
    list[tuple[str, str, str, str, int]],
    dict[str, float],
]


def checked_terms(conn: Connection, area_id: str, params: BudgetParams) -> Terms:
    """What a plan may be asked with, checked before any work: the numbers, the caller's
    planning access to the area, the owners and the cost keys (a job's route refuses at once)."""
    params.check()
    data.require_planning(conn, area_id)
    orgs = {
        str(o): (str(n), str(k))
        for o, n, k in conn.execute(text("SELECT org_id, name, kind FROM organisations")).all()
    }
    caps = {resolve_owner(orgs, key): float(p) for key, p in params.owner_budgets}
    catalogue = [
        (str(c), str(n), str(f), str(s), int(p))
        for c, n, f, s, p in conn.execute(
            text(
                "SELECT measure_code, name, risk_factor, scope, typical_cost_pence "
                "FROM measures_catalogue ORDER BY measure_code"
            )
        ).all()
    ]
    costs = {c: p / 100.0 for c, _, _, _, p in catalogue}
    costs[NEW_CAMERA] = NEW_CAMERA_POUNDS
    costs[CAMERA_REPAIR] = costs.get("cctv_repair", 400.0)
    for key, pounds in params.costs:
        if key not in costs:
            raise UserInputError(
                f"unknown cost {key!r}: use {NEW_CAMERA}, {CAMERA_REPAIR} or a measure code"
            )
        costs[key] = float(pounds)
    return orgs, caps, catalogue, costs


def read_budget(conn: Connection, area_id: str, params: BudgetParams) -> BudgetInputs:
    area = data.area_polygon(conn, area_id)
    orgs, caps, catalogue, costs = checked_terms(conn, area_id, params)
    fence = data.walls(conn, area) if params.visibility else Walls()
    sites = data.cctv_sites(conn, area_id)
    site_owner = {
        int(i): o
        for i, o in conn.execute(
            text("SELECT site_id, owner_org_id FROM cctv_sites WHERE area_id = :a"),
            {"a": area_id},
        ).all()
    }
    camera_owner = (
        resolve_owner(orgs, params.camera_owner)
        if params.camera_owner
        else _police(orgs, site_owner)
    )
    return BudgetInputs(
        area_id,
        area,
        fence,
        data.roads(conn, area),
        sites,
        site_owner,
        dwellings(conn, area_id, fence),
        catalogue,
        load(conn, None, store=False),
        orgs,
        caps,
        camera_owner,
        costs,
    )


def _police(orgs: dict[str, tuple[str, str]], site_owner: dict[int, str | None]) -> str:
    police = sorted(o for o, (_, k) in orgs.items() if k == "police")
    if not police:
        raise UserInputError("no police organisation to pay for new cameras: give --camera-owner")
    owned = [o for o in site_owner.values() if o in police]
    return max(police, key=lambda o: (owned.count(o), -police.index(o)))


def dwellings(conn: Connection, area_id: str, fence: Walls) -> Dwellings:
    rows = conn.execute(
        text(
            "SELECT uprn, block_uprn, block_no, provider_org_id, is_flat, x, y, score, working, "
            "faulty, on_order FROM budget_dwellings(:a)"
        ),
        {"a": area_id},
    ).all()
    xy = np.array([(r[5], r[6]) for r in rows], dtype=np.float64).reshape(-1, 2)
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    if len(fence) and len(x):
        x, y = data._outside_walls(x, y, fence)  # the entrance a camera could see
    obj: Any = object
    return Dwellings(
        np.array([r[0] for r in rows], dtype=obj),
        np.array([-1 if r[2] is None else int(r[2]) - 1 for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=obj),
        np.array([r[3] for r in rows], dtype=obj),
        np.array([bool(r[4]) for r in rows], dtype=bool),
        x,
        y,
        np.array([float(r[7]) for r in rows], dtype=np.float64),
        [list(r[8] or []) for r in rows],
        [list(r[9] or []) for r in rows],
        [list(r[10] or []) for r in rows],
    )
