"""police.uk street crime: the real Cumbria months import, re-import changes nothing, and
corrupted copies are refused with line-numbered reasons (or loaded minus the bad rows)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from hardening.importers import police_uk
from hardening.importers.core import ImportRejectedError

Damage = Callable[[list[str]], list[str]]
LON, LAT = 4, 5


def month_files(open_data_dir: Path) -> list[Path]:
    return sorted((open_data_dir / "police_uk_cumbria").glob("*-cumbria-street.csv"))


def incidents(conn: Connection) -> int:
    query = "SELECT count(*) FROM incidents WHERE source = 'police_uk'"
    return int(conn.execute(text(query)).scalar_one())


def corrupt_copy(src: Path, dst: Path, keep: int, damage: dict[int, Damage]) -> Path:
    """The first `keep` lines of src, with the rows at the given 1-based lines damaged."""
    with src.open(newline="", encoding="utf-8") as handle:
        rows = [row for _, row in zip(range(keep), csv.reader(handle), strict=False)]
    for line, fn in damage.items():
        rows[line - 1] = fn(list(rows[line - 1]))
    with dst.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return dst


def set_field(index: int, value: str) -> Damage:
    def fn(row: list[str]) -> list[str]:
        row[index] = value
        return row

    return fn


def swap(row: list[str]) -> list[str]:
    row[LON], row[LAT] = row[LAT], row[LON]
    return row


DAMAGE: dict[int, tuple[Damage, str]] = {
    9: (set_field(LON, ""), "Longitude is empty"),
    17: (swap, "look swapped"),
    21: (set_field(LAT, "NaN"), "Latitude is NaN"),
    31: (lambda row: row[:5], "expected 12 fields, found 5"),
    41: (set_field(LON, "200"), "outside Great Britain"),
    44: (set_field(1, "2018/10"), "Month '2018/10' is not YYYY-MM"),
    47: (set_field(9, ""), "Crime type is empty"),
}


def test_real_months_import_once(app_conn: Connection, open_data_dir: Path) -> None:
    files = month_files(open_data_dir)
    assert len(files) == 3
    first = police_uk.import_files(app_conn, files)
    with_location = first.read - len(first.skips)
    assert first.read > 10_000
    assert (first.inserted, first.updated, first.unchanged) == (with_location, 0, 0)
    assert not first.rejects
    assert first.skips and all("No Location" in s.reason for s in first.skips)
    again = police_uk.import_files(app_conn, files)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, with_location)

    rows = [r for f in files for r in csv.DictReader(f.open(newline="", encoding="utf-8"))]
    placed = [r for r in rows if r["Longitude"]]
    by_category: dict[str, int] = dict(
        app_conn.execute(
            text("SELECT category, count(*) FROM incidents WHERE source = 'police_uk' GROUP BY 1")
        ).all()
    )
    # Identical ASB rows (same snap point, same month) are all kept.
    assert by_category["asb"] == sum(r["Crime type"] == "Anti-social behaviour" for r in placed)
    assert by_category["drug_possession"] == sum(r["Crime type"] == "Drugs" for r in placed)
    assert by_category["weapons"] == sum(r["Crime type"] == "Possession of weapons" for r in placed)
    months = app_conn.execute(
        text(
            "SELECT DISTINCT occurred_at, time_precision FROM incidents "
            "WHERE source = 'police_uk' ORDER BY 1"
        )
    ).all()
    assert months == [
        (datetime(2016, 3, 1, tzinfo=UTC), "month"),
        (datetime(2018, 10, 1, tzinfo=UTC), "month"),
        (datetime(2018, 11, 1, tzinfo=UTC), "month"),
    ]


def test_a_crime_keeps_its_fields(app_conn: Connection, open_data_dir: Path) -> None:
    src = month_files(open_data_dir)[1]
    with src.open(newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Crime type"] == "Drugs")
    police_uk.import_files(app_conn, [src])
    stored = app_conn.execute(
        text(
            "SELECT category, crime_type, location_text, lsoa_code, outcome, "
            "ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
            "FROM incidents WHERE source = 'police_uk' AND source_ref = :ref"
        ),
        {"ref": row["Crime ID"]},
    ).one()
    assert stored[:5] == (
        "drug_possession",
        "Drugs",
        row["Location"],
        row["LSOA code"],
        row["Last outcome category"] or None,
    )
    assert stored[5:] == pytest.approx((float(row["Longitude"]), float(row["Latitude"])), abs=1e-6)


def test_corrupted_copy_is_refused_whole(
    app_conn: Connection, open_data_dir: Path, tmp_path: Path
) -> None:
    src = month_files(open_data_dir)[1]
    police_uk.import_files(app_conn, [month_files(open_data_dir)[0]])
    before = incidents(app_conn)
    bad = corrupt_copy(src, tmp_path / "bad.csv", 50, {k: v[0] for k, v in DAMAGE.items()})
    with pytest.raises(ImportRejectedError) as caught:
        police_uk.import_files(app_conn, [bad])
    rejects = caught.value.report.rejects
    assert [e.origin.line for e in rejects] == sorted(DAMAGE)
    for error in rejects:
        assert DAMAGE[error.origin.line][1] in error.reason
    assert "line 9: Longitude is empty" in str(caught.value)
    assert incidents(app_conn) == before


def test_skip_bad_loads_the_good_rows(
    app_conn: Connection, open_data_dir: Path, tmp_path: Path
) -> None:
    src = month_files(open_data_dir)[1]
    bad = corrupt_copy(src, tmp_path / "bad.csv", 50, {k: v[0] for k, v in DAMAGE.items()})
    report = police_uk.import_files(app_conn, [bad], skip_bad=True)
    assert report.read == 49
    assert len(report.rejects) == len(DAMAGE)
    assert report.inserted == 49 - len(DAMAGE) == incidents(app_conn)
    # The same rows, keyed the same way as in the whole month's file.
    whole = police_uk.import_files(app_conn, [src])
    assert whole.unchanged == 49 - len(DAMAGE)


def test_identical_asb_rows_are_distinct_events(app_conn: Connection, tmp_path: Path) -> None:
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
    )
    asb = (
        ",2018-10,Cumbria,Cumbria,-3.226,54.119,On or near Station,E01019126,x,"
        "Anti-social behaviour,,\n"
    )
    path = tmp_path / "asb.csv"
    path.write_text(header + asb * 3, encoding="utf-8")
    assert police_uk.import_files(app_conn, [path]).inserted == 3
    # Another (here bad) row before them does not renumber them; a fourth copy is new.
    path.write_text(header + asb.replace("-3.226", "NaN") + asb * 3, encoding="utf-8")
    report = police_uk.import_files(app_conn, [path], skip_bad=True)
    assert (report.inserted, report.unchanged, len(report.rejects)) == (0, 3, 1)
    path.write_text(header + asb * 4, encoding="utf-8")
    report = police_uk.import_files(app_conn, [path])
    assert (report.inserted, report.unchanged) == (1, 3)


def test_not_a_police_file_is_one_clear_error(tmp_path: Path, app_conn: Connection) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(Exception, match="missing column"):
        police_uk.import_files(app_conn, [path])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.integers(min_value=2, max_value=40),
        st.sampled_from([set_field(LON, ""), swap, set_field(LAT, "nan"), set_field(LON, "x")]),
        max_size=8,
    )
)
def test_rejects_name_exactly_the_damaged_lines(
    open_data_dir: Path, tmp_path: Path, damage: dict[int, Damage]
) -> None:
    src = month_files(open_data_dir)[1]
    path = corrupt_copy(src, tmp_path / "h.csv", 40, damage)
    batch = police_uk.parse([path])
    assert sorted(e.origin.line for e in batch.rejects) == sorted(damage)
    assert len(batch.records) + len(batch.rejects) + len(batch.skips) == 39
