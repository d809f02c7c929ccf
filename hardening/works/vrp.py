"""One OR-Tools routing search over a window of the horizon: some working days' shifts (each an
(operative, day) vehicle), the jobs now on them and jobs nobody does yet, started from the
current routes so the answer is never worse than what it was given.

Costs: a minute of travel costs 1; a minute late costs the job's priority weight x LATE_RATE
(soft upper bound on the start at due - duration), so lateness comes first and travel second;
leaving a job out costs what evaluate() counts for it and more. Emergencies the plan already
does within their SLA carry it as a hard bound: no later move may make them late. Committed
jobs keep their operative and start. Everything here is plain data so a worker process can run
windows in parallel (see solver.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from hardening.works.problem import DAY, Job

LATE_RATE = 10_000  # per weighted minute late: above any day's travel, so lateness comes first
METAHEURISTIC = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH

Route = list[int]  # job indices in visiting order


@dataclass(frozen=True)
class Model:
    """What every window search needs: shifts, operatives' skills, jobs, one travel matrix over
    nodes (operatives first, then jobs), the horizon and the jobs held to their SLA."""

    shifts: tuple[tuple[int, int, int, int], ...]  # (operative index, day, start, end)
    skills: tuple[frozenset[str], ...]  # per operative index
    jobs: tuple[Job, ...]
    travel: NDArray[np.int32]
    horizon: int
    hard_due: frozenset[int] = frozenset()  # job indices that must finish by their due time

    @property
    def first_job(self) -> int:
        return len(self.skills)

    def allowed(self, k: int, vehicle: int) -> bool:
        """May the vehicle do job k? (a committed job's fixed holds the operative *index*)"""
        j, (op, day, _, _) = self.jobs[k], self.shifts[vehicle]
        if j.fixed:
            return j.fixed[0] == op and j.fixed[1] // DAY == day
        return j.skill in self.skills[op]


def drop_cost(job: Job, horizon: int) -> int:
    """What leaving a job out costs. Due inside the horizon: the weighted lateness evaluate()
    counts for it (done just after the horizon, or a day late) and a minute more, so dropping
    never beats doing it late. Due after the horizon: no lateness (the next plan can do it in
    time), but less than a weighted minute of anyone's lateness and more than any travel it
    saves, so such jobs fill the room that is left."""
    if job.due >= horizon:
        return LATE_RATE // 2 + job.weight
    return job.weight * (max(horizon, job.due + DAY) - job.due + 1) * LATE_RATE


def timeline(model: Model, vehicle: int, route: Route) -> list[tuple[int, int]] | None:
    """(job index, start) at the earliest along the route, or None if it breaks a hard rule
    (hours, windows, committed starts, hard SLA). Earliest is best: lateness only grows."""
    op, day, s0, s1 = model.shifts[vehicle]
    t, here, out = s0, op, []
    for k in route:
        j = model.jobs[k]
        t += int(model.travel[here, model.first_job + k])
        if j.window:
            t = max(t, day * DAY + j.window[0])
            if t + j.duration > day * DAY + j.window[1]:
                return None
        if j.fixed:
            if t > j.fixed[1]:
                return None
            t = j.fixed[1]
        if k in model.hard_due and t + j.duration > j.due:
            return None
        out.append((k, t))
        t += j.duration
        here = model.first_job + k
    if t + int(model.travel[here, op]) > s1:
        return None
    return out


def cost(model: Model, routes: dict[int, Route]) -> int:
    """The objective of a whole plan: travel + weighted lateness x rate + jobs left out."""
    total, placed = 0, set()
    for v, route in routes.items():
        times = timeline(model, v, route)
        if times is None:
            return 2**62
        op = model.shifts[v][0]
        nodes = [op] + [model.first_job + k for k in route] + [op]
        total += sum(int(model.travel[a, b]) for a, b in itertools.pairwise(nodes))
        for k, start in times:
            j = model.jobs[k]
            total += j.weight * max(0, start + j.duration - j.due) * LATE_RATE
            placed.add(k)
    dropped = (drop_cost(j, model.horizon) for k, j in enumerate(model.jobs) if k not in placed)
    return total + sum(dropped)


def search(
    model: Model, vehicles: list[int], jobs: list[int], routes: list[Route], seconds: float
) -> list[Route]:
    """Best routes for the window's vehicles found in the time, from the given routes."""
    ops = sorted({model.shifts[v][0] for v in vehicles})
    nodes = ops + [model.first_job + k for k in jobs]
    local = {k: len(ops) + i for i, k in enumerate(jobs)}
    travel = model.travel[np.ix_(nodes, nodes)].astype(np.int64)
    service = np.array([0] * len(ops) + [model.jobs[k].duration for k in jobs], dtype=np.int64)
    starts = [ops.index(model.shifts[v][0]) for v in vehicles]
    manager = pywrapcp.RoutingIndexManager(len(nodes), len(vehicles), starts, starts)
    routing = pywrapcp.RoutingModel(manager)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(travel.tolist()))
    transit = routing.RegisterTransitMatrix((travel + service[:, None]).tolist())
    routing.AddDimension(transit, DAY, model.horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    days = sorted({model.shifts[v][1] for v in vehicles})
    for i, v in enumerate(vehicles):
        _, _, s0, s1 = model.shifts[v]
        dim.CumulVar(routing.Start(i)).SetRange(s0, s1)
        dim.CumulVar(routing.End(i)).SetRange(s0, s1)
    for k in jobs:
        j, index = model.jobs[k], manager.NodeToIndex(local[k])
        allowed = [i for i, v in enumerate(vehicles) if model.allowed(k, v)]
        cumul = dim.CumulVar(index)
        if j.fixed:
            cumul.SetRange(j.fixed[1], j.fixed[1])
        elif j.window:  # the tenant's hours on each day of the window, nothing between
            spans = [(d * DAY + j.window[0], d * DAY + j.window[1] - j.duration) for d in days]
            cumul.SetRange(spans[0][0], spans[-1][1])
            for (_, end), (begin, _) in itertools.pairwise(spans):
                if begin - 1 >= end + 1:
                    cumul.RemoveInterval(end + 1, begin - 1)
        if k in model.hard_due:
            cumul.SetMax(min(cumul.Max(), j.due - j.duration))
        elif j.due - j.duration < model.horizon:
            dim.SetCumulVarSoftUpperBound(index, max(0, j.due - j.duration), j.weight * LATE_RATE)
        must = j.fixed is not None or k in model.hard_due
        routing.VehicleVar(index).SetValues(allowed + ([] if must else [-1]))
        if not must:
            routing.AddDisjunction([index], drop_cost(j, model.horizon))
    for i in range(len(vehicles)):
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.Start(i)))
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(i)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    strategy = routing_enums_pb2.FirstSolutionStrategy
    params.first_solution_strategy = strategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = METAHEURISTIC
    params.time_limit.FromMilliseconds(max(50, int(seconds * 1000)))
    routing.CloseModelWithParameters(params)
    initial = routing.ReadAssignmentFromRoutes([[local[k] for k in r] for r in routes], True)
    solution = (
        routing.SolveFromAssignmentWithParameters(initial, params)
        if initial is not None
        else routing.SolveWithParameters(params)
    )
    if solution is None:
        return routes
    out = []
    for i in range(len(vehicles)):
        route, index = [], solution.Value(routing.NextVar(routing.Start(i)))
        while not routing.IsEnd(index):
            route.append(jobs[manager.IndexToNode(index) - len(ops)])
            index = solution.Value(routing.NextVar(index))
        out.append(route)
    return out


