"""The yearly report on the committed sample: every figure equals an independently written SQL
count, disclosure control is applied, and the HTML is self-contained.

The sample carries explicit ids, so it is loaded into a database of its own (as
tests/test_sample_load.py does), never into the shared test database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from hardening.db.engine import Actor, ensure_database, make_engine, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import APP_ROLE, libpq_conninfo
from hardening.reports.cli import report_app
from hardening.reports.html import render
from hardening.reports.kpi import Kpi, compute
from hardening.reports.publish import publish
from hardening.reports.training import add_session
from hardening.sample.files import file_sources
from hardening.sample.loader import load
from hardening.settings import PROJECT_ROOT, Settings, get_settings

YEAR = 2025
AREA = "south-cumbria"


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def sample_url(test_db_url: URL) -> Iterator[URL]:
    url = test_db_url.set(database=f"{test_db_url.database}_kpi")
    _drop(url)
    ensure_database(Settings(), url)
    migrate(url)
    engine = make_engine(url.set(username=APP_ROLE, password=None), pool_size=1)
    with transaction(engine, Actor.system()) as conn:
        load(conn, file_sources(PROJECT_ROOT / "sample_data"))
        add_session(conn, AREA, date(2025, 3, 4), "Spotting cuckooing", 23, "lakes-borders-nhs")
        add_session(conn, AREA, date(2025, 5, 6), "County lines basics", 12, None, "school")
        add_session(conn, AREA, date(2025, 9, 9), "County lines basics", 8, None, "school")
        add_session(conn, "carlisle", date(2025, 9, 9), "Exploitation", 30, "cumbria-fire")
        add_session(conn, AREA, date(2024, 9, 9), "Last year", 40, "cumbria-fire")
    engine.dispose()
    yield url
    _drop(url)


@pytest.fixture
def sample_conn(sample_url: URL) -> Iterator[Connection]:
    engine: Engine = make_engine(sample_url.set(username=APP_ROLE, password=None), pool_size=1)
    with transaction(engine, Actor.system()) as conn:
        yield conn
    engine.dispose()


def _one(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(text(sql), params).scalar_one() or 0)


@pytest.mark.parametrize("area", [AREA, None])
def test_kpi_equals_independent_sql(sample_conn: Connection, area: str | None) -> None:
    k = compute(sample_conn, YEAR, area)
    c = sample_conn
    where = "AND area_id = :a" if area else ""
    local_year = "extract(year FROM {col} AT TIME ZONE 'Europe/London') = :y"
    assert k.visits["this"] == _one(
        c,
        f"SELECT count(*) FROM visits WHERE extract(year FROM visited_on) = :y {where}",
        y=YEAR,
        a=area,
    )
    assert k.visits["previous"] == _one(
        c,
        f"SELECT count(*) FROM visits WHERE extract(year FROM visited_on) = :y {where}",
        y=YEAR - 1,
        a=area,
    )
    assert k.threats_to_life["this"] == _one(
        c,
        "SELECT count(*) FROM incidents WHERE category = 'threat_to_life' AND "
        f"{local_year.format(col='occurred_at')} {where}",
        y=YEAR,
        a=area,
    )
    assert k.referrals["this"] == _one(
        c,
        f"SELECT count(*) FROM referrals WHERE extract(year FROM made_on) = :y {where}",
        y=YEAR,
        a=area,
    )
    assert sum(r["this"] for r in k.referrals_by_partner_service) == k.referrals["this"]
    assert k.intelligence["from_visits"] == _one(
        c,
        "SELECT sum(intelligence_count) FROM visits WHERE extract(year FROM visited_on) = :y "
        f"{where}",
        y=YEAR,
        a=area,
    )
    assert k.intelligence["logged"] == _one(
        c,
        "SELECT count(*) FROM incidents WHERE kind = 'intelligence' AND "
        f"{local_year.format(col='occurred_at')} {where}",
        y=YEAR,
        a=area,
    )
    assert k.markers["placed"] == _one(
        c,
        f"SELECT count(*) FROM safe_markers WHERE {local_year.format(col='created_at')} {where}",
        y=YEAR,
        a=area,
    )
    assert k.markers["reviews"] == _one(
        c,
        "SELECT count(*) FROM marker_reviews r WHERE "
        f"{local_year.format(col='r.reviewed_at')} AND r.marker_id IN (SELECT marker_id FROM "
        f"safe_markers WHERE true {where})",
        y=YEAR,
        a=area,
    )
    completed = "status = 'completed' AND " + local_year.format(col="completed_at")
    assert sum(r["completed"] for r in k.works_by_measure) == _one(
        c, f"SELECT count(*) FROM work_orders WHERE {completed} {where}", y=YEAR, a=area
    )
    assert sum(r["cost_pence"] for r in k.cost_by_provider) == _one(
        c, f"SELECT sum(cost_pence) FROM work_orders WHERE {completed} {where}", y=YEAR, a=area
    )
    assert sum(r["visits"] for r in k.monthly) == k.visits["this"]
    for day, attr in (
        (date(YEAR, 1, 1), "lines_active_start"),
        (date(YEAR, 12, 31), "lines_active_end"),
    ):
        expected = _one(
            c,
            "SELECT count(*) FROM county_lines l WHERE (SELECT status FROM county_line_status s "
            "WHERE s.line_id = l.line_id AND s.valid_from <= :d ORDER BY valid_from DESC LIMIT 1)"
            f" = 'active' {where.replace('area_id', 'l.area_id')}",
            d=day,
            a=area,
        )
        assert getattr(k, attr) == expected
    if area == AREA:
        assert k.lines_active_start == 7  # the partnership's count when it started
        types = {
            r["partner_type"]: (r["sessions"], r["attendees"]) for r in k.training_by_partner_type
        }
        assert types == {"nhs": (1, 23), "school": (2, 20)}
    assert k.visits["this"] > 0 and k.referrals["this"] > k.referrals["previous"]


def _small_kpi() -> Kpi:
    return Kpi(
        year=YEAR,
        area=None,
        lines_active_start=3,
        lines_active_end=2,
        threats_to_life={"this": 4, "previous": 11},
        visits={"this": 52, "previous": 38},
        visits_by_subject={"other": 3, "class_a_user": 27},
        referrals={"this": 12, "previous": 9},
        referrals_by_partner_service=[
            {
                "partner_name": "Food <Bank>",
                "partner_kind": "voluntary",
                "service": "food_bank",
                "this": 9,
                "previous": 14,
            }
        ],
        intelligence={
            "from_visits": 10,
            "from_visits_previous": 0,
            "logged": 2,
            "logged_previous": 3,
        },
        training_by_partner_type=[{"partner_type": "school", "sessions": 1, "attendees": 4}],
        markers={"placed": 6, "placed_previous": 10, "reviews": 17, "reviews_previous": 12},
        works_by_measure=[
            {"measure_code": "spy_hole", "name": "Spy hole", "completed": 3, "cost_pence": 7500}
        ],
        cost_by_provider=[
            {"provider_org_id": "p", "name": "P", "completed": 23, "cost_pence": 123456}
        ],
        coverage={"cctv": {"working": 2}, "anpr": {}, "change": None},
        risk_distribution={"models": ["m"], "bands": {"m": {"high": 4, "low": 100}}},
        monthly=[{"month": date(YEAR, 1, 1), "visits": 7, "referrals": 12}],
    )


def test_publish_suppresses_small_counts() -> None:
    p = publish(_small_kpi())
    assert p["threats_to_life"] == {"this": None, "previous": 10, "change_pct": None}
    assert p["visits"] == {"this": 50, "previous": 40, "change_pct": 25.0}
    assert p["referrals"] == {"this": 10, "previous": None, "change_pct": None}
    assert p["visits_by_subject"] == {"other": None, "class_a_user": 25}
    assert p["referrals_by_partner_service"][0]["this"] is None
    assert p["intelligence"]["from_visits"]["change_pct"] is None  # previous 0: no ratio
    assert p["works_by_measure"] == [
        {"measure": "Spy hole", "completed": None, "cost_pounds": None}
    ]  # cost would give the count away
    assert p["cost_by_provider"][0] == {"provider": "P", "completed": 25, "cost_pounds": 1235}
    assert p["risk_distribution"]["bands"]["m"] == {"high": None, "low": 100}
    assert p["monthly"][0] == {"month": date(YEAR, 1, 1), "visits": None, "referrals": 10}
    assert p["lines"] == {"active_start": 3, "active_end": 2}  # lines are not people


def test_html_is_self_contained_and_shows_suppression() -> None:
    page = render(publish(_small_kpi()), "Test <Area>")
    assert page.startswith("<!doctype html>")
    assert "&lt;10" in page and "Test &lt;Area&gt;" in page and "Food &lt;Bank&gt;" in page
    assert not re.search(r"(src|href)=['\"](https?:)?//", page)  # nothing fetched from outside
    assert len(re.findall(r"src='data:image/png;base64,", page)) == 3
    assert "Threats to life<b>&lt;10</b>" in page  # raw count 4 is not shown
    assert "SAFE markers placed<b>&lt;10</b>" in page


def test_cli_writes_report_and_json(
    sample_url: URL, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    monkeypatch.setenv("HARDENING_DATABASE_URL", sample_url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        out = Path(str(tmp_path)) / "report.html"
        runner = CliRunner()
        res = runner.invoke(
            report_app, ["kpi", "--year", "2025", "--area", AREA, "--out", str(out), "--json"]
        )
        assert res.exit_code == 0, res.output
        figures = json.loads(res.stdout)
        assert figures["year"] == 2025 and figures["lines"]["active_start"] == 7
        assert all(v is None or v % 5 == 0 for v in figures["visits_by_subject"].values())
        assert "South Cumbria" in out.read_text(encoding="utf-8")
        bad = runner.invoke(report_app, ["kpi", "--year", "2025", "--area", "atlantis"])
        assert bad.exit_code != 0 and "unknown area" in str(bad.exception)
    finally:
        monkeypatch.delenv("HARDENING_DATABASE_URL")
        get_settings.cache_clear()
