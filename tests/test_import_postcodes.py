"""Code-Point Open: the CA and LA files import (headers file harmless), re-import changes
nothing, corrupted copies are refused with line numbers, districts pick the area."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from hardening.importers import codepoint, lsoa
from hardening.importers.core import ImportRejectedError


def postcode_files(open_data_dir: Path) -> list[Path]:
    return sorted((open_data_dir / "postcodes").glob("*.csv"))


def units(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM postcode_units")).scalar_one())


def test_real_files_import_once(app_conn: Connection, open_data_dir: Path) -> None:
    files = postcode_files(open_data_dir)
    assert "Code-Point_Open_Column_Headers.csv" in [f.name for f in files]
    data_lines = sum(
        1 for f in files if f.name != "Code-Point_Open_Column_Headers.csv" for _ in f.open()
    )
    first = codepoint.import_files(app_conn, files)
    assert (first.inserted, first.updated, first.unchanged) == (data_lines, 0, 0)
    assert first.read == data_lines and not first.rejects
    again = codepoint.import_files(app_conn, files)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, data_lines)
    row = app_conn.execute(
        text(
            "SELECT positional_quality, admin_district, ST_X(geom), ST_Y(geom) "
            "FROM postcode_units WHERE postcode = 'CA1 1AA'"
        )
    ).one()
    assert tuple(row) == (10, "E07000028", 339557.0, 555539.0)
    spaced = app_conn.execute(
        text("SELECT count(*) FROM postcode_units WHERE postcode NOT LIKE '% ___'")
    ).scalar_one()
    assert spaced == 0


def field(index: int, value: str) -> Callable[[str], str]:
    def fn(line: str) -> str:
        cells = line.split(",")
        cells[index] = value
        return ",".join(cells)

    return fn


def test_corrupted_copy_is_refused(
    app_conn: Connection, open_data_dir: Path, tmp_path: Path
) -> None:
    lines = (open_data_dir / "postcodes" / "ca.csv").read_text(encoding="utf-8").splitlines()[:30]
    damage = {
        3: (field(2, "NaN"), "Eastings is NaN"),
        5: (lambda s: field(3, "0")(field(2, "0")(s)), "no position (Eastings/Northings 0,0)"),
        8: (lambda s: s.rsplit(",", 4)[0], "expected 10 fields"),
        12: (field(0, '"1CA 1AA"'), "not a UK postcode"),
        20: (field(2, "7000000"), "outside the British National Grid"),
        22: (field(3, ""), "Northings is empty"),
        25: (lambda s: lines[1], "postcode CA1 1AE repeats line 2"),
    }
    for line, (fn, _) in damage.items():
        lines[line - 1] = fn(lines[line - 1])
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = units(app_conn)
    with pytest.raises(ImportRejectedError) as caught:
        codepoint.import_files(app_conn, [path])
    rejects = caught.value.report.rejects
    assert [e.origin.line for e in rejects] == sorted(damage)
    for error in rejects:
        assert damage[error.origin.line][1] in error.reason
    assert units(app_conn) == before
    report = codepoint.import_files(app_conn, [path], skip_bad=True)
    assert report.inserted + report.updated + report.unchanged == 30 - len(damage)
    assert units(app_conn) - before == report.inserted


def test_district_decides_the_area(app_conn: Connection, open_data_dir: Path) -> None:
    before = codepoint.import_files(app_conn, postcode_files(open_data_dir))
    assert app_conn.execute(text("SELECT count(area_id) FROM postcode_units")).scalar_one() == 0
    boundaries = open_data_dir / "boundaries"
    # The areas arriving place the units loaded before them (imports in either order) ...
    areas = lsoa.import_files(app_conn, boundaries / "cumbriaLSOA.shp")
    assert areas.related["placed"]["postcode_units"] > 10_000
    # ... so importing the postcodes again changes nothing.
    after = codepoint.import_files(app_conn, postcode_files(open_data_dir))
    assert after.updated == after.inserted == 0 and after.unchanged == before.inserted
    by_district: dict[str, list[str]] = dict(
        app_conn.execute(
            text(
                "SELECT admin_district, array_agg(DISTINCT area_id) FROM postcode_units "
                "WHERE admin_district IN ('E07000027', 'E07000028', 'E07000026') GROUP BY 1"
            )
        ).all()
    )
    assert by_district == {
        "E07000027": ["south-cumbria"],
        "E07000028": ["carlisle"],
        "E07000026": ["west-cumbria"],
    }
