"""Awareness training the partnership delivered to partners' staff (sessions and attendees),
for the yearly report. Professionals trained, not subjects: no personal data.

South Cumbria, where the partnership began, trains the most; Carlisle joined and trains a
little less; sessions grow year on year and fall on working days. Who is trained follows the
partnership's audiences: schools and the NHS most, then housing, fire, councils, probation,
the recovery service and the voluntary sector, plus groups with no agreement (neighbourhood
police officers, and 'other': taxi drivers, hotel and rail staff).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

import numpy as np

from hardening.sample.casework import growing_days
from hardening.sample.partners import COUNCILS, FOOD_BANK, NHS, RECOVERY, USER_IDS, WARM_HOMES
from hardening.sample.spec import PROVIDERS, WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import day_text, local_moment, local_text

SESSIONS_PER_AREA: Final = {"south-cumbria": 56, "carlisle": 34}  # over the 24 months
# (partner type, organisations it may name (None: a group with no agreement), weight,
#  fewest and most attendees)
AUDIENCES: Final = (
    ("school", ("coast-schools-trust", None), 5.0, 12, 60),
    ("nhs", (NHS,), 4.0, 8, 30),
    ("housing", tuple(org for org, _, _ in PROVIDERS), 3.0, 5, 25),
    ("fire", ("cumbria-fire",), 2.0, 6, 20),
    ("council", (None,), 2.0, 8, 25),  # the area's council, filled in per area
    ("probation", ("probation-north-west",), 1.5, 5, 15),
    ("substance_misuse", (RECOVERY,), 1.5, 5, 15),
    ("voluntary", (FOOD_BANK, WARM_HOMES), 1.5, 5, 20),
    ("police", (None,), 1.5, 10, 40),
    ("other", (None,), 1.0, 5, 30),
)
TOPICS: Final = (
    "County lines awareness",
    "Spotting cuckooing",
    "Exploitation of vulnerable adults",
    "Child criminal exploitation",
    "SAFE markers and calls for service",
    "Harm reduction and naloxone",
)
# Which topics suit which audience (indices into TOPICS).
TOPICS_FOR: Final = {
    "school": (0, 3),
    "nhs": (1, 2, 5),
    "housing": (1, 4),
    "fire": (1, 4),
    "council": (0, 2),
    "probation": (0, 2),
    "substance_misuse": (1, 5),
    "voluntary": (0, 1, 5),
    "police": (1, 4),
    "other": (0, 1),
}


def _working_day(day: date) -> date:
    """Weekend sessions move to the Friday before (the window starts on a Friday)."""
    return day - timedelta(days=day.weekday() - 4) if day.weekday() >= 5 else day


def sessions(rng: np.random.Generator) -> Table:
    rows: list[tuple[date, str, str | None, str, str, int]] = []
    weights = np.array([a[2] for a in AUDIENCES])
    for area, count in SESSIONS_PER_AREA.items():
        days = np.sort(growing_days(rng, count, growth=1.5))
        kinds = rng.choice(len(AUDIENCES), size=count, p=weights / weights.sum())
        sizes = rng.random(count)
        picks = rng.random((count, 2))
        for d, k, size, (p_org, p_topic) in zip(
            days.tolist(), kinds.tolist(), sizes.tolist(), picks.tolist(), strict=True
        ):
            ptype, orgs, _, lo, hi = AUDIENCES[k]
            org = orgs[int(p_org * len(orgs))]
            if ptype == "council":
                org = COUNCILS[area]
            topics = TOPICS_FOR[ptype]
            topic = TOPICS[topics[int(p_topic * len(topics))]]
            day = _working_day(WINDOW_START + timedelta(days=int(d)))
            rows.append((day, area, org, ptype, topic, lo + round(size * (hi - lo))))
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    n = len(rows)
    c = list(zip(*rows, strict=True))
    days_from_start = np.array([(d - WINDOW_START).days for d in c[0]], dtype=np.int64)
    return Table.of(
        "training_sessions",
        session_id=np.arange(1, n + 1),
        area_id=c[1],
        delivered_on=day_text(days_from_start, WINDOW_START),
        partner_org_id=c[2],
        partner_type=c[3],
        topic=c[4],
        attendees=c[5],
        created_by=np.full(n, USER_IDS["demo.visits"], dtype=object),
        created_at=local_text([local_moment(d, 17 * 60) for d in c[0]]),
    )
