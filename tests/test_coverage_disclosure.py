"""Disclosure control reaches every figure derived from a withheld count (issue 16, item 4): a
faulty camera that would restore 8 homes shows neither their count nor their risk weight nor
their share, in the service, the API, the CLI's JSON, a plan and the Planning page.

The town is committed (the API, CLI and page open their own connections) and removed after:
30 flats at one entrance a working camera sees; 8 flats only a faulty camera sees; 12 more
homes in the same 250 m square that no camera sees."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from engines import credentialed
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner
from world import PLANNERS, World

from hardening.api.app import create_app
from hardening.coverage.cctv import CctvParams, plan_cctv
from hardening.coverage.cli import coverage_app
from hardening.coverage.report import coverage_report
from hardening.db.engine import Actor, set_actor, transaction
from hardening.settings import PROJECT_ROOT

AREA = "t-eight"
X, Y = 441_000.0, 521_000.0
UPRN = 7_200_000_000
REPAIR_FIGURES = ("restored_households", "restored_weight", "restored_share")


@pytest.fixture(scope="module")
def town(owner_engine: Engine, world: World) -> Iterator[None]:
    with transaction(owner_engine, Actor.system()) as conn:
        conn.execute(
            text(
                "INSERT INTO areas VALUES (:a, 'T Eight', "
                "ST_Multi(ST_MakeEnvelope(440000, 520000, 445000, 525000, 27700)))"
            ),
            {"a": AREA},
        )
        conn.execute(
            text(
                "INSERT INTO agreement_areas SELECT agreement_id, :a FROM sharing_agreements "
                "WHERE org_id = :p"
            ),
            {"a": AREA, "p": PLANNERS},
        )
        groups = [(30, X, Y), (8, X + 1000, Y + 1000), (12, X + 1050, Y + 1000)]
        homes = [
            {"u": UPRN + 100 * g + k, "a": AREA, "x": x, "y": y}
            for g, (n, x, y) in enumerate(groups)
            for k in range(n)
        ]
        conn.execute(
            text(
                "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
                "VALUES (:u, :a, 'eight flat', 'flat', ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
            ),
            homes,
        )
        conn.execute(
            text(
                "INSERT INTO cctv_sites (source, source_ref, name, bearing_deg, fov_deg, range_m, "
                "status, area_id, geom) VALUES ('t-eight', :r, :n, 90, 90, 50, :s, :a, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
            ),
            [
                {"r": "w", "n": "Working", "s": "working", "a": AREA, "x": X - 20, "y": Y},
                {
                    "r": "f",
                    "n": "Eight Flats Camera",
                    "s": "faulty",
                    "a": AREA,
                    "x": X + 980,
                    "y": Y + 1000,
                },
            ],
        )
    yield
    with transaction(owner_engine, Actor.system()) as conn:
        conn.execute(text("DELETE FROM coverage_plans WHERE area_id = :a"), {"a": AREA})
        conn.execute(text("DELETE FROM cctv_sites WHERE source = 't-eight'"))
        conn.execute(text("DELETE FROM addresses WHERE area_id = :a"), {"a": AREA})
        conn.execute(text("DELETE FROM agreement_areas WHERE area_id = :a"), {"a": AREA})
        conn.execute(text("DELETE FROM areas WHERE area_id = :a"), {"a": AREA})


def test_a_repair_of_eight_homes_shows_no_figure_of_them(
    app_conn: Connection, world: World, town: None
) -> None:
    set_actor(app_conn, world.actors["planner"])
    report = coverage_report(app_conn, AREA)
    (repair,) = report["repairs"]
    assert [repair[k] for k in REPAIR_FIGURES] == [None, None, None]
    # what is about 10 or more homes still shows: 30 seen of 50, the square of 20 unseen
    assert report["covered"]["households"] == 30 and report["demand"]["households"] == 50
    assert report["covered"]["weight"] == pytest.approx(3.0)
    assert report["covered"]["weight_share"] == pytest.approx(0.6)
    assert [(c["households"], c["weight"]) for c in report["uncovered_cells"]] == [
        (20, pytest.approx(2.0))
    ]


def test_a_plan_withholds_what_the_repair_adds(
    app_conn: Connection, world: World, town: None
) -> None:
    set_actor(app_conn, world.actors["planner"])
    plan = plan_cctv(app_conn, AREA, CctvParams(budget=0.5, spacing_m=50, repair_cost=0.4))
    (site,) = plan["chosen"]
    assert site["kind"] == "repair"
    assert (site["adds_households"], site["adds_share"]) == (None, None)
    # 30 of 50 homes seen today shows; after, 38 seen, and after minus before is the 8 homes
    assert plan["coverage_before"] == pytest.approx(0.6)
    assert [plan[k] for k in ("households_added", "coverage_after", "objective", "bound")] == [
        None
    ] * 4
    assert plan["greedy"]["objective"] is None


def test_one_withheld_square_withholds_the_covered_weight(
    app_conn: Connection, world: World, town: None
) -> None:
    """Area weight minus covered weight minus the published squares would give the one
    withheld square's weight: the covered figures go instead."""
    # the 12 unseen homes move to a square of their own, in another row and column
    app_conn.execute(
        text("UPDATE addresses SET geom = ST_Translate(geom, 500, 500) WHERE uprn >= :u"),
        {"u": UPRN + 200},
    )
    set_actor(app_conn, world.actors["planner"])
    report = coverage_report(app_conn, AREA)
    cells = sorted((c["households"] is None, c["weight"]) for c in report["uncovered_cells"])
    assert cells == [(False, pytest.approx(1.2)), (True, None)]
    assert report["covered"]["households"] == 30 and report["demand"]["weight"] == 5.0
    assert (report["covered"]["weight"], report["covered"]["weight_share"]) == (None, None)


def test_api_and_cli_json_say_null(
    test_db_url: object, tokens: dict[str, str], world: World, town: None
) -> None:
    with TestClient(create_app()) as client:
        response = client.get(
            "/v1/coverage",
            params={"area": AREA},
            headers={"Authorization": f"Bearer {tokens['planner']}"},
        )
    assert response.status_code == 200, response.text
    (repair,) = response.json()["repairs"]
    assert {k: repair[k] for k in REPAIR_FIGURES} == dict.fromkeys(REPAIR_FIGURES)
    result = CliRunner().invoke(coverage_app, ["report", "--area", AREA, "--json"])
    assert result.exit_code == 0, result.output
    (repair,) = json.loads(result.stdout)["repairs"]
    assert {k: repair[k] for k in REPAIR_FIGURES} == dict.fromkeys(REPAIR_FIGURES)
    human = CliRunner().invoke(coverage_app, ["report", "--area", AREA])
    assert human.exit_code == 0 and "60.0% of weighted demand covered" in human.stdout


def test_planning_page_says_withheld(test_db_url: object, world: World, town: None) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/4_Planning.py"), default_timeout=60)
    at.session_state["actor"] = credentialed(world.actors["planner"])
    at.session_state["actor_expires_at"] = time.time() + 3600
    at.run()
    at.sidebar.selectbox[0].select(AREA).run()
    assert not at.exception
    repairs = next(d.value for d in at.dataframe if "camera" in d.value.columns)
    assert repairs.to_dict("records") == [
        {
            "camera": "Eight Flats Camera",
            "homes it would see again": "a few homes (under 10, not published)",
            "share of the area's risk": "withheld (under 10 homes)",
        }
    ]
