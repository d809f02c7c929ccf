"""The covering model: HiGHS matches brute force, never loses to greedy, keeps locked sites."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
import shapely

from hardening.coverage.data import Road
from hardening.coverage.flows import build_graph, capture, captured, entry_points, shortest_flows
from hardening.coverage.mclp import CoverProblem, brute_force, greedy, solve
from hardening.errors import UserInputError


def _random(seed: int) -> CoverProblem:
    rng = np.random.default_rng(seed)
    nd, nc = int(rng.integers(5, 40)), int(rng.integers(3, 10))
    cover = sp.csc_matrix((rng.random((nd, nc)) < 0.3).astype(float))
    kw: dict[str, float | int] = (
        {"max_new": int(rng.integers(0, 4))} if seed % 3 else {"budget": float(rng.integers(1, 8))}
    )
    return CoverProblem(
        cover,
        rng.integers(0, 10, nd).astype(float),
        rng.integers(1, 5, nc).astype(float),
        [0] if seed % 2 else [],
        backup_weight=0.3 if seed % 4 == 0 else 0.0,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("seed", range(40))
def test_highs_matches_brute_force_and_beats_greedy(seed: int) -> None:
    problem = _random(seed)
    exact, quick, best = brute_force(problem), greedy(problem), solve(problem)
    assert best.status == "optimal"
    assert best.objective == pytest.approx(exact.objective)
    assert best.objective >= quick.objective - 1e-9
    assert problem.feasible(best.new) and problem.feasible(quick.new)
    assert best.bound == pytest.approx(best.objective) and best.gap == 0.0


def test_greedy_is_beaten_where_it_is_known_to_fail() -> None:
    # Site 0 covers the middle of everything; sites 1 and 2 together cover more.
    cover = sp.csc_matrix(
        np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=float)
    )
    problem = CoverProblem(cover, np.ones(6), max_new=2)
    quick, best = greedy(problem), solve(problem)
    assert quick.new[0] == 0 or quick.objective < best.objective or quick.new == [1, 2]
    assert best.new == [1, 2] and best.objective == 6.0


def test_locked_sites_stay_and_count() -> None:
    cover = sp.csc_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=float))
    problem = CoverProblem(cover, np.array([5.0, 5.0, 1.0, 1.0]), locked=[0], max_new=1)
    best = solve(problem)
    assert 0 not in best.new  # locked sites are not new ones...
    assert best.objective == 11.0  # ...but their coverage is counted: 5 + 5 + 1
    assert problem.value([]) == 10.0  # the locked site alone
    # The covered-by-locked rows were removed before the solver saw them.
    assert best.rows <= 2


def test_budget_counts_costs() -> None:
    cover = sp.csc_matrix(np.eye(3))
    problem = CoverProblem(cover, np.array([10.0, 6.0, 6.0]), np.array([3.0, 1.5, 1.5]), budget=3.0)
    best = solve(problem)
    assert best.new == [1, 2] and best.objective == 12.0


def test_backup_coverage_prefers_a_second_look() -> None:
    # Site 0 is locked over demand 0; site 1 adds a second camera there, site 2 a new home.
    cover = sp.csc_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=float))
    w = np.array([10.0, 1.0])
    plain = solve(CoverProblem(cover, w, locked=[0], max_new=1))
    backed = solve(CoverProblem(cover, w, locked=[0], max_new=1, backup_weight=0.5))
    assert plain.new == [2] and backed.new == [1]
    assert backed.objective == pytest.approx(15.0)


def test_bad_problems_are_refused() -> None:
    cover = sp.csc_matrix(np.eye(2))
    with pytest.raises(UserInputError):
        CoverProblem(cover, np.array([1.0, np.nan]), max_new=1)
    with pytest.raises(UserInputError):
        CoverProblem(cover, np.ones(2))
    with pytest.raises(UserInputError):
        CoverProblem(cover, np.ones(2), locked=[5], max_new=1)


def _road(i: int, cls: str, pts: list[tuple[float, float]], oneway: bool = False) -> Road:
    return Road(i, cls, oneway, shapely.LineString(pts))


def test_flow_capture_on_a_toy_graph() -> None:
    """Two entries A and B, a junction M, destinations D (weight 5) and E (weight 2).

    A -(r0)- M -(r2)- D,  B -(r1)- M,  M -(r3)- E, and a long bypass A -(r4)- D.
    Paths: A->D via r0,r2 (400 m < 1,000 m bypass); B->D via r1,r2; A->E via r0,r3; B->E via r1,r3.
    Flows 5, 5, 2, 2 (= 14). One camera: r2 catches 10 (r0 or r1 only 7, r3 4).
    Two cameras: all 14, either at both entries (r0 + r1) or on both exits (r2 + r3)."""
    roads = [
        _road(0, "primary", [(0, 0), (200, 100)]),
        _road(1, "primary", [(0, 200), (200, 100)]),
        _road(2, "primary", [(200, 100), (400, 100)]),
        _road(3, "residential", [(200, 100), (200, 300)]),
        _road(4, "residential", [(0, 0), (0, -400), (400, -400), (400, 100)]),
    ]
    g = build_graph(roads)
    a, b = g.nearest_node(0, 0), g.nearest_node(0, 200)
    d, e = g.nearest_node(400, 100), g.nearest_node(200, 300)
    flows = shortest_flows(g, [a, b], [True, True], [d, e], [5.0, 2.0])
    assert flows.volume.tolist() == [5.0, 2.0, 5.0, 2.0]
    one, _ = capture(flows, [], 1)
    assert one.new == [2] and one.objective == 10.0
    two, quick_two = capture(flows, [], 2)
    assert sorted(two.new) in ([0, 1], [2, 3]) and two.objective == 14.0
    assert quick_two.objective <= two.objective
    # An existing camera on r2 is kept; the best single addition then is r3 (+4) or r0/r1 (+2).
    locked, _ = capture(flows, [2], 1)
    assert locked.new == [3] and locked.objective == 14.0
    assert captured(flows, [2]).tolist() == [True, False, True, False]


def test_one_way_roads_and_dead_end_connectors() -> None:
    roads = [
        _road(0, "residential", [(0, 0), (100, 0)], oneway=True),
        _road(1, "residential", [(100, 30), (200, 30)]),  # stops 30 m short of road 0's end
    ]
    g = build_graph(roads)
    start, end = g.nearest_node(0, 0), g.nearest_node(200, 30)
    there = shortest_flows(g, [start], [True], [end], [1.0])
    assert there.cover.toarray().tolist() == [[1.0, 1.0]]
    back = shortest_flows(g, [end], [True], [start], [1.0])
    assert len(back.volume) == 0  # against the one-way: no path


def test_entry_points_where_main_roads_cross_the_boundary() -> None:
    area = shapely.box(0, 0, 1000, 1000)
    roads = [
        _road(0, "primary", [(-200, 500), (300, 500), (600, 500)]),
        _road(1, "residential", [(600, 500), (600, 1200)]),
    ]
    g = build_graph(roads)
    assert entry_points(g, area) == [g.nearest_node(300, 500)]
