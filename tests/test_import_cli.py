"""`hardening import ...` end to end: JSON reports on stdout, refusals exit 1 and write
nothing, one-line errors for missing files. The CLI commits to the test database, so every
test here removes what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from hardening.cli import app

runner = CliRunner()
SOURCE = "cli-test-sites"


@pytest.fixture
def cleanup(test_db_url: URL, owner_engine: Engine) -> Iterator[Engine]:
    yield owner_engine
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM anpr_sites WHERE source = :s"), {"s": SOURCE})
        conn.execute(text("DELETE FROM cctv_sites WHERE source = :s"), {"s": SOURCE})


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_json_report_and_idempotent_rerun(cleanup: Engine, open_data_dir: Path) -> None:
    path = open_data_dir / "camera_sites" / "BANES_2017_ANPR_Survey_Sites.csv"
    args = ["import", "sites", "anpr", str(path), "--source", SOURCE, "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["loaded"], report["unchanged"], report["rejected"]) == (67, 0, 0)
    assert report["committed"] is True and report["kind"] == "anpr-sites"
    assert "67 rows read" in first.stderr
    second = json.loads(runner.invoke(app, args).stdout)
    assert (second["loaded"], second["updated"], second["unchanged"]) == (0, 0, 67)


def test_refused_file_prints_every_reject_and_writes_nothing(
    cleanup: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "cams.csv"
    path.write_text(
        "id,lon,lat\nA,-3.2,54.1\nB,54.1,-3.2\nC,,54.1\nD,-3.2,nan\nE,-3.2\n", encoding="utf-8"
    )
    before = count(cleanup, "cctv_sites")
    args = ["import", "sites", "cctv", str(path), "--source", SOURCE]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 1
    assert "\nerror: 4 bad row(s) in cams.csv; nothing was loaded" in result.stderr
    report = json.loads(result.stdout)
    assert report["committed"] is False and report["loaded"] == 0
    assert [(r["line"], r["reason"][:20]) for r in report["rejects"]] == [
        (3, "longitude 54.1 / lat"),
        (4, "lon is empty"),
        (5, "lat is NaN"),
        (6, "expected 3 fields, f"),
    ]
    assert count(cleanup, "cctv_sites") == before
    skipped = runner.invoke(app, [*args, "--skip-bad"])
    assert skipped.exit_code == 0
    assert skipped.stdout.startswith("cctv-sites: 5 row(s) read from 1 file(s): 1 loaded")
    assert "rejected line 3: longitude 54.1 / latitude -3.2 look swapped" in skipped.stderr
    assert count(cleanup, "cctv_sites") == before + 1


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hardening.cli import main; main()",
            "import",
            "police-uk",
            str(missing),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {missing}: no such file"
    assert done.stdout == ""


def test_refusal_without_json_quotes_the_first_reasons(tmp_path: Path) -> None:
    path = tmp_path / "street.csv"
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
    )
    bad = ",2018-10,C,C,,54.1,On or near X,E01019126,x,Drugs,,\n"
    path.write_text(header + bad * 8, encoding="utf-8")
    result = runner.invoke(app, ["import", "police-uk", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[1].startswith("error: 8 bad row(s) in street.csv; nothing was loaded")
    assert lines[2:4] == ["  line 2: Longitude is empty", "  line 3: Longitude is empty"]
    assert lines[-1] == "  ... and 3 more (--json lists them all)"
    assert result.stdout == ""


def test_help_lists_every_importer() -> None:
    result = runner.invoke(app, ["import", "--help"])
    assert result.exit_code == 0
    for command in ("police-uk", "postcodes", "lsoa", "stations", "roads", "sites", "addresses"):
        assert command in result.stdout


def test_database_checks_are_reported_with_the_file_checks(
    test_db_url: URL, tmp_path: Path
) -> None:
    """An unknown parent (found in the database) and a missing geometry (found in the file)
    come back together, so one fix-and-retry is enough."""
    features = [
        {
            "type": "Feature",
            "properties": {"uprn": 31, "address": "1 Test Street"},
            "geometry": {"type": "Point", "coordinates": [-3.1946, 54.1152]},
        },
        {
            "type": "Feature",
            "properties": {"uprn": 32, "address": "2 Test Street", "parent_uprn": 99999},
            "geometry": {"type": "Point", "coordinates": [-3.1947, 54.1153]},
        },
        {
            "type": "Feature",
            "properties": {"uprn": 33, "address": "3 Test Street"},
            "geometry": None,
        },
    ]
    path = tmp_path / "homes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    result = runner.invoke(app, ["import", "addresses", str(path), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (2, "parent UPRN 99999 is not in the register nor a good row of this file"),
        (3, "geometry is missing (map x and y columns, or give point features)"),
    ]
    assert "--skip-bad would load the other 1 row(s)" in result.stderr
