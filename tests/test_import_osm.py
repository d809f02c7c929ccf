"""Railway stations and OSM roads: real files import and re-import unchanged; bad rows and
features are refused by number; keys, classes and directions follow OSM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from hardening import geo
from hardening.importers import roads, stations
from hardening.importers.core import ImportRejectedError


def count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_real_stations(app_conn: Connection, open_data_dir: Path) -> None:
    path = open_data_dir / "stations" / "uk_railway_stations.csv"
    rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
    first = stations.import_file(app_conn, path)
    assert (first.inserted, first.updated, first.unchanged, len(first.rejects)) == (rows, 0, 0, 0)
    again = stations.import_file(app_conn, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, rows)
    roose = app_conn.execute(
        text(
            "SELECT name, code, kind, ST_X(geom), ST_Y(geom) FROM transport_hubs "
            "WHERE hub_key = 'rail:ROO'"
        )
    ).one()
    assert roose[:3] == ("Roose", "ROO", "rail_station")
    # lat comes first in this file: the column names, not the order, decide.
    assert roose[3:] == pytest.approx(geo.to_bng(-3.19457, 54.115157), abs=0.01)


def test_bad_station_rows(app_conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    path.write_text(
        "stationName,lat,long,crsCode,iataAirportCode,constituentCountry\n"
        "Roose,54.115157,-3.19457,ROO,,england\n"
        "Swapped,-3.22614,54.118879,BIF,,england\n"
        "Nameless,54.1,-3.1,,,england\n"
        "Again,54.2,-3.2,ROO,,england\n"
        "Short,54.2\n"
        "Nowhere,nan,-3.2,NWH,,england\n",
        encoding="utf-8",
    )
    before = count(app_conn, "transport_hubs")
    with pytest.raises(ImportRejectedError) as caught:
        stations.import_file(app_conn, path)
    reasons = {e.origin.line: e.reason for e in caught.value.report.rejects}
    assert "look swapped" in reasons.pop(3)
    assert reasons == {
        4: "CRS code is empty",
        5: "CRS code ROO repeats line 2",
        6: "expected 6 fields, found 2 (malformed CSV row)",
        7: "latitude is NaN",
    }
    assert count(app_conn, "transport_hubs") == before


def test_real_roads(app_conn: Connection, open_data_dir: Path) -> None:
    path = open_data_dir / "roads" / "mainroads.shp"
    first = roads.import_file(app_conn, path)
    assert first.read > 3000 and not first.rejects
    assert (first.updated, first.unchanged) == (0, 0) and first.inserted >= first.read
    again = roads.import_file(app_conn, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, first.inserted)
    classes: dict[str, int] = dict(
        app_conn.execute(text("SELECT road_class, count(*) FROM roads GROUP BY 1")).all()
    )
    assert set(classes) <= {"motorway", "trunk", "primary", "secondary", "tertiary", "other"}
    assert classes["motorway"] > 0 and classes["trunk"] > 0
    # The shapefile is WGS84: stored lines are in Cumbria's BNG metres.
    xmin, ymin, xmax, ymax = app_conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom)::geometry AS e FROM roads) s"
        )
    ).one()
    assert 280_000 < xmin < xmax < 420_000 and 450_000 < ymin < ymax < 600_000
    m6 = app_conn.execute(text("SELECT count(*) FROM roads WHERE ref = 'M6'")).scalar_one()
    assert m6 > 0


def line_feature(osm_id: Any, highway: str, geometry: dict[str, Any] | None, **extra: Any) -> Any:
    props = {"osm_id": osm_id, "highway": highway, "name": "Abbey Road", "ref": "A590", **extra}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[Any]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


A = [[-3.23, 54.11], [-3.22, 54.12]]
B = [[-3.21, 54.12], [-3.20, 54.13]]


def test_osm_ids_parts_and_oneway(app_conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "roads.geojson",
        [
            line_feature(11, "primary_link", {"type": "LineString", "coordinates": A}),
            line_feature(12, "road", {"type": "MultiLineString", "coordinates": [A, B]}),
            line_feature(13, "trunk", {"type": "LineString", "coordinates": A}, oneway="-1"),
        ],
    )
    report = roads.import_file(app_conn, path)
    assert (report.read, report.inserted) == (3, 4)
    stored = app_conn.execute(
        text(
            "SELECT source_ref, road_class, oneway, ST_X(ST_StartPoint(geom)) FROM roads "
            "ORDER BY source_ref"
        )
    ).all()
    start_a, start_b = geo.to_bng(A[0][0], A[0][1])[0], geo.to_bng(B[0][0], B[0][1])[0]
    end_a = geo.to_bng(A[1][0], A[1][1])[0]
    assert [tuple(r[:3]) for r in stored] == [
        ("osm:11#0", "primary", False),
        ("osm:12#0", "other", False),
        ("osm:12#1", "other", False),
        ("osm:13#0", "trunk", True),
    ]
    starts = [r[3] for r in stored]
    assert starts == pytest.approx([start_a, start_a, start_b, end_a], abs=0.01)


def test_bad_road_features(app_conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "roads.geojson",
        [
            line_feature(1, "primary", {"type": "LineString", "coordinates": A}),
            line_feature(2, "primary", {"type": "LineString", "coordinates": [A[0], A[0]]}),
            line_feature(3, "primary", {"type": "Polygon", "coordinates": [[*A, B[0], A[0]]]}),
            line_feature(
                4, "primary", {"type": "LineString", "coordinates": [[54.1, -3.2], [54.2, -3.1]]}
            ),
            line_feature(None, "primary", {"type": "LineString", "coordinates": A}),
            line_feature(1, "primary", {"type": "LineString", "coordinates": B}),
            line_feature(7, "primary", None),
        ],
    )
    before = count(app_conn, "roads")
    with pytest.raises(ImportRejectedError) as caught:
        roads.import_file(app_conn, path)
    reasons = {e.origin.line: e.reason for e in caught.value.report.rejects}
    assert reasons.pop(2).startswith("invalid geometry: Too few points")
    assert "look swapped" in reasons.pop(4)
    assert reasons == {
        3: "geometry is a Polygon, expected LineString or MultiLineString",
        5: "OSM id is empty",
        6: "road osm:1#0 repeats feature 1",
        7: "geometry is missing or unreadable",
    }
    assert count(app_conn, "roads") == before
    assert roads.import_file(app_conn, path, skip_bad=True).inserted == 1
