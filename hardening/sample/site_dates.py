"""When each camera site came into service and went out of it (sql/013_site_dates.sql).

Drawn from a stage of its own, after the sites exist, so the sites themselves do not change.
The story the dates tell: most cameras predate the sample (a third of the council's with no
recorded date at all); the partnership added some during it, above all a station camera at
Roose and more ANPR on the main roads; the removed ones went during it; planned ones have none.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np

from hardening.sample.spec import REFERENCE_DATE, WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import ObjArray, day_text

OLDEST: Final = date(2012, 1, 1)  # the earliest install date drawn
ROOSE_CAMERA: Final = "Roose station camera 1"
ROOSE_INSTALLED: Final = date(2025, 6, 16)  # the new station CCTV, mid report year
NEW_CCTV_P: Final = 0.12  # share of working/faulty CCTV installed during the sample
NEW_ANPR_P: Final = 0.35  # "more ANPR cameras"
UNKNOWN_P: Final = 0.3  # council and provider records with no install date


def _days(a: date, b: date) -> int:
    return (b - a).days


def _draw(
    rng: np.random.Generator, status: ObjArray, new_p: float, unknown_p: float
) -> tuple[ObjArray, ObjArray]:
    """installed_on and removed_on (ISO text or None) for sites of the given statuses."""
    n = len(status)
    span_old = _days(OLDEST, WINDOW_START)
    span_new = _days(WINDOW_START, REFERENCE_DATE)
    old = day_text(rng.integers(0, span_old, n), OLDEST)
    new = day_text(rng.integers(0, span_new, n), WINDOW_START)
    is_new = rng.random(n) < new_p
    unknown = rng.random(n) < unknown_p
    # removed sites: installed before the sample, taken out during it
    gone = day_text(rng.integers(span_new // 4, span_new, n), WINDOW_START)
    installed = np.where(is_new, new, old).astype(object)
    installed[unknown & ~is_new] = None
    removed = np.full(n, None, dtype=object)
    for i, s in enumerate(status.tolist()):
        if s == "planned":
            installed[i] = None
        elif s == "removed":
            installed[i] = old[i] if installed[i] is not None else None
            removed[i] = gone[i]
    return installed, removed


def with_dates(rng: np.random.Generator, table: Table, new_p: float, unknown_p: float) -> Table:
    installed, removed = _draw(rng, table.data["status"], new_p, unknown_p)
    if table.name == "cctv_sites":
        roose = np.flatnonzero(table.data["name"] == ROOSE_CAMERA)
        installed[roose] = ROOSE_INSTALLED.isoformat()
    return Table(table.spec, {**table.data, "installed_on": installed, "removed_on": removed})


def cctv(rng: np.random.Generator, table: Table) -> Table:
    return with_dates(rng, table, NEW_CCTV_P, UNKNOWN_P)


def anpr(rng: np.random.Generator, table: Table) -> Table:
    return with_dates(rng, table, NEW_ANPR_P, UNKNOWN_P / 3)
