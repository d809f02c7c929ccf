"""The budget optimiser (hardening/budget/) against the real PostGIS: within every owner's
budget, at least every baseline, raised as work orders and a siting plan as each role may;
and the MILP against brute force on small problems with no database."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]
from engines import run_queued_jobs
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner
from world import HOUSING_A, HOUSING_B, PLANNERS, POLICE, World

from hardening.api.app import create_app
from hardening.budget import lagrange, milp
from hardening.budget.cli import budget_cmd  # noqa: F401  (registers `plan budget`)
from hardening.budget.inputs import BudgetParams, read_budget
from hardening.budget.plan import solve_budget
from hardening.budget.problem import BudgetProblem, Choice, greedy, top_up, trim
from hardening.budget.store import raise_plan, save_budget_plan
from hardening.coverage.cli import plan_app
from hardening.db.engine import Actor, set_actor, transaction
from hardening.errors import NotFoundError, PermissionDeniedError, UserInputError
from hardening.risk.model import load
from hardening.security.users import issue_token

AREA = "t-budget"
X, Y = 441_000.0, 521_000.0
UPRN = 7_200_000_000
BLOCK = UPRN + 99
PERSONAL = {"uprn", "full_address", "street", "postcode", "block_uprn"}


def town(conn: Connection) -> None:
    """Provider A's twelve houses on a street, provider B's twelve flats in a block (its entry
    system faulty), twenty private homes by a faulty police camera; a street past them all."""
    model = load(conn, None)  # the default model, stored if it is not yet
    conn.execute(
        text(
            "INSERT INTO areas VALUES (:a, 'T Budget', "
            "ST_Multi(ST_MakeEnvelope(440000, 520000, 445000, 525000, 27700)))"
        ),
        {"a": AREA},
    )
    conn.execute(
        text(
            "INSERT INTO agreement_areas SELECT agreement_id, :a FROM sharing_agreements "
            "WHERE org_id IN (:p, :ha, :hb, :pol)"
        ),
        {"a": AREA, "p": PLANNERS, "ha": HOUSING_A, "hb": HOUSING_B, "pol": POLICE},
    )
    homes: list[dict[str, Any]] = []
    for k in range(12):
        homes.append({"u": UPRN + k, "t": "house", "p": HOUSING_A, "b": None,
                      "x": X + 20 * k, "y": Y + 15, "s": 30.0})  # fmt: skip
    homes.append({"u": BLOCK, "t": "block", "p": HOUSING_B, "b": None,
                  "x": X + 400, "y": Y + 15, "s": None})  # fmt: skip
    for k in range(12):
        homes.append({"u": UPRN + 20 + k, "t": "flat", "p": HOUSING_B, "b": BLOCK,
                      "x": X + 400, "y": Y + 15, "s": 20.0})  # fmt: skip
    for k in range(20):
        homes.append({"u": UPRN + 40 + k, "t": "house", "p": None, "b": None,
                      "x": X + 700 + 10 * k, "y": Y - 15, "s": 15.0})  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, street, property_type, tenure, "
            "provider_org_id, parent_uprn, geom) VALUES (:u, :a, 'A home, Budget Street', "
            "'Budget Street', :t, CASE WHEN CAST(:p AS text) IS NULL THEN 'owner_occupied' "
            "ELSE 'social_rented' END, :p, :b, ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        [h | {"a": AREA} for h in homes],
    )
    conn.execute(
        text(
            "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
            "VALUES (:u, :m, :s, :band, :a)"
        ),
        [
            {"u": h["u"], "m": model.version, "s": h["s"], "band": model.band(h["s"]), "a": AREA}
            for h in homes
            if h["s"] is not None
        ],
    )
    conn.execute(
        text(
            "INSERT INTO installed_measures (uprn, measure_code, installed_on, status, "
            "provider_org_id, area_id) VALUES (:b, 'entry_system_repair', '2025-01-01', "
            "'faulty', :p, :a)"
        ),
        {"b": BLOCK, "p": HOUSING_B, "a": AREA},
    )
    conn.execute(
        text(
            "INSERT INTO cctv_sites (source, source_ref, owner_org_id, bearing_deg, fov_deg, "
            "range_m, status, area_id, geom) VALUES ('t', 'budget-cam', :p, 0, 360, 60, "
            "'faulty', :a, ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        {"p": POLICE, "a": AREA, "x": X + 800, "y": Y},
    )
    conn.execute(
        text(
            "INSERT INTO roads (source_ref, name, road_class, area_id, geom) VALUES "
            "('t:budget', 'Budget Street', 'residential', :a, ST_GeomFromText(:g, 27700))"
        ),
        {"a": AREA, "g": f"LINESTRING({X - 50} {Y}, {X + 1000} {Y})"},
    )


def plan(conn: Connection, budget: float, caps: tuple[tuple[str, float], ...] = ()) -> Any:
    params = BudgetParams(budget, caps, spacing_m=100.0, time_limit_s=10.0, visibility=False)
    return solve_budget(read_budget(conn, AREA, params), params)


@pytest.mark.parametrize(
    "budget,caps",
    [
        (300.0, ()),
        (5_000.0, (("police", 400.0),)),
        (20_000.0, (("police", 12_000.0), (HOUSING_A, 100.0), (HOUSING_B, 0.0))),
        (60_000.0, ((HOUSING_A, 500.0),)),
    ],
)
def test_never_over_any_budget_and_never_below_a_baseline(
    app_conn: Connection, world: World, budget: float, caps: tuple[tuple[str, float], ...]
) -> None:
    town(app_conn)
    doc = plan(app_conn, budget, caps).doc
    assert {"objective", "total_cost", "budgets", "items", "baselines"} <= set(doc)
    assert doc["total_cost"] <= budget + 1e-6
    by_owner = {b["owner"]: b for b in doc["budgets"]}
    assert by_owner["total"]["spent"] == pytest.approx(doc["total_cost"])
    for owner, pounds in caps:
        org = POLICE if owner == "police" else owner
        assert by_owner.get(org, {"spent": 0.0})["spent"] <= pounds + 1e-6
    assert [b["name"] for b in doc["baselines"]] == ["cameras only", "works only", "greedy"]
    for b in doc["baselines"]:
        assert doc["objective"] >= b["objective"] - 1e-9, b
        assert b["total_cost"] <= budget + 1e-6
    assert doc["status"] == "optimal" and doc["gap"] <= 1e-3
    assert [u["effects"] for u in doc["uncertainty"]] == ["low", "central", "high"]
    assert doc["summary"].startswith(f"£{budget:,.0f}: ")


def test_more_money_buys_more_and_levers_mix(app_conn: Connection, world: World) -> None:
    town(app_conn)
    small, result = plan(app_conn, 400.0).doc, plan(app_conn, 20_000.0)
    large = result.doc
    assert large["objective"] > small["objective"] > 0
    kinds = {i["kind"] for i in large["items"]}
    assert "camera repair" in kinds  # the faulty camera by the private homes
    assert "home package" in kinds and "block package" in kinds
    (block,) = [i for i in large["items"] if i["kind"] == "block package"]
    assert block["count"] is None and block["what"] == "other block packages"  # one block
    at_block = {m for _, u, m in result.works if u == BLOCK}
    assert "entry_system_repair" in at_block and "entry_system_fit" not in at_block
    works = {b["name"]: b["objective"] for b in large["baselines"]}
    assert large["objective"] > max(works["cameras only"], works["works only"])


def test_planners_see_aggregates_and_store_no_homes(app_conn: Connection, world: World) -> None:
    town(app_conn)
    set_actor(app_conn, world.actors["planner"])
    result = plan(app_conn, 20_000.0)
    assert result.works == []  # no home named to a planner

    def walk(doc: Any) -> None:
        if isinstance(doc, dict):
            assert not PERSONAL & set(doc), set(doc)
            for v in doc.values():
                walk(v)
        elif isinstance(doc, list):
            for v in doc:
                walk(v)

    walk(result.doc)
    for role in ("housing_a", "health"):
        set_actor(app_conn, world.actors[role])
        with pytest.raises(PermissionDeniedError):
            plan(app_conn, 1_000.0)


def _orders(conn: Connection) -> list[tuple[str, int, str]]:
    rows = conn.execute(
        text(
            "SELECT provider_org_id, uprn, measure_code FROM work_orders WHERE area_id = :a "
            "ORDER BY 1, 2, 3"
        ),
        {"a": AREA},
    ).all()
    return [(str(p), int(u), str(m)) for p, u, m in rows]


def test_raising_creates_the_work_orders_and_the_siting_plan(
    app_conn: Connection, world: World
) -> None:
    town(app_conn)
    result = plan(app_conn, 20_000.0)
    assert {p for p, _, _ in result.works} == {HOUSING_A, HOUSING_B}
    plan_id = save_budget_plan(app_conn, "budget one", result, {"budget": 20_000})
    raised = raise_plan(app_conn, plan_id)
    assert raised.not_raised == []
    assert _orders(app_conn) == sorted(result.works)
    assert len(raised.work_orders) == len(result.works)
    siting = app_conn.execute(
        text("SELECT kind, results FROM coverage_plans WHERE plan_id = :i"),
        {"i": raised.siting_plan_id},
    ).one()
    assert siting[0] == "cctv" and siting[1]["from_budget_plan"] == plan_id
    assert "repair" in [c["kind"] for c in siting[1]["chosen"]]
    again = raise_plan(app_conn, plan_id)  # nothing twice
    assert again.work_orders == [] and again.siting_plan_id == raised.siting_plan_id
    assert len(_orders(app_conn)) == len(result.works)


def test_each_role_raises_only_what_it_may(app_conn: Connection, world: World) -> None:
    town(app_conn)
    set_actor(app_conn, world.actors["analyst"])
    result = plan(app_conn, 20_000.0)
    plan_id = save_budget_plan(app_conn, "budget two", result, {})
    set_actor(app_conn, world.actors["planner"])
    with pytest.raises(NotFoundError):  # another organisation's plan, and no homes of its own
        raise_plan(app_conn, plan_id)
    set_actor(app_conn, world.actors["analyst"])
    first = raise_plan(app_conn, plan_id)
    assert first.siting_plan_id is not None and first.work_orders == []
    assert len(first.not_raised) == 2  # each provider raises its own
    set_actor(app_conn, world.actors["housing_a"])
    mine = raise_plan(app_conn, plan_id)
    assert mine.siting_plan_id is None and mine.work_orders
    set_actor(app_conn, Actor.system())
    assert {p for p, _, _ in _orders(app_conn)} == {HOUSING_A}
    set_actor(app_conn, world.actors["housing_b"])
    assert raise_plan(app_conn, plan_id).work_orders
    set_actor(app_conn, Actor.system())
    assert _orders(app_conn) == sorted(result.works)


def test_bad_input_is_refused(app_conn: Connection, world: World) -> None:
    town(app_conn)
    for params in (
        BudgetParams(float("nan")),
        BudgetParams(-5.0),
        BudgetParams(1000.0, (("police", float("inf")),)),
        BudgetParams(1000.0, (("nobody-at-all", 10.0),)),
        BudgetParams(1000.0, (("housing_provider", 10.0),)),  # names two organisations
        BudgetParams(1000.0, costs=(("gold_taps", 10.0),)),
    ):
        with pytest.raises(UserInputError):
            read_budget(app_conn, AREA, params)
    with pytest.raises(NotFoundError):
        read_budget(app_conn, "no-such-area", BudgetParams(1000.0))


# The MILP against brute force, no database.


def tiny(seed: int) -> BudgetProblem:
    """Five homes, three cameras, two packages each for three of the homes, one block."""
    rng = np.random.default_rng(seed)
    cover = sp.csc_matrix((rng.random((5, 3)) < 0.5).astype(float))
    opt_home = np.array([0, 0, 1, 1, 2, 2])
    return BudgetProblem(
        z=rng.normal(-1.5, 1.0, 5), cam=np.where(rng.random(5) < 0.8, -0.4, 0.0), cover=cover,
        col_cost=rng.integers(1, 6, 3).astype(float), col_owner=np.array([0, 0, 1]),
        col_lever=["camera", "camera", "works"], opt_home=opt_home,
        opt_cost=rng.integers(0, 4, 6).astype(float), opt_owner=np.full(6, 1),
        opt_delta=-rng.random(6) * 1.2, blk_block=np.array([0]), blk_cost=np.array([3.0]),
        blk_owner=np.array([1]), blk_delta=np.array([-0.5]), block_homes=[np.array([3, 4])],
        owners=["police", "provider"], caps=np.array([rng.integers(0, 8), np.inf]),
        total=float(rng.integers(3, 12)),
    )  # fmt: skip


def every_choice() -> Iterator[Choice]:
    """Every choice of a `tiny` problem, within its budgets or not."""
    for cols in itertools.product([False, True], repeat=3):
        for p0, p1, p2 in itertools.product([-1, 0, 1], repeat=3):
            for b in (-1, 0):
                pkg = np.array([p0, p1 if p1 < 0 else 2 + p1, p2 if p2 < 0 else 4 + p2, -1, -1])
                yield Choice(np.array(cols), pkg, np.array([b]))


def brute(pr: BudgetProblem) -> float:
    return max(pr.value(c) for c in every_choice() if pr.feasible(c))


@pytest.mark.parametrize("seed", range(12))
def test_milp_finds_the_brute_force_optimum(seed: int) -> None:
    pr = tiny(seed)
    g = greedy(pr)
    assert pr.feasible(g)
    solved = milp.solve(pr, g, 10.0)
    assert pr.feasible(solved.choice)
    assert solved.objective == pytest.approx(brute(pr), abs=1e-9)
    assert solved.objective >= pr.value(g) - 1e-12


@pytest.mark.parametrize("seed", range(8))
def test_priced_budgets_merge_homes_exactly_and_bound_every_plan(seed: int) -> None:
    """The priced problem (lagrange.py), its homes merged by the cameras that see them, has the
    same maximum as brute force over every unmerged choice; its minimum over the prices bounds
    the optimum, and its plan keeps to the budgets."""
    pr = tiny(seed)
    lag = lagrange.Lagrangian(pr, None)
    rng = np.random.default_rng(seed)
    for lam, mu in rng.random((4, 2)) * 0.2:
        pi = np.array([lam + mu, lam])  # police is capped, the provider not
        got = lag.price(float(lam), np.array([mu]), time.perf_counter() + 10)
        best = max(pr.value(c) - float(pi @ pr.spent(c)) for c in every_choice())
        assert got.bound == pytest.approx(best + lam * pr.total + mu * pr.caps[0], abs=1e-9)
        assert pr.value(got.choice) - float(pi @ got.spent) == pytest.approx(best, abs=1e-9)
    optimum = brute(pr)
    relaxed = lagrange.bound_and_plan(pr, None, pr.empty(), time.perf_counter() + 10, 1e-4)
    assert relaxed.bound >= optimum - 1e-9
    assert pr.feasible(relaxed.choice) and pr.value(relaxed.choice) <= optimum + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_trim_keeps_to_the_budgets_and_top_up_only_adds(seed: int) -> None:
    pr = tiny(seed)
    for c in itertools.islice(every_choice(), seed, None, 17):
        cut = trim(pr, c)
        assert pr.feasible(cut)
        more = top_up(pr, cut)
        assert pr.feasible(more) and pr.value(more) >= pr.value(cut) - 1e-12


# CLI and API on a committed copy of the town (they open their own connections).


@pytest.fixture(scope="module")
def committed(owner_engine: Engine, world: World) -> Iterator[None]:
    with transaction(owner_engine, Actor.system()) as conn:
        town(conn)
    yield
    with transaction(owner_engine, Actor.system()) as conn:
        remove_town(conn)


def remove_town(conn: Connection) -> None:
    """Undo a committed `town` and what plans made of it."""
    for sql in (
        "DELETE FROM budget_plan_works WHERE area_id = :a",
        "DELETE FROM work_orders WHERE area_id = :a",
        "DELETE FROM coverage_plans WHERE area_id = :a",
        "DELETE FROM installed_measures WHERE area_id = :a",
        "DELETE FROM risk_scores WHERE area_id = :a",
        "DELETE FROM addresses WHERE area_id = :a AND parent_uprn IS NOT NULL",
        "DELETE FROM addresses WHERE area_id = :a",
        "DELETE FROM cctv_sites WHERE area_id = :a",
        "DELETE FROM roads WHERE area_id = :a",
        "DELETE FROM agreement_areas WHERE area_id = :a",
        "DELETE FROM areas WHERE area_id = :a",
    ):
        conn.execute(text(sql), {"a": AREA})


def _count(engine: Engine, sql: str) -> int:
    with transaction(engine, Actor.system()) as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_cli_plans_saves_raises_and_refuses_bad_input(
    committed: None, owner_engine: Engine
) -> None:
    runner = CliRunner()
    base = ["budget", "--area", AREA, "--spacing", "100", "--time-limit", "10"]
    plans = "SELECT count(*) FROM coverage_plans"
    before = _count(owner_engine, plans)
    for bad in (
        ["--budget", "-1", "--save", "never"],
        ["--budget", "1000", "--owner-budget", "police", "--save", "never"],
        ["--budget", "1000", "--owner-budget", "nobody=5", "--save", "never"],
        ["--budget", "1000", "--cost", "gold_taps=1", "--save", "never"],
        ["--budget", "1000", "--raise"],
    ):
        result = runner.invoke(plan_app, [*base, *bad, "--json"])
        assert result.exit_code == 1, (bad, result.output)
        assert "error" not in result.stdout
    assert _count(owner_engine, plans) == before
    ok = runner.invoke(
        plan_app,
        [*base, "--budget", "20000", "--owner-budget", f"{HOUSING_A}=300",
         "--save", "cli budget", "--raise", "--json"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["raised"]["not_raised"] == [] and doc["raised"]["work_orders"]
    spent = {b["owner"]: b["spent"] for b in doc["budgets"]}
    assert spent[HOUSING_A] <= 300
    cams = [i for i in doc["items"] if i["kind"] == "camera repair"]
    assert cams and cams[0]["place"] == "Budget Street"


@pytest.fixture
def client(test_db_url: object) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_api_plans_as_the_planner_and_refuses_bad_input(
    committed: None, client: TestClient, owner_engine: Engine
) -> None:
    with transaction(owner_engine, Actor.system()) as conn:
        token = {r: issue_token(conn, f"t.{r}", days=1).token for r in ("planner", "housing-a")}
    auth = {"Authorization": f"Bearer {token['planner']}"}
    body = {"area": AREA, "budget": 20_000, "owner_budgets": [{"name": "police", "pounds": 1_000}],
            "spacing_m": 100, "time_limit_s": 10, "name": "api budget"}  # fmt: skip
    asked = client.post("/v1/plans/budget", json=body, headers=auth)
    assert asked.status_code == 202, asked.text  # a job (tests/test_jobs.py)
    run_queued_jobs(owner_engine)
    job = client.get(asked.headers["location"], headers=auth).json()
    assert job["status"] == "succeeded", job
    doc = job["result"]
    assert doc["plan_id"] and doc["objective"] >= max(b["objective"] for b in doc["baselines"])
    raised = client.post(f"/v1/plans/budget/{doc['plan_id']}/raise", headers=auth).json()
    assert raised["siting_plan_id"] and raised["work_orders"] == []
    for bad, status in (
        ({"budget": -1}, 422),
        ({"budget": "NaN"}, 422),
        ({"owner_budgets": [{"name": "nobody", "pounds": 5}]}, 400),
        ({"area": "no-such-area"}, 404),
    ):
        r = client.post("/v1/plans/budget", json=body | bad | {"name": None}, headers=auth)
        assert r.status_code == status, (bad, r.text)
        assert {"code", "description"} <= set(r.json())
    housing = {"Authorization": f"Bearer {token['housing-a']}"}
    assert client.post("/v1/plans/budget", json=body, headers=housing).status_code == 403
