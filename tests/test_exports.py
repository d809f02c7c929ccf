"""Exports (GeoPackage, GeoJSON, CSV) of the layers a user may see, and GeoPackage imports of
sites and addresses: read back with pyogrio, rows as row-level security allows, round trips
that change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import CRS
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner
from world import NORTH, World

from hardening import geo
from hardening.api.app import create_app
from hardening.bbox import BBox
from hardening.cli import app as cli
from hardening.errors import UserInputError
from hardening.features.export import export
from hardening.importers import addresses, sites
from hardening.importers.core import ImportRejectedError

WORLD = "-1.90,54.50,-1.50,54.70"  # around world.py's two areas
runner = CliRunner()


def read(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:
    """(meta, one dict per feature, shapely geometries) of an exported file."""
    meta, _, wkb, values = pyogrio.raw.read(path, datetime_as_string=True)
    names = [str(n) for n in meta["fields"]]
    count = len(values[0]) if values else 0
    rows = [dict(zip(names, (v[i] for v in values), strict=True)) for i in range(count)]
    geoms = [None if w is None else shapely.from_wkb(w) for w in (wkb if wkb is not None else [])]
    return meta, rows, geoms


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args))


@pytest.fixture(scope="module")
def orders(owner_engine: Engine, world: World) -> dict[str, int]:
    with owner_engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT provider_org_id, min(work_order_id) FROM work_orders WHERE "
                    "provider_org_id IN ('t-housing-a', 't-housing-b') AND uprn = ANY(:u) "
                    "GROUP BY 1"
                ),
                {"u": world.homes_a + world.homes_b},
            ).all()
        )


# --- the CLI ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv"])
def test_cli_exports_what_the_user_may_see(
    fmt: str, tmp_path: Path, world: World, orders: dict[str, int]
) -> None:
    out = tmp_path / f"orders.{fmt}"
    result = run(
        "export", "work-orders", "--format", fmt, "--out", str(out), "--as-user", "t.housing-a",
        "--reason", "works review", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    meta, rows, geoms = read(out)
    assert report["features"] == len(rows) >= 1
    ids = {int(r["work_order_id"]) for r in rows}
    if fmt == "csv":  # every column is text; points as X (longitude) and Y (latitude)
        lon, lat = float(rows[0]["X"]), float(rows[0]["Y"])
    else:
        lon, lat = geoms[0].x, geoms[0].y
        assert meta["crs"] == ("EPSG:27700" if fmt == "gpkg" else "EPSG:4326")
    assert {r["provider_org_id"] for r in rows} == {"t-housing-a"}
    assert orders["t-housing-a"] in ids and orders["t-housing-b"] not in ids
    if fmt == "gpkg":
        geo.check_bng(lon, lat)
    else:
        geo.check_lon_lat(lon, lat)
    assert "escalation_reason" not in rows[0]


def test_markers_export_needs_a_reason_and_is_audited(
    tmp_path: Path, world: World, owner_engine: Engine
) -> None:
    out = tmp_path / "markers.gpkg"
    refused = run("export", "safe-markers", "--out", str(out), "--as-user", "t.control-room")
    assert refused.exit_code == 1 and "reason" in refused.output and not out.exists()
    done = run(
        "export", "safe-markers", "--out", str(out), "--as-user", "t.control-room",
        "--reason", "yearly marker review", "--bbox", WORLD,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    _, rows, _ = read(out)
    # world.py's two markers (other tests may have committed more in these areas)
    assert {world.homes_a[1], world.south_homes[0]} <= {int(r["uprn"]) for r in rows}
    assert "Attend in pairs" in {r["grading_advice"] for r in rows}
    with owner_engine.connect() as conn:
        logged = conn.execute(
            text(
                "SELECT justification, details FROM audit_log WHERE actor_user_id = :u "
                "AND object_type = 'safe_marker' ORDER BY audit_id DESC LIMIT 1"
            ),
            {"u": world.actors["control_room"].user_id},
        ).one()
    assert logged.justification == "yearly marker review"
    assert logged.details["export"] is True
    assert sorted(logged.details["ids"]) == sorted(int(r["marker_id"]) for r in rows)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["safe-markers", "--as-user", "t.planner", "--reason", "x y z"], "no collection"),
        (["work-orders", "--as-user", "t.health"], "no collection"),
        (["nope"], "no collection"),
        (["cctv-sites", "--as-user", "nobody"], "unknown or inactive user"),
        (["cctv-sites", "--bbox", "54.5,-1.9,54.7,-1.5"], "swapped"),
        (["cctv-sites", "--bbox", "1,2,3"], "four numbers"),
    ],
)
def test_cli_refuses_clearly(args: list[str], words: str, tmp_path: Path, world: World) -> None:
    out = tmp_path / "x.gpkg"
    result = run("export", *args, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert words in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_cli_export_imports_back_unchanged(tmp_path: Path, world: World) -> None:
    out = tmp_path / "cctv.gpkg"
    assert run("export", "cctv-sites", "--out", str(out), "--bbox", WORLD).exit_code == 0
    _, rows, _ = read(out)
    assert "cam-1" in {r["source_ref"] for r in rows}
    again = run("import", "sites", "cctv", str(out), "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["loaded"], report["updated"], report["unchanged"]) == (0, 0, len(rows))


# --- the API -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(test_db_url: object, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def bearer(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_api_download_is_a_file_of_the_callers_rows(
    api: TestClient, tokens: dict[str, str], tmp_path: Path, orders: dict[str, int]
) -> None:
    why = {"reason": "works review"}  # work orders are read with a reason (audited)
    response = api.get(
        "/v1/exports/work-orders",
        params={"format": "geojson", **why},
        headers=bearer(tokens, "housing_a"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["content-disposition"].startswith("attachment")
    assert 'filename="work-orders.geojson"' in response.headers["content-disposition"]
    features = response.json()["features"]
    assert {f["properties"]["provider_org_id"] for f in features} == {"t-housing-a"}
    assert orders["t-housing-b"] not in {f["properties"]["work_order_id"] for f in features}
    gpkg = api.get("/v1/exports/work-orders", params=why, headers=bearer(tokens, "housing_a"))
    assert gpkg.headers["content-type"] == "application/geopackage+sqlite3"
    (tmp_path / "o.gpkg").write_bytes(gpkg.content)
    _, rows, _ = read(tmp_path / "o.gpkg")
    assert {r["provider_org_id"] for r in rows} == {"t-housing-a"}
    csv = api.get(
        "/v1/exports/cctv-sites", params={"format": "csv", "bbox": WORLD},
        headers=bearer(tokens, "planner"),
    )  # fmt: skip
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("X,Y,site_id")


@pytest.mark.parametrize(
    ("path", "params", "role", "status"),
    [
        ("/v1/exports/nope", {}, "planner", 404),
        ("/v1/exports/safe-markers", {"reason": "looking"}, "planner", 404),
        ("/v1/exports/safe-markers", {}, "control_room", 400),
        ("/v1/exports/cctv-sites", {"format": "shp"}, "planner", 422),
        ("/v1/exports/cctv-sites", {"bbox": "54.5,-1.9,54.7,-1.5"}, "planner", 400),
        ("/v1/exports/cctv-sites", {}, None, 401),
    ],
)
def test_api_refuses_clearly(
    api: TestClient,
    tokens: dict[str, str],
    path: str,
    params: dict[str, str],
    role: str | None,
    status: int,
) -> None:
    headers = bearer(tokens, role) if role else {}
    response = api.get(path, params=params, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["code"]


# --- GeoPackage round trips and imports (rolled back) ---------------------------------------
def test_cctv_gpkg_and_csv_round_trips_change_nothing(app_conn: Connection, tmp_path: Path) -> None:
    x0, y0 = 423_000, 521_000  # inside world.NORTH
    lines = ["ref,lon,lat,bearing,fov,range,status,name"]
    for i in range(20):
        lon, lat = geo.to_lon_lat(x0 + i * 7.31, y0 + i * 3.17)
        lines.append(f"rt-{i},{lon:.9f},{lat:.9f},{i * 17 % 360},{30 + i},{20 + i},working,C {i}")
    source = tmp_path / "round_trip.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = sites.import_file(app_conn, "cctv", source, ["id=ref", "x=lon", "y=lat"])
    assert first.inserted == 20
    lon0, lat0 = geo.to_lon_lat(x0 - 10, y0 - 10)
    lon1, lat1 = geo.to_lon_lat(x0 + 200, y0 + 100)
    box = BBox(lon0, lat0, lon1, lat1)
    for fmt in ("gpkg", "csv"):
        out = tmp_path / f"cctv.{fmt}"
        written = export(app_conn, "cctv-sites", fmt, out, box)
        assert written.features == 20
        again = sites.import_file(app_conn, "cctv", out)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 20), fmt
    # A change made in the file is an update of that row only.
    meta, _, wkb, values = pyogrio.raw.read(tmp_path / "cctv.gpkg")
    names = [str(n) for n in meta["fields"]]
    values[names.index("fov_deg")][0] = 123.0
    edited = tmp_path / "edited.gpkg"
    pyogrio.raw.write(
        edited, wkb, values, names, layer="cctv_sites", driver="GPKG",
        geometry_type="Point", crs=CRS.from_epsg(27700).to_wkt(),
    )  # fmt: skip
    changed = sites.import_file(app_conn, "cctv", edited)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 19)


def _address_gpkg(path: Path, uprns: list[Any], points: list[Any], layer: str = "homes") -> None:
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(p) for p in points], dtype=object),
        [np.array(uprns, dtype=object), np.array([f"{i + 1} Gpkg Lane" for i in range(3)])],
        ["UPRN", "address"],
        layer=layer,
        driver="GPKG",
        geometry_type="Point",
        crs=CRS.from_epsg(27700).to_wkt(),
        append=path.exists(),
    )


def test_addresses_from_a_geopackage(app_conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "homes.gpkg"
    points = [shapely.Point(422_100, 521_100), shapely.Point(522_100, 52_100),
              shapely.Point(422_140, 521_100)]  # fmt: skip
    _address_gpkg(path, ["5300000001", "not-a-uprn", "5300000003"], points)
    with pytest.raises(ImportRejectedError) as caught:
        addresses.import_file(app_conn, path)
    (reject,) = caught.value.report.rejects
    assert (reject.origin.unit, reject.origin.line) == ("feature", 2)
    assert "UPRN" in reject.reason
    loaded = addresses.import_file(app_conn, path, skip_bad=True)
    assert (loaded.inserted, len(loaded.rejects)) == (2, 1)
    again = addresses.import_file(app_conn, path, skip_bad=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    area = app_conn.execute(
        text("SELECT area_id FROM addresses WHERE uprn = 5300000001")
    ).scalar_one()
    assert area == NORTH


def test_a_geopackage_of_several_layers_needs_layer(app_conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    points = [shapely.Point(422_200 + i, 521_200) for i in range(3)]
    _address_gpkg(path, ["5300000011", "5300000012", "5300000013"], points, "homes")
    _address_gpkg(path, ["5300000021", "5300000022", "5300000023"], points, "other")
    with pytest.raises(UserInputError, match=r"2 layers.*--layer"):
        addresses.import_file(app_conn, path)
    with pytest.raises(UserInputError, match="no layer 'nope'"):
        addresses.import_file(app_conn, path, layer="nope")
    report = addresses.import_file(app_conn, path, layer="other")
    assert report.inserted == 3
    found = app_conn.execute(
        text("SELECT count(*) FROM addresses WHERE uprn BETWEEN 5300000021 AND 5300000023")
    ).scalar_one()
    assert found == 3
    result = run("import", "addresses", str(path), "--layer", "x.csv")
    assert result.exit_code == 1 and "no layer" in result.output
