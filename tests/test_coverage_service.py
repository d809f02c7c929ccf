"""Coverage report, CCTV and ANPR plans and saved scenarios against the real PostGIS, as the
system actor and as the roles that may (planner) and may not (housing) plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner
from world import NORTH, PLANNERS, World

from hardening.api.app import create_app
from hardening.coverage.anpr import plan_anpr
from hardening.coverage.api import router
from hardening.coverage.cctv import CctvParams, plan_cctv
from hardening.coverage.cli import coverage_app, plan_app
from hardening.coverage.plans import compare_plans, list_plans, save_plan
from hardening.coverage.report import coverage_report
from hardening.db.engine import Actor, set_actor, transaction
from hardening.errors import ConflictError, PermissionDeniedError
from hardening.security.users import issue_token

AREA = "t-coverage"
X, Y = 431_000.0, 521_000.0  # an area of its own, east of the world's two
UPRN = 7_100_000_000
PERSONAL_KEYS = {"uprn", "full_address", "street", "postcode", "house_number", "occurred_at"}


def _town(conn: Connection) -> None:
    """A camera looking east at two front doors (ten flats each), one behind a house; twelve
    flats at a far point seen only by a faulty camera; incidents near the flats; a small street
    grid. Every group of homes is 10 or more, so disclosure control withholds nothing."""
    conn.execute(
        text(
            "INSERT INTO areas VALUES (:a, 'T Coverage', "
            "ST_Multi(ST_MakeEnvelope(430000, 520000, 435000, 525000, 27700)))"
        ),
        {"a": AREA},
    )
    conn.execute(
        text(
            "INSERT INTO agreement_areas SELECT agreement_id, :a FROM sharing_agreements "
            "WHERE org_id IN (:p, 't-housing-a')"
        ),
        {"a": AREA, "p": PLANNERS},
    )
    homes = [(UPRN + k, X + 25, Y) for k in range(10)]
    homes += [(UPRN + 10 + k, X + 25, Y + 15) for k in range(10)]
    homes += [(UPRN + 20 + k, X + 1000, Y + 1000) for k in range(12)]
    conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
            "VALUES (:u, :a, 'x home', 'house', ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        [{"u": u, "a": AREA, "x": x, "y": y} for u, x, y in homes],
    )
    conn.execute(
        text(
            "INSERT INTO buildings (source_ref, area_id, geom) VALUES ('t:wall', :a, "
            "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 27700))"
        ),
        {"a": AREA, "x0": X + 10, "y0": Y - 5, "x1": X + 18, "y1": Y + 5},
    )
    conn.execute(
        text(
            "INSERT INTO cctv_sites (source, source_ref, bearing_deg, fov_deg, range_m, status, "
            "area_id, geom) VALUES ('t', :r, 90, 90, 50, :s, :a, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        [
            {"r": "works", "s": "working", "a": AREA, "x": X, "y": Y},
            {"r": "broken", "s": "faulty", "a": AREA, "x": X + 980, "y": Y + 1000},
        ],
    )
    conn.execute(
        text(
            "INSERT INTO incidents (source, source_ref, category, occurred_at, area_id, geom) "
            "VALUES ('t', :r, 'drug_dealing', '2026-06-01', :a, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        [{"r": f"i{k}", "a": AREA, "x": X + 1000 + k, "y": Y + 1000} for k in range(3)]
        + [{"r": "i9", "a": AREA, "x": X + 25, "y": Y}],
    )
    # Streets: a main road across the area boundary, a street past the flats.
    conn.execute(
        text(
            "INSERT INTO roads (source_ref, road_class, area_id, geom) VALUES (:r, :c, :a, "
            "ST_GeomFromText(:g, 27700))"
        ),
        [
            {
                "r": "t:main",
                "c": "primary",
                "a": AREA,
                "g": f"LINESTRING({X - 1500} {Y + 1000}, {X + 500} {Y + 1000}, "
                f"{X + 900} {Y + 1000})",
            },
            {
                "r": "t:street",
                "c": "residential",
                "a": AREA,
                "g": f"LINESTRING({X + 900} {Y + 1000}, {X + 1100} {Y + 1000})",
            },
            {
                "r": "t:lane",
                "c": "residential",
                "a": AREA,
                "g": f"LINESTRING({X + 900} {Y + 1000}, {X + 900} {Y + 1300})",
            },
        ],
    )


def _no_personal_keys(doc: Any) -> None:
    if isinstance(doc, dict):
        assert not PERSONAL_KEYS & set(doc), set(doc)
        for v in doc.values():
            _no_personal_keys(v)
    elif isinstance(doc, list):
        for v in doc:
            _no_personal_keys(v)


def test_walls_hide_doors_and_repairs_are_valued(app_conn: Connection, world: World) -> None:
    _town(app_conn)
    seen = coverage_report(app_conn, AREA, visibility=True)
    blind = coverage_report(app_conn, AREA, visibility=False)
    assert seen["weight_basis"] == "incidents"  # no risk scores in this world
    assert seen["note"] and "incidents" in seen["note"]
    # Weights: 0.1 per household + 1 per recent incident within 50 m.
    door_hidden, door_open = 10 * 0.1 + 1, 10 * 0.1 + 1
    flats = 12 * 0.1 + 3
    assert seen["demand"]["weight"] == pytest.approx(door_hidden + door_open + flats)
    assert seen["covered"]["weight"] == pytest.approx(door_open)  # the house hides the other
    assert blind["covered"]["weight"] == pytest.approx(door_hidden + door_open)
    (repair,) = seen["repairs"]
    assert repair["restored_weight"] == pytest.approx(flats)
    assert repair["restored_households"] == 10  # 12 published: rounded to the nearest 5


def test_planners_get_aggregates_only(app_conn: Connection, world: World) -> None:
    _town(app_conn)
    set_actor(app_conn, world.actors["planner"])
    assert app_conn.execute(text("SELECT count(*) FROM addresses")).scalar() == 0
    assert app_conn.execute(text("SELECT count(*) FROM incidents")).scalar() == 0
    report = coverage_report(app_conn, AREA)
    assert report["covered"]["weight"] > 0
    _no_personal_keys(report)
    cells = report["uncovered_cells"]
    # The hidden door's 10 and the flats' 12 both show as 10, with their weights.
    shown = sorted((c["households"], c["weight"]) for c in cells)
    assert shown == [(10, pytest.approx(2.0)), (10, pytest.approx(4.2))]
    plan = plan_cctv(app_conn, AREA, CctvParams(new_sites=1, spacing_m=50))
    _no_personal_keys(plan)


def test_other_roles_may_not_plan(app_conn: Connection, world: World) -> None:
    _town(app_conn)
    for role in ("housing_a", "health", "lapsed"):
        set_actor(app_conn, world.actors[role])
        with pytest.raises(PermissionDeniedError):
            coverage_report(app_conn, AREA)
    set_actor(app_conn, world.actors["housing_a"])
    rows = app_conn.execute(text("SELECT count(*) FROM coverage_demand(:a)"), {"a": AREA})
    assert rows.scalar() == 0  # the definer function itself hands out nothing


def test_cctv_plan_keeps_existing_and_repairs_compete(app_conn: Connection, world: World) -> None:
    _town(app_conn)
    plan = plan_cctv(app_conn, AREA, CctvParams(new_sites=1, spacing_m=50, repair_cost=0.4))
    assert plan["status"] == "optimal" and plan["gap"] == 0.0
    assert plan["objective"] >= plan["greedy"]["objective"]
    assert [s["kind"] for s in plan["existing"]] == ["existing"]
    assert plan["coverage_before"] < plan["coverage_after"]
    cheap = plan_cctv(app_conn, AREA, CctvParams(budget=0.5, spacing_m=50, repair_cost=0.4))
    assert [s["kind"] for s in cheap["chosen"]] == ["repair"]  # only a repair fits 0.5
    assert cheap["cost"] == pytest.approx(0.4)
    none = plan_cctv(app_conn, AREA, CctvParams(budget=0.3, spacing_m=50, repair_cost=0.4))
    assert none["chosen"] == []  # nothing fits, and the plan says why
    assert none["shortfall"].startswith("the budget of £0 is less than the cheapest site's")


def test_anpr_plan_and_saved_scenarios(app_conn: Connection, world: World) -> None:
    _town(app_conn)
    anpr = plan_anpr(app_conn, AREA, new_sites=1, destinations=5)
    assert anpr["paths"] >= 1 and anpr["status"] == "optimal"
    assert anpr["cordon_after"] == 1.0  # one entry road, one camera on it or after it
    set_actor(app_conn, world.actors["planner"])
    cctv = plan_cctv(app_conn, AREA, CctvParams(new_sites=1, spacing_m=50))
    a = save_plan(app_conn, "one camera", cctv, {"new_sites": 1})
    b = save_plan(app_conn, "one anpr", anpr, {"new_sites": 1})
    with pytest.raises(ConflictError):
        save_plan(app_conn, "one camera", cctv, {})
    assert {p.plan_id for p in list_plans(app_conn, AREA)} == {a, b}
    cmp = compare_plans(app_conn, a, b)
    assert cmp.a.coverage_gained == pytest.approx(
        cctv["coverage_after"] - cctv["coverage_before"], abs=1e-4
    )
    set_actor(app_conn, world.actors["housing_a"])
    assert list_plans(app_conn) == []  # another organisation's scenarios stay its own


def test_cli_report_and_bad_input(test_db_url: object, world: World) -> None:
    runner = CliRunner()
    result = runner.invoke(coverage_app, ["report", "--area", NORTH, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["area_id"] == NORTH and {"covered", "repairs", "uncovered_cells"} <= set(doc)
    bad = runner.invoke(plan_app, ["cctv", "--area", NORTH, "--json"])
    assert bad.exit_code != 0 and "--new-sites" in str(bad.exception or bad.output)


@pytest.fixture
def client(test_db_url: object) -> Iterator[TestClient]:
    app = create_app()
    app.include_router(router, prefix="/v1")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_api_coverage_for_planners_only(
    client: TestClient, owner_engine: Engine, world: World
) -> None:
    with transaction(owner_engine, Actor.system()) as conn:
        tokens = {
            r: issue_token(conn, f"t.{r.replace('_', '-')}", days=1).token
            for r in ("planner", "housing_a")
        }
    ok = client.get(
        "/v1/coverage",
        params={"area": NORTH},
        headers={"Authorization": f"Bearer {tokens['planner']}"},
    )
    assert ok.status_code == 200 and ok.json()["area_id"] == NORTH
    no = client.get(
        "/v1/coverage",
        params={"area": NORTH},
        headers={"Authorization": f"Bearer {tokens['housing_a']}"},
    )
    assert no.status_code == 403
    bad = client.post(
        "/v1/plans/cctv",
        json={"area": NORTH, "budget": -1},
        headers={"Authorization": f"Bearer {tokens['planner']}"},
    )
    assert bad.status_code == 422
    assert client.get("/v1/plans").status_code == 401
