"""Travel times along the road network where roads are loaded, else the straight line: a river
with one bridge 2 km away makes two homes 120 m apart ten minutes apart, one-way streets make
the way back longer, a place far from any road falls back to the straight line, and a schedule
planned from the database says which it used."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text
from world import HOUSING_A, NORTH, World

from hardening.db.engine import Actor, set_actor
from hardening.works import orders, plan
from hardening.works.problem import DAY, Job, Operative, Problem, evaluate, violations
from hardening.works.solver import greedy, solve
from hardening.works.travel import RoadNetwork

EVERY_DAY = frozenset(range(1, 8))
X, Y = 455_000.0, 545_000.0  # an empty corner of the grid for the database test

Line = tuple[list[tuple[float, float]], str, bool]


def _river(x: float, y: float) -> list[Line]:
    """Roads along both banks of an east-west river at y, one bridge 2 km east of x."""
    return [
        ([(x - 3000, y - 50), (x + 3000, y - 50)], "residential", False),
        ([(x - 3000, y + 50), (x + 3000, y + 50)], "residential", False),
        ([(x + 2000, y - 50), (x + 2000, y + 50)], "residential", False),
    ]


def _problem(jobs: tuple[Job, ...], network: RoadNetwork | None) -> Problem:
    op = Operative(1, "Jo", frozenset({"joiner"}), X, Y - 100, 480, 960, EVERY_DAY)
    return Problem(date(2027, 1, 4), 1, (op,), jobs, network=network)


SOUTH = Job(1, X, Y - 60, "joiner", 30, DAY, "routine")
NORTH_BANK = Job(2, X, Y + 60, "joiner", 30, DAY, "routine")
FAR = Job(3, X, Y + 6000, "joiner", 30, DAY, "routine")


def test_the_river_with_one_bridge() -> None:
    roads = _problem((SOUTH, NORTH_BANK, FAR), RoadNetwork.from_lines(_river(X, Y)))
    line = _problem((SOUTH, NORTH_BANK, FAR), None)
    assert line.travel(X, Y - 60, X, Y + 60) == 1  # 120 m x 1.3 at 30 km/h
    # 10 m to the road at a crawl, 2 km east, over, 2 km back (25 km/h), 10 m to the door
    there = roads.travel(X, Y - 60, X, Y + 60)
    assert there == 10 and roads.travel(X, Y + 60, X, Y - 60) == 10
    assert roads.travel_method == "road network" and line.travel_method == "straight line"
    # 6 km from the nearest road: the straight line, as without roads
    assert roads.travel(X, Y + 6000, X, Y - 60) == line.travel(X, Y + 6000, X, Y - 60)
    assert roads.matrix.on_network == 3  # the base and both banks; not the far job
    for problem in (roads, line):
        result = solve(problem, seconds=0.5)
        assert violations(problem, result) == [] and not result.unscheduled
    visits = sorted(solve(roads, seconds=0.5).visits, key=lambda v: v.start)
    crossing = [
        b.start - a.end for a, b in itertools.pairwise(visits) if {a.job_id, b.job_id} == {1, 2}
    ]
    assert all(g >= there for g in crossing)
    assert (
        evaluate(roads, greedy(roads))["travel_minutes"]
        > evaluate(line, greedy(line))["travel_minutes"]
    )


def test_one_way_streets_make_the_way_back_longer() -> None:
    west, east = (X - 2000, Y), (X + 2000, Y)
    network = RoadNetwork.from_lines(
        [
            ([west, east], "residential", True),  # one way, west to east
            ([west, (X - 2000, Y + 1000), (X + 2000, Y + 1000), east], "residential", False),
        ]
    )
    a = Job(1, X - 2000, Y - 10, "joiner", 30, DAY)
    b = Job(2, X + 2000, Y - 10, "joiner", 30, DAY)
    problem = _problem((a, b), network)
    forward, back = problem.travel(a.x, a.y, b.x, b.y), problem.travel(b.x, b.y, a.x, a.y)
    assert forward == 10  # 4 km at 25 km/h
    assert back == 15  # 6 km round by the two-way road
    result = solve(problem, seconds=0.5)
    assert violations(problem, result) == []


def test_neighbours_off_the_roads_go_straight() -> None:
    """Two doors 40 m apart, both 300 m from the only road: not out to the road and back."""
    network = RoadNetwork.from_lines([([(X - 3000, Y), (X + 3000, Y)], "primary", False)])
    a, b = Job(1, X, Y + 300, "joiner", 30, DAY), Job(2, X + 40, Y + 300, "joiner", 30, DAY)
    problem = _problem((a, b), network)
    assert problem.travel(a.x, a.y, b.x, b.y) == 1


def _home(conn: Connection, uprn: int, x: float, y: float) -> None:
    conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, tenure, "
            "provider_org_id, geom) VALUES (:u, :a, :t, 'house', 'social_rented', :p, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        {"u": uprn, "a": NORTH, "t": f"{uprn} River Road", "p": HOUSING_A, "x": x, "y": y},
    )


def test_a_plan_from_the_database_uses_the_loaded_roads(app_conn: Connection, world: World) -> None:
    south, north = 5_000_995_001, 5_000_995_002
    _home(app_conn, south, X, Y - 60)
    _home(app_conn, north, X, Y + 60)
    set_actor(app_conn, world.actors["housing_a"])
    app_conn.execute(
        text(
            "INSERT INTO operatives (provider_org_id, name, skills, working_days, base) "
            "VALUES (:p, 'River Joiner', '{joiner}', '{1,2,3,4,5,6,7}', "
            "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        {"p": HOUSING_A, "x": X, "y": Y - 100},
    )
    for uprn in (south, north):
        order = orders.create(app_conn, uprn, "door_chain", priority="routine")
        orders.transition(app_conn, order.work_order_id, 1, "approved")
    tomorrow = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    bare = plan.load_problem(app_conn, HOUSING_A, tomorrow, 1)
    assert bare.travel_method == "straight line" and bare.network is None
    assert bare.travel(X, Y - 60, X, Y + 60) == 1
    set_actor(app_conn, Actor.system())
    for k, (line, road_class, _) in enumerate(_river(X, Y)):
        app_conn.execute(
            text(
                "INSERT INTO roads (source_ref, road_class, area_id, geom) VALUES (:r, :c, :a, "
                "ST_GeomFromText(:g, 27700))"
            ),
            {"r": f"works-river:{k}", "c": road_class, "a": NORTH,
             "g": "LINESTRING(" + ", ".join(f"{x} {y}" for x, y in line) + ")"},
        )  # fmt: skip
    set_actor(app_conn, world.actors["housing_a"])
    problem = plan.load_problem(app_conn, HOUSING_A, tomorrow, 1)
    assert problem.travel_method == "road network"
    assert problem.travel(X, Y - 60, X, Y + 60) == 10
    result = plan.schedule(app_conn, HOUSING_A, tomorrow, 1, seconds=0.5)
    assert result["travel"] == "road network" and result["violations"] == []
    assert result["travel_detail"]["on_network"] == 3
    mine = sorted(
        (v for v in result["visits"] if v["operative"] == "River Joiner"),
        key=lambda v: v["start"],
    )
    assert len(mine) == 2
    assert mine[1]["start"] - mine[0]["end"] >= timedelta(minutes=10)
    assert {round(v["lat"], 2) for v in mine} and all(-9 < v["lon"] < 2.5 for v in mine)
