"""Random but realistic scheduling problems for the benchmark and the tests."""

from __future__ import annotations

from datetime import date

import numpy as np

from hardening.works.problem import DAY, Job, Operative, Problem

SKILLS = ("joiner", "electrician", "cctv_engineer", "housing_officer")
SKILL_P = (0.6, 0.25, 0.07, 0.08)
# mostly the short jobs (chains, viewers, guards); door replacements and new entry systems rarer
DURATIONS = {"joiner": (20, 30, 30, 30, 30, 20, 240), "electrician": (90, 120, 120, 90, 480),
             "cctv_engineer": (120,), "housing_officer": (60,)}  # fmt: skip
# the trades in proportion to the work (every skill present from four operatives up)
CREW = ("joiner", "electrician", "cctv_engineer", "housing_officer", "joiner", "electrician",
        "joiner", "joiner", "electrician", "joiner", "housing_officer", "joiner")  # fmt: skip
PRIORITY_P = {"emergency": 0.05, "urgent": 0.25, "routine": 0.5, "planned": 0.2}
SLA_DAYS = {"emergency": 1, "urgent": 7, "routine": 28, "planned": 90}


def problem(
    jobs: int, operatives: int, days: int, seed: int = 1, start: date = date(2026, 12, 7),
    town_km: float = 8.0,
) -> Problem:  # fmt: skip
    """Operatives (one or two skills, 08:00-16:00 Mon-Fri) and jobs across a town; due dates
    spread as if orders had been raised over the past weeks; a fifth with tenant windows."""
    rng = np.random.default_rng(seed)
    x0, y0, size = 430_000.0, 430_000.0, town_km * 1000
    ops = []
    for i in range(operatives):
        skills = {CREW[i % len(CREW)]}
        if rng.random() < 0.3:
            skills.add(str(rng.choice(SKILLS, p=SKILL_P)))
        ops.append(
            Operative(
                i + 1, f"op{i + 1}", frozenset(skills), x0 + rng.random() * size,
                y0 + rng.random() * size, 480, 960, frozenset({1, 2, 3, 4, 5}),
            )
        )  # fmt: skip
    out = []
    names = list(PRIORITY_P)
    for k in range(jobs):
        skill = str(rng.choice(SKILLS, p=SKILL_P))
        priority = str(rng.choice(names, p=list(PRIORITY_P.values())))
        sla = SLA_DAYS[priority] * DAY
        raised = -int(rng.random() * min(sla, 30 * DAY))  # raised some time ago
        window = None
        if rng.random() < 0.2:
            w0 = int(rng.choice([480, 540, 720, 780]))
            window = (w0, w0 + int(rng.choice([180, 240])))
        out.append(
            Job(
                k + 1, x0 + rng.random() * size, y0 + rng.random() * size, skill,
                int(rng.choice(DURATIONS[skill])), raised + sla, priority, window,
            )
        )  # fmt: skip
    return Problem(start, days, tuple(ops), tuple(out))
