"""Multi-day operative routing: OR-Tools VRP with time windows and skills, and an
earliest-due-date greedy baseline to compare it with.

Each (operative, working day) is one vehicle starting and ending at the operative's base within
its hours. Lateness is a soft upper bound on each job's start (due - duration) weighted by
priority, so the solver trades minutes of lateness against minutes of travel at the priority's
rate (a weighted minute late costs as much as 100 minutes of travel); the search starts from
the earliest-due-date plan, so it can only improve on it; leaving a job out costs more than
doing it late within the horizon. Jobs no schedule could hold are taken out first with the
reason; the solver's drops are 'capacity'.
"""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from hardening.works.problem import DAY, Job, Problem, Schedule, Visit, infeasible_reason

LATE_RATE = 100  # cost per weighted minute late (travel costs 1 per minute)
METAHEURISTIC = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH


def _drop_cost(job: Job, horizon: int) -> int:
    """What leaving a job out costs: the weighted lateness it gets if done just after the
    horizon (as problem.evaluate counts it), so dropping never beats doing it late in time."""
    if job.due >= horizon:
        return job.weight * DAY * LATE_RATE
    return job.weight * (max(horizon, job.due + DAY) - job.due + 1) * LATE_RATE


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


def solve(problem: Problem, seconds: float = 20.0, workers: int = 1) -> Schedule:
    """Best schedule OR-Tools finds in the time limit (guided local search)."""
    started = time.perf_counter()
    jobs, unscheduled = _prefilter(problem)
    shifts = problem.shifts()
    if not jobs or not shifts:
        for j in jobs:
            unscheduled[j.job_id] = "capacity: no working shift in the horizon"
        return Schedule([], unscheduled, "ortools", time.perf_counter() - started)
    ops = list(problem.operatives)
    op_node = {o.operative_id: i for i, o in enumerate(ops)}
    points = [(o.x, o.y) for o in ops] + [(j.x, j.y) for j in jobs]
    service = [0] * len(ops) + [j.duration for j in jobs]
    n = len(points)
    travel = [[problem.travel(*points[a], *points[b]) for b in range(n)] for a in range(n)]
    transit = [[travel[a][b] + service[a] for b in range(n)] for a in range(n)]
    starts = [op_node[op.operative_id] for op, _, _, _ in shifts]
    manager = pywrapcp.RoutingIndexManager(n, len(shifts), starts, starts)
    routing = pywrapcp.RoutingModel(manager)

    # matrices evaluated natively (no Python call per arc)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(travel))
    horizon = problem.days * DAY
    routing.AddDimension(routing.RegisterTransitMatrix(transit), DAY, horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    for v, (_, _, s0, s1) in enumerate(shifts):
        dim.CumulVar(routing.Start(v)).SetRange(s0, s1)
        dim.CumulVar(routing.End(v)).SetRange(s0, s1)
    vehicle_of = {(op.operative_id, d): v for v, (op, d, _, _) in enumerate(shifts)}
    for k, j in enumerate(jobs):
        index = manager.NodeToIndex(len(ops) + k)
        allowed = [v for v, (op, _, _, _) in enumerate(shifts) if j.skill in op.skills]
        cumul = dim.CumulVar(index)
        if j.fixed:
            allowed = [vehicle_of.get((j.fixed[0], j.fixed[1] // DAY), -1)]
            cumul.SetRange(j.fixed[1], j.fixed[1])
        # -1 = left out (the disjunction); a committed job may not be left out
        vehicles = [a for a in allowed if a >= 0] + ([] if j.fixed else [-1])
        routing.VehicleVar(index).SetValues(vehicles)
        if j.window:
            cumul.SetRange(j.window[0], (problem.days - 1) * DAY + j.window[1] - j.duration)
            for d in range(problem.days - 1):
                cumul.RemoveInterval(
                    d * DAY + j.window[1] - j.duration + 1, (d + 1) * DAY + j.window[0] - 1
                )
        if j.due - j.duration < horizon:
            dim.SetCumulVarSoftUpperBound(index, max(0, j.due - j.duration), j.weight * LATE_RATE)
        if not j.fixed:
            routing.AddDisjunction([index], _drop_cost(j, horizon))
    for v in range(len(shifts)):
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(v)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    strategy = routing_enums_pb2.FirstSolutionStrategy
    params.first_solution_strategy = strategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = METAHEURISTIC
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    # Start from the earliest-due-date plan: local search then only keeps improvements.
    seed = greedy(problem)
    node_of = {j.job_id: len(ops) + k for k, j in enumerate(jobs)}
    routes: list[list[int]] = [[] for _ in shifts]
    for visit in sorted(seed.visits, key=lambda v: v.start):
        routes[vehicle_of[(visit.operative_id, visit.start // DAY)]].append(node_of[visit.job_id])
    routing.CloseModelWithParameters(params)
    initial = routing.ReadAssignmentFromRoutes(routes, True)
    solution = (
        routing.SolveFromAssignmentWithParameters(initial, params)
        if initial is not None
        else routing.SolveWithParameters(params)
    )
    visits: list[Visit] = []
    if solution is None:
        for j in jobs:
            unscheduled[j.job_id] = "capacity: the solver found no schedule (committed jobs clash?)"
        return Schedule([], unscheduled, "ortools", time.perf_counter() - started)
    placed: set[int] = set()
    for v, (op, _, _, _) in enumerate(shifts):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            j = jobs[manager.IndexToNode(index) - len(ops)]
            start = solution.Min(dim.CumulVar(index))
            visits.append(Visit(j.job_id, op.operative_id, start, start + j.duration))
            placed.add(j.job_id)
            index = solution.Value(routing.NextVar(index))
    for j in jobs:
        if j.job_id not in placed:
            unscheduled[j.job_id] = "capacity: no room in the horizon for this job"
    return Schedule(visits, unscheduled, "ortools", time.perf_counter() - started)


def greedy(problem: Problem) -> Schedule:
    """Earliest due date first; each job goes where it can finish earliest (appended)."""
    started = time.perf_counter()
    jobs, unscheduled = _prefilter(problem)
    shifts = problem.shifts()
    tail = {v: (op.x, op.y, s0) for v, (op, _, s0, _) in enumerate(shifts)}
    visits: list[Visit] = []
    for j in sorted(jobs, key=lambda j: (j.fixed is None, j.due, -j.weight, j.job_id)):
        best: tuple[int, int, int] | None = None  # (finish, vehicle, start)
        for v, (op, _, s0, s1) in enumerate(shifts):
            if j.skill not in op.skills:
                continue
            x, y, t = tail[v]
            begin = t + problem.travel(x, y, j.x, j.y)
            if j.window:
                begin = max(begin, s0 - s0 % DAY + j.window[0])
                if (begin % DAY) + j.duration > j.window[1]:
                    continue
            if j.fixed and (j.fixed[0] != op.operative_id or not s0 <= j.fixed[1] <= s1):
                continue
            if j.fixed:
                if j.fixed[1] < begin:
                    continue
                begin = j.fixed[1]
            end = begin + j.duration
            if end + problem.travel(j.x, j.y, op.x, op.y) > s1:
                continue
            if best is None or end < best[0]:
                best = (end, v, begin)
        if best is None:
            unscheduled[j.job_id] = "capacity: no room in the horizon for this job"
            continue
        end, v, begin = best
        visits.append(Visit(j.job_id, shifts[v][0].operative_id, begin, end))
        tail[v] = (j.x, j.y, end)
    return Schedule(visits, unscheduled, "greedy_edd", time.perf_counter() - started)
