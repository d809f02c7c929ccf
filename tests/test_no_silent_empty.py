"""Issue 17, no silent empty answers: unknown ids and names are refused (CLI exit 1 with one
line naming what is known, API 404 with a JSON body); runs that score or schedule nothing say
why; postcodes and addresses imported before their areas get them when the areas arrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from typer.testing import CliRunner
from world import HOUSING_A, NORTH, POLICE, World

from hardening.api.app import create_app
from hardening.cli import app
from hardening.db.engine import Actor, set_actor
from hardening.errors import NotFoundError
from hardening.importers import addresses, codepoint, lsoa
from hardening.known import require_area, require_provider
from hardening.risk import scoring
from hardening.works import plan

runner = CliRunner()


# -- the helpers ---------------------------------------------------------------------------------


def test_require_area_names_the_areas(app_conn: Connection, world: World) -> None:
    require_area(app_conn, NORTH)
    require_area(app_conn, None)
    with pytest.raises(
        NotFoundError, match=f"unknown area 'nowhere': use an area id such as .*{NORTH}"
    ):
        require_area(app_conn, "nowhere")
    with pytest.raises(NotFoundError, match=f"'Test North': that is area {NORTH}; use its id"):
        require_area(app_conn, "Test North")
    with pytest.raises(NotFoundError, match=f"that is area {NORTH}"):
        require_area(app_conn, "TEST NORTH")


def test_require_provider_says_which_id_a_name_is(app_conn: Connection, world: World) -> None:
    require_provider(app_conn, HOUSING_A)
    with pytest.raises(
        NotFoundError,
        match=f"unknown provider 'T Housing A': that is the name of organisation {HOUSING_A}",
    ):
        require_provider(app_conn, "T Housing A")
    with pytest.raises(NotFoundError, match=f"that is the name of organisation {HOUSING_A}"):
        require_provider(app_conn, "t housing a")
    with pytest.raises(
        NotFoundError, match="unknown provider 'no-such-org': use an organisation id such as"
    ):
        require_provider(app_conn, "no-such-org")
    with pytest.raises(NotFoundError, match=f"'{POLICE}' is not a housing provider"):
        require_provider(app_conn, POLICE)


# -- the CLI -------------------------------------------------------------------------------------


def _refused(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["works", "schedule", "--provider", "T Housing A", "--start", "2025-01-06"],
            f"unknown provider 'T Housing A': that is the name of organisation {HOUSING_A}",
        ),
        (
            ["works", "schedule", "--provider", "no-such-org", "--start", "2025-01-06"],
            "unknown provider 'no-such-org': use an organisation id such as",
        ),
        (["works", "recommend", "--provider", "no-such-org"], "unknown provider 'no-such-org'"),
        (["works", "orders", "--provider", POLICE], "is not a housing provider"),
        (["works", "orders", "--status", "lost"], "unknown status 'lost': use one of"),
        (["plan", "list", "--area", "nowhere"], "unknown area 'nowhere': use an area id"),
        (["lines", "active", "--area", "nowhere"], "unknown area 'nowhere'"),
        (["markers", "list", "--area", "nowhere", "--reason", "checking"], "unknown area"),
        (["visits", "due", "--area", "nowhere", "--reason", "checking"], "unknown area"),
        (["training", "list", "--area", "Test North"], f"that is area {NORTH}"),
        (["risk", "score", "--area", "nowhere"], "unknown area 'nowhere'"),
        (["risk", "score", "--model", "no-such-model"], "no risk model 'no-such-model': models"),
        (["report", "kpi", "--year", "2024", "--area", "nowhere"], "unknown area"),
    ],
)
def test_cli_refuses_unknown_ids(world: World, args: list[str], message: str) -> None:
    assert message in _refused([*args, "--json"])


# -- the API -------------------------------------------------------------------------------------


@pytest.fixture
def api(test_db_url: URL) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("analyst", "/v1/markers?area=nowhere&reason=checking+the+list"),
        ("analyst", "/v1/lines/active?area=nowhere"),
        ("analyst", "/v1/reports/kpi?year=2024&area=nowhere"),
        ("planner", "/v1/plans?area=nowhere"),
    ],
)
def test_api_refuses_unknown_areas(
    api: TestClient, tokens: dict[str, str], who: str, path: str
) -> None:
    response = api.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["code"] == "not_found"
    assert body["description"].startswith("unknown area 'nowhere': use an area id such as")
    assert NORTH in body["description"]


# -- runs that do nothing say why ------------------------------------------------------------------


def test_schedule_without_approved_orders_says_so(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, Actor.system())
    app_conn.execute(text("DELETE FROM work_orders WHERE provider_org_id = :p"), {"p": HOUSING_A})
    result = plan.schedule(app_conn, HOUSING_A, date(2025, 1, 6), 2, 0.5)
    assert result["visits"] == []
    assert result["note"].startswith("no approved orders to schedule")


# -- imports in either order ---------------------------------------------------------------------

# Three Carlisle postcode units (district E07000028) and one of Eden (no configured area),
# all inside a made-up LSOA square; one home in the same square.
POSTCODES = (
    '"CA1 1AA",10,339557,555539,"E92000001","E19000001","E18000002","E10000006","E07000028",""\n'
    '"CA1 1AE",10,340405,555832,"E92000001","E19000001","E18000002","E10000006","E07000028",""\n'
    '"CA1 1AF",10,340364,555851,"E92000001","E19000001","E18000002","E10000006","E07000028",""\n'
    '"CA1 9ZZ",10,340100,555700,"E92000001","E19000001","E18000002","E10000006","E07000030",""\n'
)
SQUARE = [[339000, 555000], [341000, 555000], [341000, 556500], [339000, 556500], [339000, 555000]]
HOME_UPRN = 5_000_917_001


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    postcodes = tmp_path / "ca.csv"
    postcodes.write_text(POSTCODES, encoding="utf-8")
    boundary = tmp_path / "lsoa.geojson"
    boundary.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"lsoa11cd": "E01019999", "lsoa11nm": "Carlisle 999A"},
                        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    homes = tmp_path / "homes.csv"
    homes.write_text(
        f"UPRN,Text,Type,E,N\n{HOME_UPRN},1 Order Street Carlisle,house,340200,555750\n",
        encoding="utf-8",
    )
    return postcodes, boundary, homes


def _placed(conn: Connection) -> list[tuple[str, str | None]]:
    rows = conn.execute(
        text("SELECT postcode, area_id FROM postcode_units WHERE postcode LIKE 'CA1%' ORDER BY 1")
    )
    return [(str(r[0]), r[1]) for r in rows]


def test_postcodes_and_addresses_before_areas_get_them_when_areas_arrive(
    app_conn: Connection, tmp_path: Path
) -> None:
    set_actor(app_conn, Actor.system())
    postcodes, boundary, homes = _files(tmp_path)
    codepoint.import_files(app_conn, [postcodes])
    addresses.import_file(
        app_conn, homes, ["uprn=UPRN", "address=Text", "property_type=Type", "x=E", "y=N"],
        crs="EPSG:27700",
    )  # fmt: skip
    assert [a for _, a in _placed(app_conn)] == [None] * 4
    # Nothing in an area: the run scores nothing and says why.
    empty = scoring.score(app_conn, "postcodes")
    assert empty.scored == 0
    assert empty.note is not None and empty.note.startswith("no postcode unit has an area")
    assert "hardening import lsoa" in empty.note
    assert empty.to_dict()["note"] == empty.note

    report = lsoa.import_files(app_conn, boundary, crs="EPSG:27700")
    assert report.related["areas"] == {"loaded": 1, "updated": 0}
    assert report.related["placed"]["postcode_units"] == 4
    assert report.related["placed"]["addresses"] == 1
    assert report.related["placed"]["addresses_lsoa"] == 1
    # The district decides where it names a configured area; containment places the rest.
    assert _placed(app_conn) == [
        ("CA1 1AA", "carlisle"),
        ("CA1 1AE", "carlisle"),
        ("CA1 1AF", "carlisle"),
        ("CA1 9ZZ", "carlisle"),
    ]
    home = app_conn.execute(
        text("SELECT area_id, lsoa_code FROM addresses WHERE uprn = :u"), {"u": HOME_UPRN}
    ).one()
    assert tuple(home) == ("carlisle", "E01019999")
    scored = scoring.score(app_conn, "postcodes", "carlisle")
    assert scored.scored > 0 and scored.note is None
    # Idempotent: a second LSOA import places nothing more.
    again = lsoa.import_files(app_conn, boundary, crs="EPSG:27700")
    assert "placed" not in again.related


def test_score_in_an_area_without_units_says_so(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, Actor.system())
    app_conn.execute(
        text(
            "INSERT INTO areas VALUES ('t-empty', 'T Empty', "
            "ST_Multi(ST_MakeEnvelope(1000, 1000, 2000, 2000, 27700)))"
        )
    )
    result = scoring.score(app_conn, "addresses", "t-empty")
    assert result.scored == 0
    assert result.note is not None and result.note.startswith("no address lies in area t-empty")
