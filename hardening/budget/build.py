"""From the inputs to the problem: the coverage model's candidates and views, the risk model's
counterfactual for each catalogue measure at each home (risk.explain.measure_changes), and the
works packages' rule for combining measures (works.packages.combined_logit)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

from hardening.budget.inputs import CAMERA_REPAIR, NEW_CAMERA, BudgetInputs, BudgetParams
from hardening.budget.problem import CAMERA, WORKS, BudgetProblem
from hardening.coverage.geometry import Camera
from hardening.coverage.matrix import Candidate, cover_matrix, street_points, views
from hardening.risk.explain import measure_changes
from hardening.works.packages import Option, combined_logit

CCTV_FACTOR = "protection_cctv"


@dataclass
class Meta:
    """What the problem's columns and options are, for the report and the write."""

    cols: list[dict[str, Any]]  # kind, owner, cost, x, y, site_id, block
    opt_codes: list[tuple[str, ...]]
    blk_codes: list[tuple[str, ...]]
    block_uprn: dict[int, int | None]


def _frontier(
    options: list[Option], costs: dict[str, float]
) -> list[tuple[float, float, tuple[str, ...]]]:
    """Packages worth offering: every subset, kept when no cheaper one lowers the logit as much
    (cost, logit change, codes), cheapest first."""
    subsets = []
    for size in range(1, len(options) + 1):
        for combo in itertools.combinations(options, size):
            change = combined_logit(combo)
            if change < 0:
                cost = sum(costs[o.code] for o in combo)
                subsets.append((cost, change, tuple(sorted(o.code for o in combo))))
    subsets.sort()
    out: list[tuple[float, float, tuple[str, ...]]] = []
    for cost, change, codes in subsets:
        if not out or change < out[-1][1] - 1e-12:
            out.append((cost, change, codes))
    return out


