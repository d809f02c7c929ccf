"""Real-data imports count what lies in the partnership's areas: the GB railway file and a
council's ANPR file from elsewhere (Bath) are kept for reference outside the areas, and neither
the map nor the yearly report counts them as an area's."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import shapely
from shapely import wkb
from sqlalchemy import Connection, text

from hardening import geo, layers
from hardening.importers import sites, stations
from hardening.importers.core import AreaSplit
from hardening.reports.coverage_change import sites_present
from hardening.tiles import mapdata

FURNESS = "test-furness"  # a square over Barrow-in-Furness, Roose, Dalton and Ulverston
FURNESS_BOX = (315_000, 465_000, 332_000, 482_000)
ANPR_MAPS = ["id=id", "x=longitude", "y=latitude", "direction=direction"]


def _add_furness(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO areas (area_id, name, geom) VALUES (:a, 'Test Furness', "
            "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 27700)))"
        ),
        dict(zip(("x0", "y0", "x1", "y1"), FURNESS_BOX, strict=True), a=FURNESS),
    )


def _stations_inside_areas(conn: Connection, path: Path) -> int:
    """Counted without the importer: the file's points in BNG against every area polygon."""
    areas = [
        wkb.loads(bytes(g))
        for g in conn.execute(text("SELECT ST_AsBinary(geom) FROM areas")).scalars()
    ]
    union = shapely.union_all(areas)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    points = [shapely.Point(geo.to_bng(float(r["long"]), float(r["lat"]))) for r in rows]
    return sum(bool(union.covers(p)) for p in points)


def test_gb_stations_outside_the_areas_are_kept_for_reference(
    app_conn: Connection, open_data_dir: Path
) -> None:
    _add_furness(app_conn)
    path = open_data_dir / "stations" / "uk_railway_stations.csv"
    report = stations.import_file(app_conn, path)
    expected_in = _stations_inside_areas(app_conn, path)
    assert report.areas is not None and report.read > 2500
    assert report.areas.in_areas == expected_in
    assert 4 <= expected_in < 40  # Furness's stations (Roose, Barrow, Dalton, Ulverston ...)
    assert report.areas.outside_areas == report.read - expected_in
    data = report.to_dict()
    assert (data["in_areas"], data["outside_areas"]) == (expected_in, report.read - expected_in)
    summary = report.summary()
    assert (
        f"{report.read:,} stations read: {expected_in:,} in the partnership's areas, "
        f"{report.read - expected_in:,} outside kept for reference"
    ) in summary
    in_furness = set(
        app_conn.execute(
            text("SELECT code FROM transport_hubs WHERE area_id = :a"), {"a": FURNESS}
        ).scalars()
    )
    assert {"ROO", "BIF", "DLT", "ULV"} <= in_furness and "KGX" not in in_furness
    outside = app_conn.execute(
        text("SELECT area_id FROM transport_hubs WHERE hub_key = 'rail:KGX'")
    ).scalar_one()
    assert outside is None  # King's Cross: kept, in no area

    # The map draws (and counts) only the areas' stations; the bbox layer keeps the others.
    placed = app_conn.execute(
        text("SELECT count(*) FROM transport_hubs WHERE area_id IS NOT NULL")
    ).scalar_one()
    shown = layers.stations(app_conn, areas_only=True)
    assert len(shown) == placed and all(s.area_id is not None for s in shown)
    assert len(layers.stations(app_conn)) >= report.read
    drawn = mapdata.map_layers(app_conn, 1000, True)
    assert len(drawn.stations) == placed


def test_an_anpr_file_from_elsewhere_is_not_the_areas(
    app_conn: Connection, open_data_dir: Path
) -> None:
    _add_furness(app_conn)
    today = date.today()
    before_report = sites_present(app_conn, None, today)
    before_map = len(mapdata.map_layers(app_conn, 1000, True).anpr)
    path = open_data_dir / "camera_sites" / "BANES_2017_ANPR_Survey_Sites.csv"
    report = sites.import_file(app_conn, "anpr", path, ANPR_MAPS)
    assert report.areas is not None
    assert (report.areas.in_areas, report.areas.outside_areas) == (0, report.read)
    assert report.to_dict()["outside_areas"] == report.read == 67
    assert "67 anpr sites read: 0 in the partnership's areas, 67 outside kept for reference" in (
        report.summary()
    )
    placed = app_conn.execute(
        text(
            "SELECT count(*) FROM anpr_sites WHERE source = 'BANES_2017_ANPR_Survey_Sites' "
            "AND area_id IS NOT NULL"
        )
    ).scalar_one()
    assert placed == 0
    # Neither the partnership's yearly figures nor the map count Bath's cameras.
    assert sites_present(app_conn, None, today) == before_report
    assert len(mapdata.map_layers(app_conn, 1000, True).anpr) == before_map


def test_a_site_inside_an_area_is_counted_there(app_conn: Connection, tmp_path: Path) -> None:
    _add_furness(app_conn)
    path = tmp_path / "furness_anpr.csv"
    path.write_text(
        "id,longitude,latitude,direction\n"
        "F1,-3.2260,54.1190,N\n"  # Barrow-in-Furness
        "F2,-2.3943,51.4155,S\n",  # Bath
        encoding="utf-8",
    )
    report = sites.import_file(app_conn, "anpr", path, ANPR_MAPS)
    assert report.areas is not None
    assert (report.areas.in_areas, report.areas.outside_areas) == (1, 1)
    areas: dict[str, str | None] = dict(
        app_conn.execute(
            text("SELECT source_ref, area_id FROM anpr_sites WHERE source = 'furness_anpr'")
        ).all()
    )
    assert areas == {"F1": FURNESS, "F2": None}
    present = sites_present(app_conn, FURNESS, date.today())
    assert present["anpr"] == 1


def test_rows_placed_before_any_area_exists_say_so() -> None:
    split = AreaSplit(in_areas=0, outside_areas=5, areas_defined=0)
    assert split.summary("stations").startswith("5 stations loaded with no area: no areas")
    assert split.to_dict() == {"in_areas": 0, "outside_areas": 5, "areas_defined": 0}
