"""Operative scheduling: OR-Tools against the earliest-due-date greedy baseline, same problem.

    .venv/bin/python benchmarks/bench_schedule.py --jobs 500 --operatives 12 --days 10

Prints one JSON document: solve time, priority-weighted lateness, travel, jobs left out and
emergencies late, for both; the constraint check of both schedules (must be empty); and the
targets (OR-Tools lateness <= greedy's, travel >= 15% lower, under 30 s).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from hardening.works import synthetic
from hardening.works.problem import DAY, Problem, Schedule, evaluate, violations
from hardening.works.solver import greedy, solve


def doable_emergencies_late(problem: Problem, result: Schedule) -> int:
    """Emergencies that some skilled operative alone could finish by their due time (first job
    of a shift, straight from base) but that the schedule finishes late or leaves out."""
    ends = {v.job_id: v.end for v in result.visits}
    count = 0
    for j in problem.jobs:
        if j.priority != "emergency":
            continue
        doable = any(
            j.skill in op.skills
            and (j.window is None or j.window[0] + j.duration <= j.window[1])
            and max(s0 + problem.travel(op.x, op.y, j.x, j.y),
                    s0 - s0 % DAY + (j.window[0] if j.window else 0)) + j.duration
            <= min(j.due, s1 - problem.travel(op.x, op.y, j.x, j.y))
            for op, _, s0, s1 in problem.shifts()
        )  # fmt: skip
        count += int(doable and ends.get(j.job_id, j.due + 1) > j.due)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description="OR-Tools vs greedy operative scheduling.")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--operatives", type=int, default=12)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="solver time limit")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    problem = synthetic.problem(args.jobs, args.operatives, args.days, seed=args.seed)
    out: dict[str, Any] = {}
    runs: tuple[tuple[str, Callable[[], Schedule]], ...] = (
        ("greedy_edd", lambda: greedy(problem)),
        ("ortools", lambda: solve(problem, args.seconds)),
    )
    for name, run in runs:
        started = time.perf_counter()
        result = run()
        out[name] = evaluate(problem, result) | {
            "seconds": round(time.perf_counter() - started, 2),
            "violations": violations(problem, result)[:5],
            "emergencies_doable_in_sla_but_late": doable_emergencies_late(problem, result),
        }
    g, s = out["greedy_edd"], out["ortools"]
    travel_cut = 1 - s["travel_minutes"] / max(1.0, g["travel_minutes"])
    out["targets"] = {
        "under_30s": s["seconds"] < 30,
        "lateness_at_most_greedy": s["weighted_lateness"] <= g["weighted_lateness"],
        "travel_cut": round(travel_cut, 3),
        "travel_cut_at_least_15pct": travel_cut >= 0.15,
        "every_doable_emergency_in_sla": s["emergencies_doable_in_sla_but_late"] == 0,
    }
    print(json.dumps(out | {"args": vars(args)}, indent=2))


if __name__ == "__main__":
    main()
