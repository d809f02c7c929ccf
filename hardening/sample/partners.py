"""The partnership: organisations, sharing agreements, demo users and the providers' operatives.

Housing providers, the NHS trust, the recovery service, the food bank network, the warm-homes
charity and the schools trust are fictional; the police force, councils, fire and probation
services carry the names of the real public bodies for the area.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from hardening.areas import AREAS
from hardening.sample.addresses import Addresses
from hardening.sample.names import FIRST_NAMES, LAST_NAMES
from hardening.sample.spec import PROVIDERS, TOWN_PROVIDERS, TOWNS
from hardening.sample.table import Table
from hardening.sample.util import choose, pg_array, points_ewkt

POLICE: Final = "cumbria-police"
COUNCILS: Final = {
    "south-cumbria": "westmorland-furness-council",
    "carlisle": "cumberland-council",
    "west-cumbria": "cumberland-council",
}
NHS: Final = "lakes-borders-nhs"
RECOVERY: Final = "bay-recovery"
FOOD_BANK: Final = "furness-food-bank"
WARM_HOMES: Final = "warm-homes-cumbria"
ORGANISATIONS: Final = (
    (POLICE, "Cumbria Constabulary", "police"),
    *((org, name, "housing_provider") for org, name, _ in PROVIDERS),
    ("westmorland-furness-council", "Westmorland and Furness Council", "council"),
    ("cumberland-council", "Cumberland Council", "council"),
    (NHS, "Lakes and Borders Mental Health NHS Trust", "health"),
    ("cumbria-fire", "Cumbria Fire and Rescue Service", "fire"),
    ("probation-north-west", "Probation Service North West", "probation"),
    (RECOVERY, "Bay Recovery Service", "substance_misuse"),
    (FOOD_BANK, "Furness and Carlisle Food Bank Network", "voluntary"),
    (WARM_HOMES, "Warm Homes Cumbria", "voluntary"),
    ("coast-schools-trust", "Lakeland Coast Schools Trust", "school"),
)
SOUTH_AND_CARLISLE: Final = ("south-cumbria", "carlisle")
ALL_AREAS: Final = tuple(AREAS)
STARTS, ENDS, REVIEW = "2024-04-01", "2031-03-31", "2027-04-01"
# (org, title, data classes, areas, starts, ends, review)
AGREEMENTS: Final = (
    (
        POLICE,
        "County lines partnership: police",
        (
            "risk_band",
            "risk_factors",
            "markers",
            "visits",
            "referrals",
            "intelligence",
            "works",
            "sites",
        ),
        ALL_AREAS,
        STARTS,
        ENDS,
        REVIEW,
    ),
    (
        POLICE,
        "Pilot data sharing 2023-24",
        ("markers", "visits", "intelligence"),
        ("south-cumbria",),
        "2023-04-01",
        "2024-03-31",
        "2024-01-31",
    ),
    *(
        (
            org,
            f"Target hardening: {name}",
            ("own_properties", "risk_band", "works"),
            SOUTH_AND_CARLISLE,
            STARTS,
            ENDS,
            REVIEW,
        )
        for org, name, _ in PROVIDERS
    ),
    (
        "westmorland-furness-council",
        "Community safety and adult social care",
        ("aggregates_only", "sites", "referrals"),
        ("south-cumbria",),
        STARTS,
        ENDS,
        REVIEW,
    ),
    (
        "cumberland-council",
        "Community safety and adult social care",
        ("aggregates_only", "sites", "referrals"),
        ("carlisle", "west-cumbria"),
        STARTS,
        ENDS,
        REVIEW,
    ),
    (NHS, "Mental health referrals", ("referrals",), ALL_AREAS, STARTS, ENDS, REVIEW),
    (
        "cumbria-fire",
        "Safe and well visits",
        ("markers", "aggregates_only"),
        ALL_AREAS,
        STARTS,
        ENDS,
        REVIEW,
    ),
    (
        "probation-north-west",
        "Offender management",
        ("markers", "referrals"),
        SOUTH_AND_CARLISLE,
        STARTS,
        ENDS,
        REVIEW,
    ),
    (
        RECOVERY,
        "Lived-experience visit workers",
        ("visits", "referrals"),
        SOUTH_AND_CARLISLE,
        STARTS,
        ENDS,
        REVIEW,
    ),
    (FOOD_BANK, "Food bank referrals", ("referrals",), SOUTH_AND_CARLISLE, STARTS, ENDS, REVIEW),
    (WARM_HOMES, "Heating grant referrals", ("referrals",), ALL_AREAS, STARTS, ENDS, REVIEW),
    (
        "coast-schools-trust",
        "Awareness and aggregates",
        ("aggregates_only",),
        ("south-cumbria",),
        STARTS,
        ENDS,
        REVIEW,
    ),
)
# (username, org, roles, display name)
USERS: Final = (
    ("demo.control", POLICE, ("control_room",), "Demo control room operator"),
    ("demo.visits", POLICE, ("visit_team",), "Demo visit team officer"),
    ("demo.planner", POLICE, ("planner",), "Demo police planner"),
    ("demo.analyst", POLICE, ("analyst",), "Demo police analyst"),
    ("demo.admin", POLICE, ("admin",), "Demo administrator"),
    *(
        (f"demo.housing.{short}", org, ("housing",), f"Demo housing officer, {name}")
        for org, name, short in PROVIDERS
    ),
    ("demo.planner.wf", "westmorland-furness-council", ("planner",), "Demo council planner"),
    ("demo.planner.cumberland", "cumberland-council", ("planner",), "Demo council planner"),
    ("demo.health", NHS, ("visit_team",), "Demo mental health practitioner"),
    ("demo.fire", "cumbria-fire", ("control_room",), "Demo fire control operator"),
    ("demo.probation", "probation-north-west", ("visit_team",), "Demo probation officer"),
    ("demo.recovery", RECOVERY, ("visit_team",), "Demo lived-experience worker"),
    ("demo.foodbank", FOOD_BANK, ("visit_team",), "Demo food bank coordinator"),
    ("demo.warmhomes", WARM_HOMES, ("visit_team",), "Demo warm homes adviser"),
    ("demo.school", "coast-schools-trust", ("planner",), "Demo safeguarding lead"),
)
USER_IDS: Final = {u[0]: i + 1 for i, u in enumerate(USERS)}
SKILLS: Final = ("joiner", "electrician", "cctv_engineer", "housing_officer")
SKILL_P: Final = (0.45, 0.3, 0.1, 0.15)
HOURS: Final = (("08:00", "16:00"), ("07:30", "15:30"), ("09:00", "17:00"))
WEEKS: Final = ((1, 2, 3, 4, 5), (1, 2, 3, 4), (2, 3, 4, 5, 6))
HOMES_PER_OPERATIVE: Final = 350


def organisations_table() -> Table:
    cols = list(zip(*ORGANISATIONS, strict=True))
    return Table.of("organisations", org_id=cols[0], name=cols[1], kind=cols[2])


def agreements_tables() -> tuple[Table, Table]:
    ids = list(range(1, len(AGREEMENTS) + 1))
    a = list(zip(*AGREEMENTS, strict=True))
    agreements = Table.of(
        "sharing_agreements",
        agreement_id=ids,
        org_id=a[0],
        title=a[1],
        data_classes=[pg_array(c) for c in a[2]],
        starts_on=a[4],
        ends_on=a[5],
        review_on=a[6],
    )
    pairs = [(i, area) for i, row in zip(ids, AGREEMENTS, strict=True) for area in row[3]]
    areas = Table.of(
        "agreement_areas", agreement_id=[p[0] for p in pairs], area_id=[p[1] for p in pairs]
    )
    return agreements, areas


def users_table() -> Table:
    u = list(zip(*USERS, strict=True))
    return Table.of(
        "users",
        user_id=list(USER_IDS.values()),
        org_id=u[1],
        username=u[0],
        display_name=u[3],
        roles=[pg_array(r) for r in u[2]],
        active=["t"] * len(USERS),
        created_at=["2024-04-01T09:00:00+01:00"] * len(USERS),
    )


@dataclass
class Operatives:
    table: Table
    provider: list[str]
    skills: list[tuple[str, ...]]
    hours: list[tuple[str, str]]
    week: list[tuple[int, ...]]


def operatives(rng: np.random.Generator, addr: Addresses) -> Operatives:
    """Per provider, one operative for every ~350 social homes, based in its towns."""
    rows: list[tuple[str, str, tuple[str, ...], tuple[str, str], tuple[int, ...], int]] = []
    for org, _, _ in PROVIDERS:
        mine = addr.provider == org
        homes = np.bincount(addr.town[mine], minlength=len(TOWNS))
        count = max(4, round(int(mine.sum()) / HOMES_PER_OPERATIVE))
        p = (
            homes / homes.sum()
            if homes.sum()
            else np.array([TOWN_PROVIDERS[t.key][0] for t in TOWNS])
        )
        towns = rng.choice(len(TOWNS), size=count, p=p / p.sum())
        main = choose(rng, SKILLS, SKILL_P, count)
        main[: len(SKILLS)] = SKILLS  # every provider can do every kind of job
        names: set[str] = set()
        for k in range(count):
            skills = [str(main[k])]
            if rng.random() < 0.25:
                skills.append(str(rng.choice([s for s in SKILLS if s != skills[0]])))
            while True:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                if name not in names:
                    break
            names.add(name)
            hours = HOURS[int(rng.choice(3, p=[0.7, 0.2, 0.1]))]
            week = WEEKS[int(rng.choice(3, p=[0.75, 0.15, 0.1]))]
            rows.append((org, name, tuple(skills), hours, week, int(towns[k])))
    town = np.array([r[5] for r in rows])
    x = np.array([TOWNS[t].x for t in town]) + rng.normal(0, 300, len(rows))
    y = np.array([TOWNS[t].y for t in town]) + rng.normal(0, 300, len(rows))
    table = Table.of(
        "operatives",
        operative_id=list(range(1, len(rows) + 1)),
        provider_org_id=[r[0] for r in rows],
        name=[r[1] for r in rows],
        skills=[pg_array(r[2]) for r in rows],
        work_start=[r[3][0] for r in rows],
        work_end=[r[3][1] for r in rows],
        working_days=[pg_array(r[4]) for r in rows],
        area_id=[TOWNS[t].area_id for t in town],
        base=points_ewkt(x, y),
    )
    return Operatives(
        table,
        [r[0] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )
