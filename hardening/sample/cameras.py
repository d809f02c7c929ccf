"""Existing CCTV and ANPR sites: council town-centre cameras, station cameras (a new one planned
at Roose), providers' cameras on blocks of flats, and ANPR on the main roads; some faulty."""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from hardening.sample.addresses import Addresses
from hardening.sample.events import Snapper
from hardening.sample.geography import Hub, RoadRows
from hardening.sample.partners import COUNCILS, POLICE
from hardening.sample.spec import SOURCE, TOWNS
from hardening.sample.table import Table
from hardening.sample.util import choose, points_ewkt
from hardening.sample.works import BlockKit

CCTV_PER_ADDRESS: Final = 0.0012  # council public-space cameras
ANPR_PER_ADDRESS: Final = 0.0006
SITE_STATUSES: Final = ("working", "faulty", "planned", "removed")
COMPASS: Final = ("northbound", "eastbound", "southbound", "westbound")


def cctv(
    rng: np.random.Generator, addr: Addresses, stations: list[Hub], kit: BlockKit, snap: Snapper
) -> Table:
    rows: list[tuple[str, str | None, float, float, float, str, str, float, float]] = []
    for h in stations:
        if h.kind != "rail_station":
            continue
        area = TOWNS[h.town].area_id
        for k in range(2):
            status = "planned" if h.code == "ROO" and k == 1 else "working"
            rows.append(
                (
                    f"{h.name} station camera {k + 1}",
                    POLICE,
                    float(rng.uniform(0, 360)),
                    90.0,
                    60.0,
                    status,
                    area,
                    h.x + rng.normal(0, 25),
                    h.y + rng.normal(0, 25),
                )
            )
    for i in np.flatnonzero(kit.cctv).tolist():
        rows.append(
            (
                f"{addr.premises[i]} block camera",
                str(addr.provider[i]),
                float(rng.uniform(0, 360)),
                90.0,
                30.0,
                "faulty" if kit.cctv_faulty[i] else "working",
                TOWNS[addr.town[i]].area_id,
                addr.x[i] + 4.0,
                addr.y[i] + 4.0,
            )
        )
    n_public = max(6, round(CCTV_PER_ADDRESS * len(addr)))
    share = np.array([t.share for t in TOWNS])
    town = rng.choice(len(TOWNS), size=n_public, p=share / share.sum())
    px = np.array([t.x for t in TOWNS])[town] + rng.normal(0, 300, n_public)
    py = np.array([t.y for t in TOWNS])[town] + rng.normal(0, 300, n_public)
    near = snap.snap(rng, px, py, into_flats=False)
    public_status = choose(rng, SITE_STATUSES, (0.8, 0.12, 0.04, 0.04), n_public)
    dome = rng.random(n_public) < 0.3
    for k, i in enumerate(near.tolist()):
        t = TOWNS[int(addr.town[i])]
        rows.append(
            (
                f"{addr.street_name[i]} public space camera",
                COUNCILS[t.area_id],
                float(rng.uniform(0, 360)),
                360.0 if dome[k] else float(rng.choice([60, 90, 120])),
                float(rng.uniform(60, 150)),
                str(public_status[k]),
                t.area_id,
                addr.x[i] + rng.normal(0, 6),
                addr.y[i] + rng.normal(0, 6),
            )
        )
    n = len(rows)
    c = list(zip(*rows, strict=True))
    return Table.of(
        "cctv_sites",
        site_id=np.arange(1, n + 1),
        source=np.full(n, SOURCE, dtype=object),
        source_ref=np.char.mod("CCTV-%05d", np.arange(1, n + 1)).astype(object),
        name=c[0],
        owner_org_id=c[1],
        bearing_deg=[round(b, 1) % 360 for b in c[2]],
        fov_deg=c[3],
        range_m=[round(r, 1) for r in c[4]],
        status=c[5],
        area_id=c[6],
        geom=points_ewkt(np.array(c[7], dtype=float), np.array(c[8], dtype=float)),
        installed_on=np.full(n, None, dtype=object),  # drawn by site_dates
        removed_on=np.full(n, None, dtype=object),
    )


def anpr(rng: np.random.Generator, roads: RoadRows, n_addresses: int) -> Table:
    """Cameras part-way along main-road ways, facing one way of the traffic."""
    main = [i for i, ref in enumerate(roads.ref) if ref is not None]
    length = np.array([_length(roads.coords[i]) for i in main])
    n = max(6, round(ANPR_PER_ADDRESS * n_addresses))
    pick = rng.choice(len(main), size=n, replace=n > len(main), p=length / length.sum())
    status = choose(rng, SITE_STATUSES, (0.8, 0.15, 0.05, 0.0), n)
    rows = []
    for k, j in enumerate(pick.tolist()):
        road = main[j]
        coords = np.array(roads.coords[road])
        f = float(rng.uniform(0.2, 0.8))
        x, y, bearing = _along(coords, f)
        if rng.random() < 0.5:
            bearing = (bearing + 180.0) % 360.0
        direction = COMPASS[int(((bearing + 45.0) % 360.0) // 90.0)]
        ref, name = roads.ref[road], roads.name[road]
        road_name = f"{ref} {name}" if name else str(ref)
        rows.append(
            (
                f"{road_name} ({direction})",
                road + 1,
                road_name,
                direction,
                str(status[k]),
                roads.area_id[road],
                x,
                y,
            )
        )
    c = list(zip(*rows, strict=True))
    return Table.of(
        "anpr_sites",
        site_id=np.arange(1, n + 1),
        source=np.full(n, SOURCE, dtype=object),
        source_ref=np.char.mod("ANPR-%04d", np.arange(1, n + 1)).astype(object),
        name=c[0],
        owner_org_id=np.full(n, POLICE, dtype=object),
        road_id=c[1],
        road_name=c[2],
        direction=c[3],
        status=c[4],
        area_id=c[5],
        geom=points_ewkt(np.array(c[6], dtype=float), np.array(c[7], dtype=float)),
        installed_on=np.full(n, None, dtype=object),  # drawn by site_dates
        removed_on=np.full(n, None, dtype=object),
    )


def _length(coords: list[tuple[float, float]]) -> float:
    return float(np.hypot(*np.diff(np.array(coords), axis=0).T).sum())


def _along(coords: np.ndarray, f: float) -> tuple[float, float, float]:
    """Point at fraction f of the polyline and the compass bearing of travel there."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    at = f * cum[-1]
    k = min(int(np.searchsorted(cum, at, side="right")) - 1, len(seg) - 1)
    t = (at - cum[k]) / seg[k] if seg[k] > 0 else 0.0
    (x0, y0), (x1, y1) = coords[k], coords[k + 1]
    bearing = math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360.0
    return x0 + t * (x1 - x0), y0 + t * (y1 - y0), bearing
