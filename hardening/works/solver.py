"""Multi-day operative scheduling: a seed plan improved window by window with OR-Tools, and the
earliest-due-date greedy baseline it is measured against.

Each (operative, working day) is one vehicle starting and ending at the operative's base within
its hours. Jobs no schedule could hold are taken out first with the reason. The seed is the
better of two append-greedy plans (earliest due date first; and the same with the emergencies
that can be done within their SLA placed first), judged first by emergencies left late that
could be on time, then by cost. The emergencies the seed does within their SLA are then held
to it (a hard bound). The search then takes the horizon a window at a time: each round pairs
the working days at random, and OR-Tools re-plans each pair's shifts (their jobs and any job
nobody does yet) starting from the current routes, so every step is an improvement on
lateness first, then travel (vrp.py). One search over the whole horizon at once spends its
time filtering moves on 96 long-horizon routes; days in pairs can trade jobs between any two
days and search fast. Windows of one round touch different shifts, so with workers > 1 they
run in parallel processes. What is left out after the search is 'capacity'.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from hardening.works import vrp
from hardening.works.problem import (
    DAY,
    Job,
    Problem,
    Schedule,
    Visit,
    infeasible_reason,
    sla_reachable,
)
from hardening.works.vrp import LATE_RATE, Model, Route, cost, timeline

__all__ = ["LATE_RATE", "greedy", "solve"]
CAPACITY = "capacity: no room in the horizon for this job"
CLASH = "committed slot no longer fits (another committed job or the travel clashes)"
SLICE_MAX_S = 1.0  # one window's search; more rounds beat longer windows (measured)
SLICE_MIN_S = 0.1


def _prefilter(problem: Problem) -> tuple[list[Job], dict[int, str]]:
    ok, out = [], {}
    shifts = {(op.operative_id, d) for op, d, _, _ in problem.shifts()}
    for j in problem.jobs:
        if j.fixed:
            known = (j.fixed[0], j.fixed[1] // DAY) in shifts
            why = None if known else "committed slot is outside the operative's working days"
        else:
            why = infeasible_reason(problem, j)
        if why:
            out[j.job_id] = why
        else:
            ok.append(j)
    return ok, out


def _model(problem: Problem, jobs: list[Job]) -> Model:
    ops = list(problem.operatives)
    op_index = {o.operative_id: i for i, o in enumerate(ops)}
    places = [(o.x, o.y) for o in ops] + [(j.x, j.y) for j in jobs]
    index = [problem.matrix.index[p] for p in places]
    travel = problem.matrix.minutes[np.ix_(index, index)]
    shifts = tuple((op_index[op.operative_id], d, s0, s1) for op, d, s0, s1 in problem.shifts())
    mapped = tuple(
        replace(j, fixed=(op_index[j.fixed[0]], j.fixed[1])) if j.fixed else j for j in jobs
    )
    skills = tuple(o.skills for o in ops)
    return Model(shifts, skills, mapped, travel, problem.days * DAY)


def _append_greedy(model: Model, order: list[int]) -> dict[int, Route]:
    """Each job in turn goes where it can finish earliest, appended to a shift's route."""
    routes: dict[int, Route] = {v: [] for v in range(len(model.shifts))}
    tail = {v: (op, s0) for v, (op, _, s0, _) in enumerate(model.shifts)}  # (node, free at)
    for k in order:
        j, node = model.jobs[k], model.first_job + k
        best: tuple[int, int] | None = None  # (finish, vehicle)
        for v, (op, day, _, s1) in enumerate(model.shifts):
            if not model.allowed(k, v):
                continue
            here, t = tail[v]
            begin = t + int(model.travel[here, node])
            if j.window:
                begin = max(begin, day * DAY + j.window[0])
                if begin + j.duration > day * DAY + j.window[1]:
                    continue
            if j.fixed:
                if j.fixed[1] < begin:
                    continue
                begin = j.fixed[1]
            if k in model.hard_due and begin + j.duration > j.due:
                continue
            end = begin + j.duration
            if end + int(model.travel[node, op]) > s1:
                continue
            if best is None or end < best[0]:
                best = (end, v)
        if best is not None:
            routes[best[1]].append(k)
            tail[best[1]] = (node, best[0])
    return routes


def _edd(model: Model) -> list[int]:
    """Committed jobs, then earliest due date (heavier priority first on a tie)."""
    jobs = model.jobs
    return sorted(range(len(jobs)), key=lambda k: (jobs[k].fixed is None, jobs[k].due,
                                                   -jobs[k].weight, jobs[k].job_id))  # fmt: skip


def _schedule(
    problem: Problem, model: Model, routes: dict[int, Route], unscheduled: dict[int, str],
    name: str, started: float,
) -> Schedule:  # fmt: skip
    visits, placed = [], set()
    for v, route in routes.items():
        op = problem.operatives[model.shifts[v][0]]
        for k, start in timeline(model, v, route) or []:
            j = model.jobs[k]
            visits.append(Visit(j.job_id, op.operative_id, start, start + j.duration))
            placed.add(k)
    for k, j in enumerate(model.jobs):
        if k not in placed:
            unscheduled[j.job_id] = CLASH if j.fixed else CAPACITY
    return Schedule(visits, unscheduled, name, time.perf_counter() - started)


def greedy(problem: Problem) -> Schedule:
    """Earliest due date first; each job goes where it can finish earliest (appended)."""
    started = time.perf_counter()
    jobs, unscheduled = _prefilter(problem)
    model = _model(problem, jobs)
    return _schedule(
        problem, model, _append_greedy(model, _edd(model)), unscheduled, "greedy_edd", started
    )


