"""Operative scheduling: OR-Tools against the earliest-due-date greedy baseline, same problem.

    .venv/bin/python benchmarks/bench_schedule.py --jobs 500 --operatives 12 --days 10

Prints one JSON document: solve time (wall and CPU), priority-weighted lateness, travel, jobs
left out and emergencies late, for both; the emergencies that could have been done within their
SLA but were not; the constraint check of both schedules (must be empty); the targets (OR-Tools
lateness <= greedy's, travel >= 15% lower, under 30 s, every emergency that can be in SLA is);
and the machine's load average before and after (the machine is shared: figures are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

from hardening.works import synthetic
from hardening.works.problem import Problem, Schedule, evaluate, sla_reachable, violations
from hardening.works.solver import greedy, solve


def doable_emergencies_late(problem: Problem, result: Schedule) -> int:
    """Emergencies that some skilled operative alone could finish by their due time (first job
    of a shift, straight from base, in the tenant window) but the schedule does late or not."""
    ends = {v.job_id: v.end for v in result.visits}
    return sum(
        1
        for j in problem.jobs
        if j.priority == "emergency"
        and sla_reachable(problem, j)
        and ends.get(j.job_id, j.due + 1) > j.due
    )


def _cpu() -> float:
    """CPU seconds of this process and its finished worker processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description="OR-Tools vs greedy operative scheduling.")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--operatives", type=int, default=12)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="solver time limit")
    parser.add_argument("--workers", type=int, default=2, help="solver processes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    load_before = os.getloadavg()
    problem = synthetic.problem(args.jobs, args.operatives, args.days, seed=args.seed)
    out: dict[str, Any] = {}
    runs: tuple[tuple[str, Callable[[], Schedule]], ...] = (
        ("greedy_edd", lambda: greedy(problem)),
        ("ortools", lambda: solve(problem, args.seconds, args.workers)),
    )
    for name, run in runs:
        started, cpu = time.perf_counter(), _cpu()
        result = run()
        out[name] = evaluate(problem, result) | {
            "seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(_cpu() - cpu, 2),
            "stats": result.stats,
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
    out["ratios"] = {
        "weighted_lateness_vs_greedy": round(
            s["weighted_lateness"] / max(1.0, g["weighted_lateness"]), 4
        ),
        "travel_vs_greedy": round(s["travel_minutes"] / max(1.0, g["travel_minutes"]), 4),
    }
    load = {"before": load_before, "after": os.getloadavg(), "cores": os.cpu_count()}
    print(json.dumps(out | {"args": vars(args), "load_average": load}, indent=2))


if __name__ == "__main__":
    main()
