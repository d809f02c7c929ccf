"""Camera sites through a column map: the real B&NES ANPR survey, CCTV defaults and limits,
GeoJSON points, unknown owners, and mapping mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from hardening import geo
from hardening.errors import UserInputError
from hardening.importers import sites
from hardening.importers.core import ImportRejectedError


def count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def banes(open_data_dir: Path) -> Path:
    return open_data_dir / "camera_sites" / "BANES_2017_ANPR_Survey_Sites.csv"


def test_real_anpr_survey(app_conn: Connection, open_data_dir: Path) -> None:
    path = banes(open_data_dir)
    rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
    maps = ["x=longitude", "y=latitude", "id=id", "direction=direction"]
    first = sites.import_file(app_conn, "anpr", path, maps)
    assert (first.inserted, first.updated, first.unchanged, len(first.rejects)) == (rows, 0, 0, 0)
    again = sites.import_file(app_conn, "anpr", path, maps)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, rows)
    row = app_conn.execute(
        text(
            "SELECT source, name, direction, area_id, ST_X(geom), ST_Y(geom) FROM anpr_sites "
            "WHERE source_ref = '1'"
        )
    ).one()
    assert row[:4] == ("BANES_2017_ANPR_Survey_Sites", "ANPR 1", "N", None)  # Bath: no area
    assert row[4:] == pytest.approx(geo.to_bng(-2.394288988713205, 51.41547199530548), abs=0.01)


def test_swapped_mapping_rejects_every_row(app_conn: Connection, open_data_dir: Path) -> None:
    before = count(app_conn, "anpr_sites")
    with pytest.raises(ImportRejectedError) as caught:
        sites.import_file(app_conn, "anpr", banes(open_data_dir), ["x=latitude", "y=longitude"])
    rejects = caught.value.report.rejects
    assert len(rejects) == caught.value.report.read == 67
    assert all("look swapped" in e.reason for e in rejects)
    assert count(app_conn, "anpr_sites") == before


CCTV = """cam,lon,lat,heading,view,reach,state,owner
C1,-3.2260,54.1190,,,,,
C2,-3.2261,54.1191,-90,60,25,faulty,
C3,-3.2262,54.1192,10,0,25,,
C4,-3.2263,54.1193,10,90,2000,,
C5,-3.2264,54.1194,10,90,20,broken,
C6,-3.2265,54.1195,10,90,20,,nobody
C1,-3.2266,54.1196,,,,,
,-3.2267,54.1197,,,,,
C9,-3.2268,54.1198,NaN,,,,
"""
CCTV_MAP = [
    "id=cam",
    "x=lon",
    "y=lat",
    "bearing=heading",
    "fov=view",
    "range=reach",
    "status=state",
    "owner=owner",
]


def test_cctv_defaults_limits_and_owners(app_conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "cameras.csv"
    path.write_text(CCTV, encoding="utf-8")
    before = count(app_conn, "cctv_sites")
    with pytest.raises(ImportRejectedError) as caught:
        sites.import_file(app_conn, "cctv", path, CCTV_MAP, source="town-cctv")
    assert {e.origin.line: e.reason for e in caught.value.report.rejects} == {
        4: "fov 0 is not in (0, 360] degrees",
        5: "range 2000 is not in (0, 1000] metres",
        6: "status 'broken' is not one of working, faulty, planned, removed",
        7: "owner organisation 'nobody' is unknown",
        8: "id C1 repeats line 2",
        9: "id is empty",
        10: "bearing is NaN",
    }
    assert count(app_conn, "cctv_sites") == before
    report = sites.import_file(app_conn, "cctv", path, CCTV_MAP, source="town-cctv", skip_bad=True)
    assert report.inserted == 2
    stored = app_conn.execute(
        text(
            "SELECT source, source_ref, bearing_deg, fov_deg, range_m, status FROM cctv_sites "
            "WHERE source <> 'test' ORDER BY source_ref"  # not the session's committed test world
        )
    ).all()
    assert [tuple(r) for r in stored] == [
        ("town-cctv", "C1", 0.0, 360.0, 50.0, "working"),
        ("town-cctv", "C2", 270.0, 60.0, 25.0, "faulty"),
    ]


def test_known_owner_and_geojson_points(app_conn: Connection, tmp_path: Path) -> None:
    app_conn.execute(
        text(
            "INSERT INTO organisations (org_id, name, kind) VALUES ('town-council', 'Town', "
            "'council')"
        )
    )
    features = [
        {
            "type": "Feature",
            "properties": {"id": "G1", "owner": "town-council", "fov": 90},
            "geometry": {"type": "Point", "coordinates": [-3.226, 54.119]},
        },
        {
            "type": "Feature",
            "properties": {"id": "G2"},
            "geometry": {"type": "LineString", "coordinates": [[-3.2, 54.1], [-3.1, 54.2]]},
        },
    ]
    path = tmp_path / "cams.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    report = sites.import_file(app_conn, "cctv", path, skip_bad=True)
    assert [(e.origin.line, e.reason) for e in report.rejects] == [
        (2, "geometry is a LineString, expected a Point")
    ]
    assert app_conn.execute(
        text("SELECT source, owner_org_id, fov_deg FROM cctv_sites WHERE source_ref = 'G1'")
    ).one() == ("cams", "town-council", 90.0)


def test_bng_coordinates_with_crs(app_conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "bng.csv"
    path.write_text("id,easting,northing\nB1,322000,469000\nB2,469000,1322000\n", "utf-8")
    with pytest.raises(
        ImportRejectedError, match=r"line 3: easting 469000\.0 / northing 1322000\.0"
    ):
        sites.import_file(app_conn, "anpr", path, crs="EPSG:27700")
    report = sites.import_file(app_conn, "anpr", path, crs="EPSG:27700", skip_bad=True)
    assert report.inserted == 1
    assert app_conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM anpr_sites")).one() == (
        322000.0,
        469000.0,
    )


def test_mapping_mistakes_are_clear(
    app_conn: Connection, open_data_dir: Path, tmp_path: Path
) -> None:
    path = banes(open_data_dir)
    with pytest.raises(UserInputError, match="column 'cam_id' \\(mapped to id\\) is not in"):
        sites.import_file(app_conn, "anpr", path, ["id=cam_id"])
    with pytest.raises(UserInputError, match="unknown target 'colour'"):
        sites.import_file(app_conn, "anpr", path, ["colour=red"])
    with pytest.raises(UserInputError, match="unknown CRS"):
        sites.import_file(app_conn, "anpr", path, crs="EPSG:xyz")
    nocoords = tmp_path / "n.csv"
    nocoords.write_text("id,name\n1,a\n", "utf-8")
    with pytest.raises(UserInputError, match="no coordinate columns"):
        sites.import_file(app_conn, "cctv", nocoords)
    noid = tmp_path / "i.csv"
    noid.write_text("lon,lat\n-3.2,54.1\n", "utf-8")
    with pytest.raises(UserInputError, match="no id column"):
        sites.import_file(app_conn, "cctv", noid)


DATED = """id,lon,lat,status,installed_on,removed_on
D1,-3.2260,54.1190,working,2025-06-16,
D2,-3.2261,54.1191,removed,2019-01-01,2025-03-31T00:00:00
D3,-3.2262,54.1192,working,,
D4,-3.2263,54.1193,working,16/06/2025,
D5,-3.2264,54.1194,removed,2025-06-16,2025-01-01
"""


def test_install_and_removal_dates(app_conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "dated.csv"
    path.write_text(DATED, encoding="utf-8")
    maps = ["x=lon", "y=lat"]  # id, status and the dates by their export names
    before = count(app_conn, "cctv_sites")
    with pytest.raises(ImportRejectedError) as caught:
        sites.import_file(app_conn, "cctv", path, maps, source="dated")
    assert {e.origin.line: e.reason for e in caught.value.report.rejects} == {
        5: "installed '16/06/2025' is not a date (YYYY-MM-DD)",
        6: "removed 2025-01-01 is before installed 2025-06-16",
    }
    assert count(app_conn, "cctv_sites") == before
    sites.import_file(app_conn, "cctv", path, maps, source="dated", skip_bad=True)
    stored = app_conn.execute(
        text(
            "SELECT source_ref, installed_on::text, removed_on::text FROM cctv_sites "
            "WHERE source = 'dated' ORDER BY source_ref"
        )
    ).all()
    assert [tuple(r) for r in stored] == [
        ("D1", "2025-06-16", None),
        ("D2", "2019-01-01", "2025-03-31"),
        ("D3", None, None),
    ]
