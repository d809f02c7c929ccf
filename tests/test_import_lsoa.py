"""LSOA polygons and IMD deciles: the Cumbria shapefile builds lsoas and the three areas,
re-import changes nothing, bad features and bad decile rows are refused by number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from hardening.areas import AREAS
from hardening.importers import lsoa, police_uk, roads, stations
from hardening.importers.core import ImportRejectedError


def count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_real_boundaries_and_deciles(app_conn: Connection, open_data_dir: Path) -> None:
    shp = open_data_dir / "boundaries" / "cumbriaLSOA.shp"
    imd = open_data_dir / "boundaries" / "imd2019_lsoa_deciles.csv"
    first = lsoa.import_files(app_conn, shp, imd)
    assert (first.inserted, first.updated, first.unchanged) == (321, 0, 0)
    assert first.related["imd_deciles"]["loaded"] == first.related["imd_deciles"]["read"] > 32_000
    assert first.related["areas"] == {"loaded": 3, "updated": 0}
    again = lsoa.import_files(app_conn, shp, imd)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 321)
    assert again.related["imd_deciles"]["loaded"] == again.related["imd_deciles"]["updated"] == 0
    assert again.related["areas"] == {"loaded": 0, "updated": 0}

    areas = app_conn.execute(
        text(
            "SELECT area_id, name, ST_IsValid(geom), ST_Area(geom) FROM areas "
            "WHERE area_id = ANY(:ours) ORDER BY 1"
        ),
        {"ours": list(AREAS)},
    ).all()
    assert [(a, n) for a, n, _, _ in areas] == sorted(AREAS.items())
    assert all(valid and 5e8 < size < 5e9 for _, _, valid, size in areas)  # 500-5000 km2
    per_area: dict[str | None, int] = dict(
        app_conn.execute(text("SELECT area_id, count(*) FROM lsoas GROUP BY 1")).all()
    )
    # Eden's LSOAs belong to no configured area.
    assert (
        per_area[None]
        == app_conn.execute(
            text("SELECT count(*) FROM lsoas WHERE name LIKE 'Eden %'")
        ).scalar_one()
    )
    assert (
        app_conn.execute(
            text("SELECT area_id, imd_decile FROM lsoas WHERE name = 'Barrow-in-Furness 001A'")
        ).one()[0]
        == "south-cumbria"
    )
    assert count(app_conn, "lsoas") == 321
    assert app_conn.execute(text("SELECT count(imd_decile) FROM lsoas")).scalar_one() == 321
    # Every LSOA lies in its area's union.
    outside = app_conn.execute(
        text(
            "SELECT count(*) FROM lsoas l JOIN areas a USING (area_id) "
            "WHERE NOT ST_Covers(a.geom, ST_PointOnSurface(l.geom))"
        )
    ).scalar_one()
    assert outside == 0


def test_deciles_loaded_earlier_reach_the_polygons(
    app_conn: Connection, open_data_dir: Path, tmp_path: Path
) -> None:
    imd = tmp_path / "imd.csv"
    imd.write_text("lsoa,imd10\nE01019126,3\n", encoding="utf-8")
    polygons = lsoa.parse_polygons(open_data_dir / "boundaries" / "cumbriaLSOA.shp")
    lsoa.load(app_conn, polygons, lsoa.parse_imd(imd))
    lsoa.import_files(app_conn, open_data_dir / "boundaries" / "cumbriaLSOA.shp")
    deciles = app_conn.execute(
        text("SELECT lsoa_code, imd_decile FROM lsoas WHERE imd_decile IS NOT NULL")
    ).all()
    assert [tuple(d) for d in deciles] == [("E01019126", 3)]


def feature(code: str, name: str, geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry}


def polygon(ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


SQUARE = [(-3.23, 54.11), (-3.22, 54.11), (-3.22, 54.12), (-3.23, 54.12), (-3.23, 54.11)]


def test_bad_features_are_refused_by_number(app_conn: Connection, tmp_path: Path) -> None:
    features = [
        feature("E01019100", "Barrow-in-Furness 001A", polygon(SQUARE)),
        feature(
            "E01019101",
            "Barrow-in-Furness 001B",
            polygon(
                [(-3.23, 54.11), (-3.22, 54.12), (-3.22, 54.11), (-3.23, 54.12), (-3.23, 54.11)]
            ),
        ),  # bow-tie
        feature("E01019102", "Barrow-in-Furness 001C", polygon([(y, x) for x, y in SQUARE])),
        feature("X123", "Barrow-in-Furness 001D", polygon(SQUARE)),
        feature("E01019104", "Barrow-in-Furness 001E", None),
        feature("E01019105", "Barrow-in-Furness 001F", {"type": "Point", "coordinates": [-3, 54]}),
        feature("E01019100", "Barrow-in-Furness 001A", polygon(SQUARE)),
        feature("E01019107", "", polygon(SQUARE)),
    ]
    path = tmp_path / "lsoa.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    imd = tmp_path / "imd.csv"
    imd.write_text("lsoa,imd10\nE01019100,3\nE01019101,11\nE0101,2\nE01019102,x\n", "utf-8")
    before = {t: count(app_conn, t) for t in ("lsoas", "imd_deciles", "areas")}
    with pytest.raises(ImportRejectedError) as caught:
        lsoa.import_files(app_conn, path, imd)
    reasons = {(e.origin.file, e.origin.line): e.reason for e in caught.value.report.rejects}
    assert reasons.pop(("lsoa.geojson", 2)).startswith("invalid geometry: Self-intersection")
    assert "look swapped" in reasons.pop(("lsoa.geojson", 3))
    assert reasons == {
        ("lsoa.geojson", 4): "LSOA code 'X123' is not an LSOA code (E01... or W01...)",
        ("lsoa.geojson", 5): "geometry is missing or unreadable",
        ("lsoa.geojson", 6): "geometry is a Point, expected Polygon or MultiPolygon",
        ("lsoa.geojson", 7): "LSOA code E01019100 repeats feature 1",
        ("lsoa.geojson", 8): "LSOA name is empty",
        ("imd.csv", 3): "IMD decile 11 is not between 1 and 10",
        ("imd.csv", 4): "LSOA code 'E0101' is not an LSOA code (E01... or W01...)",
        ("imd.csv", 5): "IMD decile 'x' is not a number",
    }
    assert "feature 2: invalid geometry" in str(caught.value)
    assert {t: count(app_conn, t) for t in before} == before
    report = lsoa.import_files(app_conn, path, imd, skip_bad=True)
    assert (report.inserted, count(app_conn, "imd_deciles")) == (1, 1)
    assert app_conn.execute(text("SELECT area_id, imd_decile FROM lsoas")).one() == (
        "south-cumbria",
        3,
    )


def test_unreadable_files_are_one_clear_error(app_conn: Connection, tmp_path: Path) -> None:
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage")
    with pytest.raises(Exception, match="not a readable OGR file"):
        lsoa.import_files(app_conn, junk)
    with pytest.raises(Exception, match="no such file"):
        lsoa.import_files(app_conn, tmp_path / "missing.shp")


def test_real_data_install_puts_rows_in_areas(app_conn: Connection, open_data_dir: Path) -> None:
    """Boundaries first, then everything else falls into the three areas by containment."""
    lsoa.import_files(app_conn, open_data_dir / "boundaries" / "cumbriaLSOA.shp")
    police_uk.import_files(app_conn, sorted((open_data_dir / "police_uk_cumbria").glob("*.csv")))
    stations.import_file(app_conn, open_data_dir / "stations" / "uk_railway_stations.csv")
    roads.import_file(app_conn, open_data_dir / "roads" / "mainroads.shp")
    share = app_conn.execute(
        text("SELECT count(area_id)::float / count(*) FROM incidents WHERE source = 'police_uk'")
    ).scalar_one()
    assert 0.8 < share < 1.0  # Eden district (Penrith, Appleby) is in no area
    hubs: dict[str, str] = dict(
        app_conn.execute(
            text("SELECT code, area_id FROM transport_hubs WHERE code IN ('ROO', 'CAR', 'WKG')")
        ).all()
    )
    assert hubs == {"ROO": "south-cumbria", "CAR": "carlisle", "WKG": "west-cumbria"}
    # A point in an area's polygon is in that area: the set-based join agrees with PostGIS.
    wrong = app_conn.execute(
        text(
            "SELECT count(*) FROM incidents i JOIN areas a USING (area_id) "
            "WHERE NOT ST_Covers(a.geom, i.geom)"
        )
    ).scalar_one()
    assert wrong == 0
    assert app_conn.execute(text("SELECT count(area_id) FROM roads")).scalar_one() > 2000
