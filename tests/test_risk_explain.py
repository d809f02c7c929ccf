"""Explanations, minimised by role; the `/v1/risk/{uprn}` router; the `hardening risk` CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from test_risk_town import AREA, AS_OF, UPRN, XY, build_town, insert_incident
from typer.testing import CliRunner
from world import HOUSING_A, NORTH, World

from hardening.api.app import create_app
from hardening.api.deps import db_connection
from hardening.clikit import DomainErrorGroup
from hardening.db.engine import Actor, set_actor
from hardening.errors import NotFoundError, UserInputError
from hardening.geo import to_lon_lat
from hardening.risk import cli as risk_cli
from hardening.risk import scoring
from hardening.risk.api import router
from hardening.risk.explain import explain
from hardening.risk.layer import grid
from hardening.risk.model import DEFAULT_MODEL, load


def consultations(conn: Connection) -> int:
    return int(
        conn.execute(
            text("SELECT count(*) FROM audit_log WHERE object_type = 'risk_explanation'")
        ).scalar_one()
    )


def test_explain_gives_contributions_reasons_and_measures(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    before = consultations(app_conn)
    view = explain(app_conn, UPRN["A"], "checking the street")
    assert view["detail"] == "factors"
    total = view["intercept"] + sum(c["contribution"] for c in view["contributions"])
    assert total == pytest.approx(view["logit"], abs=1e-9)
    assert 100 / (1 + 2.718281828459045 ** -view["logit"]) == pytest.approx(view["score"], 1e-3)
    factors = [c["factor"] for c in view["contributions"]]
    assert "prior_here" in factors and "protection_door" in factors
    assert len(view["top_reasons"]) == 3
    assert view["top_reasons"][0].startswith("Cuckooing or exploitation has been reported")
    # A has a spy hole, a chain and CCTV: a notice, lighting, then a third door measure
    codes = [m["measure_code"] for m in view["recommended_measures"]]
    assert codes == ["warning_notice", "lighting", "letterbox_guard"]
    assert all(m["score_after"] < view["score"] for m in view["recommended_measures"])
    assert view["as_of"] == AS_OF
    assert consultations(app_conn) == before + 1


def test_a_flat_is_offered_a_communal_entry_and_a_house_is_not(app_conn: Connection) -> None:
    build_town(app_conn)
    app_conn.execute(text("DELETE FROM installed_measures WHERE area_id = :a"), {"a": AREA})
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    flat = explain(app_conn, UPRN["F1"], "works planning", top_measures=20)
    house = explain(app_conn, UPRN["C"], "works planning", top_measures=20)
    assert "entry_system_fit" in [m["measure_code"] for m in flat["recommended_measures"]]
    assert "entry_system_fit" not in [m["measure_code"] for m in house["recommended_measures"]]


@pytest.fixture
def scored_world(app_conn: Connection, world: World) -> World:
    scoring.score(app_conn, "addresses", NORTH)
    return world


def test_housing_sees_its_homes_band_and_measures_only(
    app_conn: Connection, scored_world: World
) -> None:
    set_actor(app_conn, scored_world.actors["housing_a"])
    view = explain(app_conn, scored_world.homes_a[0], "a reason does not widen it")
    assert view["detail"] == "band"
    assert set(view) == {"uprn", "model_version", "band", "computed_at", "detail",
                         "recommended_measures"}  # fmt: skip
    assert all(set(m) == {"measure_code", "name", "scope"} for m in view["recommended_measures"])
    with pytest.raises(NotFoundError):
        explain(app_conn, scored_world.homes_b[0])


def test_police_need_a_reason_to_see_the_factors(app_conn: Connection, scored_world: World) -> None:
    set_actor(app_conn, scored_world.actors["control_room"])
    home = scored_world.homes_a[1]  # has a cuckooing report in the world
    for none in (None, "", "  "):  # not even the score without a reason: it is intelligence
        with pytest.raises(UserInputError, match="reason is required"):
            explain(app_conn, home, none)
    view = explain(app_conn, home, "call to the address")
    assert view["detail"] == "factors"
    assert any(c["factor"] == "prior_here" for c in view["contributions"])
    set_actor(app_conn, Actor.system())
    assert consultations(app_conn) >= 1


def test_planners_and_lapsed_partners_see_no_score(
    app_conn: Connection, scored_world: World
) -> None:
    for who in ("planner", "lapsed"):
        set_actor(app_conn, scored_world.actors[who])
        with pytest.raises(NotFoundError):
            explain(app_conn, scored_world.homes_a[0], "curious")


# -- the API router ------------------------------------------------------------------------------
@pytest.fixture
def client_as(app_conn: Connection) -> Iterator[object]:
    app = create_app()
    app.include_router(router, prefix="/v1")

    def as_actor(actor: Actor) -> TestClient:
        def conn() -> Iterator[Connection]:
            set_actor(app_conn, actor)
            yield app_conn

        app.dependency_overrides[db_connection] = conn
        return TestClient(app)

    yield as_actor


def test_api_minimises_by_role(client_as, scored_world: World) -> None:  # type: ignore[no-untyped-def]
    police = client_as(scored_world.actors["control_room"])
    home = scored_world.homes_a[1]
    full = police.get(f"/v1/risk/{home}", params={"reason": "incoming call"})
    assert full.status_code == 200, full.text
    body = full.json()
    assert body["detail"] == "factors" and body["contributions"] and len(body["top_reasons"]) >= 1
    refused = police.get(f"/v1/risk/{home}")
    assert refused.status_code == 400 and "reason is required" in refused.json()["description"]
    housing = client_as(scored_world.actors["housing_a"])
    band = housing.get(f"/v1/risk/{scored_world.homes_a[0]}", params={"reason": "works"}).json()
    assert band["detail"] == "band" and "score" not in band and "contributions" not in band
    missing = housing.get(f"/v1/risk/{scored_world.homes_b[0]}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/risk/0", {}),
        ("/v1/risk/-5", {}),
        ("/v1/risk/notanumber", {}),
        ("/v1/risk/99999999999999999999", {}),
        ("/v1/risk/5000000001", {"reason": "x"}),
        ("/v1/risk/5000000001", {"model": "a model; drop"}),
    ],
)
def test_api_refuses_bad_input(client_as, world: World, path: str, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = client_as(world.actors["control_room"]).get(path, params=params)
    assert response.status_code == 422, response.text


# -- the CLI -------------------------------------------------------------------------------------
@pytest.fixture
def cli(app_conn: Connection, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The risk sub-app under a root like `hardening`'s, its transactions joined to the test's."""

    @contextmanager
    def system() -> Iterator[Connection]:
        set_actor(app_conn, Actor.system())
        yield app_conn

    monkeypatch.setattr(risk_cli, "system_connection", system)
    root = typer.Typer(cls=DomainErrorGroup)
    root.add_typer(risk_cli.app, name="risk")
    return root