def build(inputs: BudgetInputs, params: BudgetParams) -> tuple[BudgetProblem, Meta]:
    homes, model, costs = inputs.homes, inputs.model, inputs.costs
    factor_of = {c: f for c, _, f, _, _ in inputs.catalogue}
    n = len(homes)
    owners: list[str] = [inputs.camera_owner]

    def owner_ix(org: str) -> int:
        if org not in owners:
            owners.append(org)
        return owners.index(org)

    # Cameras: existing working ones (seen already), faulty ones to repair, new street sites.
    cands: list[Candidate] = []
    cols: list[dict[str, Any]] = []
    for s in inputs.sites:
        cands.append(
            Candidate(
                s.cam,
                "existing" if s.status == "working" else "repair",
                costs[CAMERA_REPAIR],
                s.site_id,
            )
        )
    along, joints = street_points(inputs.roads, inputs.area, params.spacing_m)
    fresh = np.vstack([joints, along]) if len(along) or len(joints) else np.empty((0, 2))
    cands += [
        Candidate(
            Camera(float(x), float(y), 0.0, params.fov_deg, params.range_m),
            "new",
            costs[NEW_CAMERA],
        )
        for x, y in fresh.tolist()
    ]
    seen_all = cover_matrix(views(cands, inputs.fence), homes.x, homes.y)
    existing = [j for j, c in enumerate(cands) if c.kind == "existing"]
    free = [j for j, c in enumerate(cands) if c.kind != "existing"]
    seen_now = np.asarray(seen_all[:, existing].sum(axis=1)).ravel() > 0
    for j in free:
        c = cands[j]
        owner = inputs.site_owner.get(c.site_id or -1) or inputs.camera_owner
        kind = "camera repair" if c.kind == "repair" else "new camera"
        cols.append(
            {
                "kind": kind,
                "lever": CAMERA,
                "owner": owner_ix(owner),
                "cost": c.cost,
                "x": c.cam.x,
                "y": c.cam.y,
                "site_id": c.site_id,
                "uprn": None,
            }
        )
    cover_cols = [sp.csc_matrix(seen_all[:, free])]

    # Homes: the camera's change, and each provider home's packages.
    cam_coef = model.coefficient(CCTV_FACTOR)
    z = np.log(np.clip(homes.score, 1e-9, None) / np.clip(100 - homes.score, 1e-9, None))
    cam = np.zeros(n)
    opt_home, opt_cost, opt_owner, opt_delta, opt_codes = [], [], [], [], []
    block_opts: dict[int, dict[str, Option]] = {}
    block_owner: dict[int, str] = {}
    private: set[tuple[int, int]] = set()  # (block, or -1 - home; owner) of own CCTV to repair
    changes: dict[tuple[Any, ...], list[tuple[str, str, str, str, int, float]]] = {}
    frontiers: dict[tuple[Option, ...], list[tuple[float, float, tuple[str, ...]]]] = {}
    for h in range(n):
        working = [(c, factor_of[c]) for c in homes.working[h] if c in factor_of]
        here = {f for _, f in working}
        if CCTV_FACTOR not in here and not seen_now[h]:
            cam[h] = cam_coef
        provider = homes.provider[h]
        if provider is None:
            continue
        faulty = {factor_of[c] for c in homes.faulty[h] if c in factor_of}
        block = int(homes.block[h])
        own: list[Option] = []
        key = (tuple(sorted(working)), bool(homes.is_flat[h]))
        if key not in changes:  # most homes share what is fitted: the counterfactual once each
            changes[key] = measure_changes(model, inputs.catalogue, working, key[1])
        for code, name, factor, scope, _, delta in changes[key]:
            if code in homes.on_order[h] or code.endswith("_repair") != (factor in faulty):
                continue  # on order already; repair what is faulty, fit where nothing is
            option = Option(code, name, factor, scope, delta, int(costs[code] * 100))
            if factor == CCTV_FACTOR:  # the home's or block's own CCTV: seen like a camera
                private.add((block if block >= 0 else -1 - h, owner_ix(provider)))
                continue
            if scope == "block" and block >= 0:
                block_opts.setdefault(block, {})[code] = option
                block_owner.setdefault(block, provider)
            else:
                own.append(option)
        offer = tuple(own)
        if offer not in frontiers:
            frontiers[offer] = _frontier(own, costs)
        for cost, change, codes in frontiers[offer]:
            opt_home.append(h)
            opt_cost.append(cost)
            opt_owner.append(owner_ix(provider))
            opt_delta.append(change)
            opt_codes.append(codes)

    # Flats per block, and the private CCTV repairs as columns seeing their block's flats.
    block_homes: dict[int, list[int]] = {}
    for h in np.flatnonzero(homes.block >= 0).tolist():
        block_homes.setdefault(int(homes.block[h]), []).append(h)
    extra_rows: list[int] = []
    extra_cols: list[int] = []
    for where, payer in sorted(private):
        seen = block_homes.get(where, []) if where >= 0 else [-1 - where]
        j = len(cols)
        cols.append(
            {
                "kind": "CCTV repair",
                "lever": WORKS,
                "owner": payer,
                "cost": costs["cctv_repair"],
                "x": float(homes.x[seen[0]]),
                "y": float(homes.y[seen[0]]),
                "site_id": None,
                "uprn": homes.block_uprn[seen[0]] if where >= 0 else homes.uprn[seen[0]],
            }
        )
        extra_rows += seen
        extra_cols += [j - len(free)] * len(seen)
    cover_cols.append(
        sp.csc_matrix(
            (np.ones(len(extra_rows)), (extra_rows, extra_cols)), shape=(n, len(cols) - len(free))
        )
    )
    cover = sp.hstack(cover_cols, format="csc")

    blocks = sorted(block_homes)
    block_index = {b: i for i, b in enumerate(blocks)}
    blk_block, blk_cost, blk_owner, blk_delta, blk_codes = [], [], [], [], []
    for b, offered in block_opts.items():
        for cost, change, codes in _frontier(list(offered.values()), costs):
            blk_block.append(block_index[b])
            blk_cost.append(cost)
            blk_owner.append(owner_ix(block_owner[b]))
            blk_delta.append(change)
            blk_codes.append(codes)
    for org in inputs.caps:
        owner_ix(org)
    caps = np.full(len(owners), np.inf)
    for org, pounds in inputs.caps.items():
        caps[owner_ix(org)] = pounds
    i64, f64 = np.int64, np.float64
    problem = BudgetProblem(
        z,
        cam,
        cover,
        np.array([c["cost"] for c in cols], dtype=f64),
        np.array([c["owner"] for c in cols], i64),
        [c["lever"] for c in cols],
        np.array(opt_home, i64),
        np.array(opt_cost, f64),
        np.array(opt_owner, i64),
        np.array(opt_delta, f64),
        np.array(blk_block, i64),
        np.array(blk_cost, f64),
        np.array(blk_owner, i64),
        np.array(blk_delta, f64),
        [np.array(block_homes[b], i64) for b in blocks],
        list(owners),
        caps,
        params.budget,
    )
    uprn_of_block = {
        block_index[int(homes.block[h])]: homes.block_uprn[h]
        for h in np.flatnonzero(homes.block >= 0).tolist()
    }
    return problem, Meta(cols, opt_codes, blk_codes, uprn_of_block)
