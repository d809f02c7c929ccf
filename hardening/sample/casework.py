"""Vulnerability visits and what they put in place: harm reduction kits, protection plans and
referrals to partners (in every state). The SAFE markers they lead to are in markers.py.

Visits go where the trouble is: homes with cuckooing or dealing events are visited soon after,
the rest of the visits spread over deprived and social homes, growing year on year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, get_args

import numpy as np

from hardening.sample.addresses import Addresses
from hardening.sample.events import CATEGORIES, DAYS, Incidents
from hardening.sample.partners import (
    COUNCILS,
    FOOD_BANK,
    NHS,
    POLICE,
    RECOVERY,
    USER_IDS,
    WARM_HOMES,
)
from hardening.sample.spec import TOWNS, WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import (
    IntArray,
    choose,
    day_text,
    local_moment,
    local_text,
    nullable,
    pg_array,
)
from hardening.sample.zones import Zones
from hardening.visits.models import Sign, SubjectType

VISITS_PER_ADDRESS: Final = 0.04
REVIEW_BACKLOG_DAYS: Final = 14  # retention reviews of the last fortnight not yet done
SUBJECTS: Final = get_args(SubjectType)  # the order SUBJECT_P and SIGN_P follow
SUBJECT_P: Final = {  # by what the home is known for: cuckooing, dealing, nothing in particular
    "cuckooing": (0.2, 0.0, 0.0, 0.7, 0.1),
    "dealing": (0.35, 0.1, 0.35, 0.1, 0.1),
    "none": (0.45, 0.1, 0.05, 0.15, 0.25),
}
SIGNS: Final = get_args(Sign)
SIGN_P: Final = np.array(
    [  # rows: SUBJECTS
        [0.3, 0.2, 0.1, 0.1, 0.2, 0.1],
        [0.3, 0.3, 0.0, 0.0, 0.3, 0.1],
        [0.7, 0.5, 0.1, 0.0, 0.4, 0.4],
        [0.7, 0.5, 0.5, 0.3, 0.4, 0.3],
        [0.1, 0.1, 0.1, 0.05, 0.1, 0.05],
    ]
)
VULNERABLE_P: Final = (0.6, 0.2, 0.1, 0.9, 0.3)
INTEL_MEAN: Final = (0.4, 1.2, 1.2, 0.6, 0.2)
OUTCOMES: Final = (
    "Support package accepted",
    "Advice given; calling card left",
    "No reply; card left",
    "Occupant declined support",
    "Referred to partners",
    "Third party present; follow-up arranged",
)
TEAM: Final = pg_array((USER_IDS["demo.visits"], USER_IDS["demo.recovery"]))
ITEMS: Final = (
    ("naloxone", 0.6, 1, 2),
    ("sharps_box", 0.4, 1, 1),
    ("nitazene_test_strips", 0.35, 5, 20),
    ("clean_needles", 0.3, 10, 50),
)
SERVICES: Final = (
    "substance_misuse",
    "food_bank",
    "mental_health",
    "adult_social_care",
    "heating_grant",
    "housing",
    "other",
)
SERVICE_P: Final = (0.3, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05)
REFERRAL_STATUS: Final = ("made", "accepted", "engaged", "closed")
CLOSED_OUTCOMES: Final = ("Support completed", "Engaged with service", "Declined", "No contact")
KEY_EVENTS: Final = (
    CATEGORIES.index("cuckooing"),
    CATEGORIES.index("exploitation"),
    CATEGORIES.index("threat_to_life"),
)
DEALING: Final = CATEGORIES.index("drug_dealing")


def growing_days(rng: np.random.Generator, n: int, growth: float = 1.2) -> IntArray:
    """Days in the window with density rising linearly (visits grow year on year)."""
    u = rng.random(n)
    s = (-1 + np.sqrt(1 + 2 * growth * u * (1 + growth / 2))) / growth
    return np.minimum((s * DAYS).astype(np.int64), DAYS - 1)


@dataclass
class Visits:
    table: Table
    address: IntArray
    day: IntArray
    subject: IntArray
    vulnerable: np.ndarray
    first: np.ndarray  # bool: the subject's first visit


def visits(rng: np.random.Generator, addr: Addresses, zones: Zones, inc: Incidents) -> Visits:
    n = max(20, round(VISITS_PER_ADDRESS * len(addr)))
    key = np.isin(inc.category, KEY_EVENTS) & inc.at_address
    dealing = (inc.category == DEALING) & inc.at_address
    first_key = np.full(len(addr), DAYS, dtype=np.int64)
    np.minimum.at(first_key, inc.address[key], inc.seconds[key] // 86400)
    known = np.zeros(len(addr), dtype=np.int64)  # 2 cuckooing-type, 1 dealing, 0 none
    known[inc.address[dealing]] = 1
    known[inc.address[key]] = 2
    homes = (addr.kind != "commercial") & (addr.kind != "block")
    w = 0.2 + 30.0 * (known == 2) + 8.0 * (known == 1)
    w = w + 2.0 * (zones.address_deciles() <= 2) + 3.0 * (addr.tenure == "social_rented")
    w = np.where(homes, w, 0.0)
    n_first = min(round(n * 0.75), int(homes.sum()))
    a_first = rng.choice(len(addr), size=n_first, replace=False, p=w / w.sum())
    soon = first_key[a_first] + rng.integers(2, 46, size=n_first)
    d_first = np.where(
        first_key[a_first] < DAYS, np.minimum(soon, DAYS - 1), growing_days(rng, n_first)
    )
    kinds = ("none", "dealing", "cuckooing")
    subject = np.empty(n_first, dtype=np.int64)
    for k, label in enumerate(kinds):
        m = known[a_first] == k
        subject[m] = choose(rng, range(len(SUBJECTS)), SUBJECT_P[label], int(m.sum())).astype(
            np.int64
        )
    # Follow-ups: the same subject again a few weeks later (enhanced visits).
    fw = np.where(np.isin(subject, (0, 3)), 3.0, 1.0)
    back = rng.choice(n_first, size=n - n_first, p=fw / fw.sum())
    d_back = d_first[back] + rng.integers(7, 43, size=len(back))
    ok = d_back < DAYS
    back, d_back = back[ok], d_back[ok]
    who = np.concatenate([np.arange(n_first), back])
    day = np.concatenate([d_first, d_back])
    order = np.lexsort((who, day))
    who, day = who[order], day[order]
    first = np.concatenate([np.ones(n_first, bool), np.zeros(len(back), bool)])[order]
    address, subject = a_first[who], subject[who]
    m = len(day)
    vulnerable = rng.random(m) < np.array(VULNERABLE_P)[subject]
    signs = rng.random((m, len(SIGNS))) < SIGN_P[subject]
    intel = rng.poisson(np.array(INTEL_MEAN)[subject])
    grading = choose(rng, ("2/B/P", "1/B/P", "2/C/P", "3/C/P", "2/A/P"), (4, 2, 3, 1, 1), m)
    created = [
        local_moment(WINDOW_START + timedelta(days=int(d)), int(mm))
        for d, mm in zip(day.tolist(), rng.integers(600, 1080, size=m).tolist(), strict=True)
    ]
    ids = np.arange(1, m + 1)
    table = Table.of(
        "visits",
        visit_id=ids,
        area_id=np.array([t.area_id for t in TOWNS], dtype=object)[addr.town[address]],
        uprn=addr.uprn[address],
        visited_on=day_text(day, WINDOW_START),
        team_org_id=np.full(m, POLICE, dtype=object),
        team_user_ids=np.full(m, TEAM, dtype=object),
        subject_ref=np.char.mod("SUBJ-%06d", who + 1).astype(object),
        subject_type=np.array(SUBJECTS, dtype=object)[subject],
        signs=[
            pg_array([s for s, on in zip(SIGNS, row, strict=True) if on]) for row in signs.tolist()
        ],
        occupant_vulnerable=np.where(vulnerable, "t", "f").astype(object),
        calling_card=np.where(rng.random(m) < 0.65, "t", "f").astype(object),
        outcome=choose(rng, OUTCOMES, (3, 3, 2, 1, 3, 1), m),
        intelligence_count=intel.astype(object),
        intelligence_grading=nullable(grading, intel > 0),
        review_due=day_text(_retention_review(day), WINDOW_START),
        created_by=np.full(m, USER_IDS["demo.visits"], dtype=object),
        created_at=local_text(created),
    )
    return Visits(table, address, day, subject, vulnerable, first)


def _retention_review(day: IntArray) -> IntArray:
    """Next retention review of each visit: 90 days after it, then every 90 days as each review
    retains it, with the reviews of the last fortnight still waiting (a working backlog)."""
    cycles: IntArray = np.maximum(1, (DAYS - 1 - REVIEW_BACKLOG_DAYS - day) // 90 + 1)
    due: IntArray = day + 90 * cycles
    return due


def harm_reduction(rng: np.random.Generator, v: Visits) -> Table:
    users = (v.subject == 0) | (rng.random(len(v.day)) < 0.15)
    rows = []
    for item, p, lo, hi in ITEMS:
        got = users & (rng.random(len(v.day)) < p)
        qty = rng.integers(lo, hi + 1, size=len(v.day))
        rows += [
            (i + 1, item, int(q))
            for i, q in zip(np.flatnonzero(got).tolist(), qty[got].tolist(), strict=True)
        ]
    rows.sort()
    c = list(zip(*rows, strict=True)) or [(), (), ()]
    return Table.of("harm_reduction_items", visit_id=c[0], item=c[1], quantity=c[2])


def protection_plans(rng: np.random.Generator, v: Visits, addr: Addresses) -> Table:
    p = np.where(v.subject == 3, 0.6, np.where(v.vulnerable & (v.subject == 0), 0.25, 0.0))
    take = np.flatnonzero(v.first & (rng.random(len(v.day)) < p))
    day = v.day[take]
    closed = (day < DAYS - 270) & (rng.random(len(take)) < 0.7)
    cycles = (DAYS - 1 - day) // 90 + 1  # reviewed every 90 days up to now...
    late = rng.random(len(take)) < 0.15  # ...except a few whose review is overdue
    review = day + 90 * np.maximum(1, cycles - late)
    review = np.where(closed, day + 90 * rng.integers(1, 4, size=len(take)), review)
    created = [local_moment(WINDOW_START + timedelta(days=int(d)), 17 * 60) for d in day.tolist()]
    a = v.address[take]
    return Table.of(
        "protection_plans",
        plan_id=np.arange(1, len(take) + 1),
        visit_id=take + 1,
        uprn=addr.uprn[a],
        subject_ref=v.table.data["subject_ref"][take],
        visit_cadence_days=choose(rng, (7, 14, 28), (2, 3, 2), len(take)),
        review_due=day_text(review, WINDOW_START),
        status=np.where(closed, "closed", "active").astype(object),
        area_id=v.table.data["area_id"][take],
        created_at=local_text(created),
    )


def referrals(rng: np.random.Generator, v: Visits, addr: Addresses) -> Table:
    count = np.minimum(rng.poisson(0.8, size=len(v.day)), 3)
    visit = np.repeat(np.arange(len(v.day)), count)
    service = np.empty(len(visit), dtype=np.int64)
    for k in range(1, 4):  # k distinct services for a visit with k referrals
        rows = np.flatnonzero(count[visit] == k)
        for j in range(0, len(rows), k):
            service[rows[j : j + k]] = rng.choice(
                len(SERVICES), size=k, replace=False, p=np.array(SERVICE_P) / sum(SERVICE_P)
            )
    a = v.address[visit]
    council = np.array([COUNCILS[t.area_id] for t in TOWNS], dtype=object)[addr.town[a]]
    partner = np.array(
        [RECOVERY, FOOD_BANK, NHS, "", WARM_HOMES, "", "probation-north-west"], dtype=object
    )[service]
    partner[service == 3] = council[service == 3]
    housing = service == 5
    partner[housing] = np.where(addr.social[a], addr.provider[a], council)[housing]
    made = v.day[visit] + rng.integers(0, 3, size=len(visit))
    made = np.minimum(made, DAYS - 1)
    age = DAYS - 1 - made
    u = rng.random(len(visit))
    status = np.where(
        age < 14,
        np.where(u < 0.6, 0, 1),
        np.where(
            age < 60,
            np.searchsorted([0.1, 0.45, 0.9], u, side="right"),
            np.searchsorted([0.0, 0.05, 0.35], u, side="right"),
        ),
    )
    status = np.clip(status, 0, 3)
    moved = np.minimum(age, rng.integers(1, 61, size=len(visit)))
    updated = [
        local_moment(WINDOW_START + timedelta(days=int(d)), int(mm))
        for d, mm in zip(
            (made + moved).tolist(), rng.integers(540, 1020, size=len(visit)).tolist(), strict=True
        )
    ]
    outcome = choose(rng, CLOSED_OUTCOMES, (3, 3, 1, 1), len(visit))
    return Table.of(
        "referrals",
        referral_id=np.arange(1, len(visit) + 1),
        visit_id=visit + 1,
        partner_org_id=partner,
        service=np.array(SERVICES, dtype=object)[service],
        status=np.array(REFERRAL_STATUS, dtype=object)[status],
        outcome=nullable(outcome, status == 3),
        made_on=day_text(made, WINDOW_START),
        updated_at=local_text(updated),
        version=(status + 1).astype(object),
        area_id=v.table.data["area_id"][visit],
    )