def run(cli: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["risk", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_scores_explains_and_exports(
    cli: typer.Typer, app_conn: Connection, tmp_path: Path
) -> None:
    build_town(app_conn)
    code, out, _ = run(cli, "score", "--area", AREA, "--as-of", "2024-06-01", "--json")
    assert code == 0, out
    scored = json.loads(out)
    assert scored["scored"] == 9 and scored["model_version"] == DEFAULT_MODEL.version
    code, out, _ = run(cli, "explain", str(UPRN["A"]), "--reason", "street review", "--json")
    assert code == 0 and len(json.loads(out)["top_reasons"]) == 3
    code, out, err = run(cli, "export", "--format", "csv", "--area", AREA)
    assert code == 1 and out == "" and "a reason is required" in err  # scores of addresses
    why = ("--reason", "street review")
    code, out, err = run(cli, "export", "--format", "csv", "--area", AREA, *why)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 9 and "exported 9" in err
    assert set(rows[0]) == {"id", "x", "y", "score", "band", "model_version", "computed_at"}
    lon, lat = to_lon_lat(*XY["A"])  # WGS84, x = longitude
    first = next(r for r in rows if r["id"] == str(UPRN["A"]))
    assert (float(first["x"]), float(first["y"])) == pytest.approx((lon, lat), abs=1e-6)
    target = tmp_path / "risk.geojson"
    code, _, _ = run(
        cli, "export", "--format", "geojson", "--area", AREA, "--out", str(target), *why
    )
    collection = json.loads(target.read_text())
    assert code == 0 and len(collection["features"]) == 9
    assert collection["features"][0]["properties"]["model_version"] == DEFAULT_MODEL.version
    incident = insert_incident(app_conn, "cli", "drug_dealing", at="C", days=1)
    code, out, _ = run(cli, "rescore", "--incident", str(incident), "--json")
    assert code == 0 and json.loads(out)["mode"] == "incremental"


def test_cli_lists_models_and_factors(cli: typer.Typer) -> None:
    code, out, _ = run(cli, "models", "--json")
    assert code == 0 and DEFAULT_MODEL.version in [m["model_version"] for m in json.loads(out)]
    code, out, _ = run(cli, "factors", "--json")
    assert code == 0 and len(json.loads(out)) == 16


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--train-start", "2018-13", "--train-end", "2018-10", "--test-start",
          "2018-11", "--test-end", "2018-11", "--crime-types", "Drugs"], "is not a month"),
        (["backtest", "--train-start", "2018-10", "--train-end", "2018-10", "--test-start",
          "2018-10", "--test-end", "2018-10", "--crime-types", "Drugs"], "must start after"),
        (["backtest", "--train-start", "2018-10", "--train-end", "2018-10", "--test-start",
          "2018-11", "--test-end", "2018-11"], "name the outcome"),
        (["fit", "--train-start", "2018-10", "--train-end", "2018-10", "--test-start",
          "2018-11"], "give both"),
        (["rescore"], "exactly one"),
        (["rescore", "--incident", "999999999"], "no incident"),
        (["explain", "999999999", "--reason", "bad input"], "no default-v1 risk score"),
        (["score", "--area", "atlantis"], "unknown area"),
        (["fit", "--train-start", "2018-10", "--train-end", "2018-10", "--categories",
          "jaywalking"], "unknown incident categories"),
    ],
)  # fmt: skip
def test_cli_bad_input_is_one_line_and_exit_1(
    cli: typer.Typer, args: list[str], message: str
) -> None:
    code, out, err = run(cli, *args)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_the_risk_layer_follows_row_level_security(
    app_conn: Connection, scored_world: World
) -> None:
    # Other tests may commit provider A homes of their own in the area: count them all.
    set_actor(app_conn, Actor.system())
    own_scored = app_conn.execute(
        text(
            "SELECT count(*) FROM risk_scores s JOIN addresses a USING (uprn) "
            "WHERE a.area_id = :n AND a.provider_org_id = :p AND s.model_version = :m"
        ),
        {"n": NORTH, "p": HOUSING_A, "m": load(app_conn, None, store=False).version},
    ).scalar_one()
    assert own_scored >= len(scored_world.homes_a)
    set_actor(app_conn, scored_world.actors["housing_a"])
    cells = grid(app_conn, 250, area_id=NORTH)
    assert sum(c.dwellings for c in cells) == own_scored
    assert all(c.max_score is None and c.mean_score is None for c in cells)  # no scores
    set_actor(app_conn, scored_world.actors["planner"])
    assert grid(app_conn, 250) == []
    with pytest.raises(UserInputError, match="cell size"):
        grid(app_conn, 5)