def _on_time(model: Model, routes: dict[int, Route]) -> set[int]:
    return {
        k
        for v, route in routes.items()
        for k, start in timeline(model, v, route) or []
        if start + model.jobs[k].duration <= model.jobs[k].due
    }


def _late_emergencies(problem: Problem, model: Model, routes: dict[int, Route]) -> int:
    """Emergencies that could be done within their SLA but this plan does late or not at all."""
    on_time = _on_time(model, routes)
    return sum(
        1
        for k, j in enumerate(model.jobs)
        if j.priority == "emergency" and k not in on_time and sla_reachable(problem, j)
    )


def _seed(problem: Problem, model: Model) -> tuple[Model, dict[int, Route]]:
    """The better append-greedy plan; the emergencies it does on time are held there."""
    edd = _edd(model)
    first = [k for k in edd if model.jobs[k].fixed] + [
        k for k in edd if model.jobs[k].priority == "emergency" and not model.jobs[k].fixed
        and sla_reachable(problem, model.jobs[k])
    ]  # fmt: skip
    plans = [_append_greedy(model, edd)]
    plans.append(_append_greedy(model, first + [k for k in edd if k not in set(first)]))
    best = min(plans, key=lambda r: (_late_emergencies(problem, model, r), cost(model, r)))
    on_time = _on_time(model, best)
    held = frozenset(k for k in on_time if model.jobs[k].priority == "emergency")
    return replace(model, hard_due=held), best


def _windows(days: list[int], rng: random.Random) -> list[list[int]]:
    """The working days in random pairs (one triple if odd); all of them if three or fewer."""
    if len(days) <= 3:
        return [days]
    shuffled = rng.sample(days, len(days))
    pairs = [shuffled[i : i + 2] for i in range(0, len(shuffled) - 1, 2)]
    if len(shuffled) % 2:
        pairs[-1].append(shuffled[-1])
    return [sorted(p) for p in pairs]


def solve(problem: Problem, seconds: float = 20.0, workers: int = 1) -> Schedule:
    """Best schedule found in the time limit; workers > 1 searches windows in parallel."""
    started = time.perf_counter()
    jobs, unscheduled = _prefilter(problem)
    shifts = problem.shifts()
    if not jobs or not shifts:
        for j in jobs:
            unscheduled[j.job_id] = "capacity: no working shift in the horizon"
        return Schedule([], unscheduled, "ortools", time.perf_counter() - started)
    model, routes = _seed(problem, _model(problem, jobs))
    days = sorted({d for _, d, _, _ in model.shifts})
    rng = random.Random(len(jobs))
    deadline = started + seconds
    windows_done = 0
    pool = _pool(model, workers) if len(days) > 3 else None
    used = workers if pool is not None else 1
    try:
        with vrp.roomy_heap():
            while True:
                windows = _windows(days, rng)
                waves = -(-len(windows) // max(1, workers if pool else 1))
                left = deadline - time.perf_counter()
                share = min(SLICE_MAX_S, left / waves - 0.05)
                if len(windows) == 1:
                    share = left - 0.05  # one window is the whole problem: all the time
                if share < SLICE_MIN_S:
                    break
                windows_done += _round(model, routes, windows, share, rng, pool)
                if len(windows) == 1:
                    break
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    result = _schedule(problem, model, routes, unscheduled, "ortools", started)
    result.stats.update({"windows": float(windows_done), "workers": float(used),
                         "held_to_sla": float(len(model.hard_due))})  # fmt: skip
    return result


def _pool(model: Model, workers: int) -> Executor | None:
    """Worker processes for the windows, forked: quick to start, and a spawned child would
    re-run the caller's unguarded main script. Forking a threaded process (a web server) can
    copy a lock another thread holds, so there the search stays in this process."""
    if workers < 2 or threading.active_count() > 1:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(workers, context, vrp.init_worker, (model,))


def _round(
    model: Model, routes: dict[int, Route], windows: list[list[int]], seconds: float,
    rng: random.Random, pool: Executor | None,
) -> int:  # fmt: skip
    """Search each window once (in parallel on a pool) and take the answers in."""
    placed = {k for r in routes.values() for k in r}
    free = [k for k in range(len(model.jobs)) if k not in placed]
    vehicles = [[v for v, s in enumerate(model.shifts) if s[1] in w] for w in windows]
    extra: list[list[int]] = [[] for _ in windows]
    for k in free:  # a job nobody does yet is offered to one window that could do it
        able = [i for i, vs in enumerate(vehicles) if any(model.allowed(k, v) for v in vs)]
        if able:
            extra[rng.choice(able)].append(k)
    tasks = []
    for vs, more in zip(vehicles, extra, strict=True):
        current = [routes[v] for v in vs]
        tasks.append((vs, [k for r in current for k in r] + more, current, seconds))
    if pool is None:
        answers = [vrp.search(model, *t) for t in tasks]
    else:
        futures = [pool.submit(vrp.search_in_worker, *t) for t in tasks]
        answers = [f.result() for f in futures]
    best = cost(model, routes)
    for (vs, _, _, _), answer in zip(tasks, answers, strict=True):
        trial = routes | dict(zip(vs, answer, strict=True))
        if (now := cost(model, trial)) <= best:  # infeasible costs 2**62: never taken
            routes.update(trial)
            best = now
    return len(tasks)