@contextmanager
def roomy_heap() -> Iterator[None]:
    """Keep freed memory in the process while searching: OR-Tools frees and reallocates large
    blocks per move, and glibc returning them to the kernel each time doubled the time spent
    (half of it page faults, measured). Restored afterwards; a no-op off glibc."""
    path = ctypes.util.find_library("c")
    libc = ctypes.CDLL(path) if path else None
    mallopt = getattr(libc, "mallopt", None)
    m_trim_threshold = -1
    if mallopt is not None:
        mallopt(m_trim_threshold, 256 * 2**20)
    try:
        yield
    finally:
        if mallopt is not None:
            mallopt(m_trim_threshold, 128 * 2**10)
            getattr(libc, "malloc_trim", lambda _: None)(0)


_WORKER: Model | None = None


def init_worker(model: Model) -> None:
    """Process-pool initializer: the model is sent once per worker, not once per window."""
    global _WORKER
    _WORKER = model
    path = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(path), "mallopt", None) if path else None
    if mallopt is not None:
        mallopt(-1, 256 * 2**20)  # the worker lives for one solve: keep what it frees


def search_in_worker(
    vehicles: list[int], jobs: list[int], routes: list[Route], seconds: float
) -> list[Route]:
    assert _WORKER is not None, "init_worker was not run"
    return search(_WORKER, vehicles, jobs, routes, seconds)
