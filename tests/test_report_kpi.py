"""The yearly report on the committed sample (year 2025): every figure equals an independently
written SQL count or the coverage module's own answer, every section is populated, disclosure
control (with secondary suppression) is applied, and the CLI, the HTML and the dashboard page
show the same figures.

The sample carries explicit ids, so it is loaded into a database of its own (as
tests/test_sample_load.py does), never into the shared test database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
import streamlit as st
from engines import app_role_engine, credentialed
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from hardening.coverage.anpr import plan_anpr
from hardening.coverage.report import coverage_report
from hardening.db.engine import Actor, ensure_database, set_actor, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo
from hardening.reports.cli import report_app
from hardening.reports.coverage_change import coverage_change
from hardening.reports.html import tile_pairs
from hardening.reports.kpi import Kpi, compute
from hardening.reports.publish import publish, shown
from hardening.reports.risk_change import LONDON, risk_change
from hardening.reports.risk_fairness import risk_fairness
from hardening.reports.tables import sections
from hardening.risk.model import load as load_model
from hardening.risk.scoring import score
from hardening.sample.files import file_sources
from hardening.sample.loader import load
from hardening.security.disclosure import publishable, round_to_base
from hardening.settings import PROJECT_ROOT, Settings, get_settings
from ui.labels import cell_words

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
    engine = app_role_engine(url, pool_size=1)
    with transaction(engine, Actor.system()) as conn:
        load(conn, file_sources(PROJECT_ROOT / "sample_data"))
    engine.dispose()
    yield url
    _drop(url)


@pytest.fixture(scope="module")
def sample_engine(sample_url: URL) -> Iterator[Engine]:
    engine = app_role_engine(sample_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def sample_conn(sample_engine: Engine) -> Iterator[Connection]:
    """The system actor on the sample, rolled back after the test."""
    with sample_engine.connect() as conn:
        conn.begin()
        set_actor(conn, Actor.system())
        yield conn
        conn.rollback()


@pytest.fixture(scope="module")
def kpis(sample_engine: Engine) -> dict[str | None, Kpi]:
    """The raw figures for one area and for all, computed once (they take a while)."""
    with sample_engine.connect() as conn:
        conn.begin()
        set_actor(conn, Actor.system())
        out = {a: compute(conn, YEAR, a) for a in (AREA, None)}
        conn.rollback()
    return out


def _one(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(text(sql), params).scalar_one() or 0)


@pytest.mark.parametrize("area", [AREA, None])
def test_kpi_equals_independent_sql(
    kpis: dict[str | None, Kpi], sample_conn: Connection, area: str | None
) -> None:
    k = kpis[area]
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
    for r in k.referrals_by_partner_service:
        assert r["this"] == _one(
            c,
            "SELECT count(*) FROM referrals WHERE partner_org_id = :p AND service = :s AND "
            f"extract(year FROM made_on) = :y {where}",
            p=r["partner_org_id"],
            s=r["service"],
            y=YEAR,
            a=area,
        )
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
    training = {
        r.partner_type: (r.n, r.people)
        for r in c.execute(
            text(
                "SELECT partner_type, count(*) AS n, sum(attendees) AS people FROM "
                f"training_sessions WHERE delivered_on >= :s AND delivered_on < :e {where} "
                "GROUP BY 1"
            ),
            {"s": date(YEAR, 1, 1), "e": date(YEAR + 1, 1, 1), "a": area},
        )
    }
    got = {r["partner_type"]: (r["sessions"], r["attendees"]) for r in k.training_by_partner_type}
    assert got == training and training  # the sample delivers training every year
    # camera sites working on each day, counted in Python from the rows
    sites = c.execute(
        text(
            "SELECT 'cctv' AS kind, status, installed_on, removed_on, area_id FROM cctv_sites "
            "UNION ALL SELECT 'anpr', status, installed_on, removed_on, area_id FROM anpr_sites"
        )
    ).all()
    for key, day in (("sites_start", date(YEAR, 1, 1)), ("sites_end", date(YEAR, 12, 31))):
        for kind in ("cctv", "anpr"):
            working = [
                s
                for s in sites
                if s.kind == kind
                and (area is None or s.area_id == area)
                and (s.installed_on is None or s.installed_on <= day)
                and (
                    (s.status == "working" and (s.removed_on is None or s.removed_on > day))
                    or (s.status == "removed" and s.removed_on is not None and s.removed_on > day)
                )
            ]
            assert k.coverage[key][kind] == len(working), (key, kind)
    if area == AREA:
        assert k.lines_active_start == 7  # the partnership's count when it started
    assert k.visits["this"] > 0 and k.referrals["this"] > k.referrals["previous"]


def _as_on(conn: Connection, table: str, day: date) -> None:
    """Rewrite the sites table to what stood on a day (removed sites back in service), so
    the coverage module, which reads sites as they are now, sees that day."""
    for row in conn.execute(
        text(f"SELECT site_id, status, installed_on, removed_on FROM {table}")
    ).all():
        installed = row.installed_on is None or row.installed_on <= day
        gone = row.removed_on is not None and row.removed_on <= day
        if row.status == "removed" and installed and row.removed_on and not gone:
            change = f"UPDATE {table} SET status = 'working' WHERE site_id = :i"
        elif row.status in ("planned", "removed") or not installed or gone:
            change = f"DELETE FROM {table} WHERE site_id = :i"
        else:
            continue
        conn.execute(text(change), {"i": row.site_id})


@pytest.mark.parametrize("area", [AREA, "carlisle"])
def test_coverage_change_is_the_coverage_modules_answer_on_each_day(
    sample_conn: Connection, area: str
) -> None:
    raw = coverage_change(sample_conn, YEAR, area)["areas"][area]
    changed = False
    for label, day in (("start", date(YEAR, 1, 1)), ("end", date(YEAR, 12, 31))):
        savepoint = sample_conn.begin_nested()
        try:
            _as_on(sample_conn, "cctv_sites", day)
            _as_on(sample_conn, "anpr_sites", day)
            cctv = coverage_report(sample_conn, area)
            anpr = plan_anpr(sample_conn, area, new_sites=0, time_limit_s=5)
        finally:
            savepoint.rollback()
        c, a = raw["cctv"], raw["anpr"]
        assert cctv["demand"]["households"] == publishable(c["households"])
        assert cctv["covered"]["households"] == publishable(c[f"covered_{label}"])
        assert cctv["covered"]["household_share"] == round(
            c[f"covered_{label}"] / c["households"], 4
        )
        assert cctv["cameras"]["working"] == c[f"cameras_{label}"]
        assert anpr["cordon_before"] == round(a[f"captured_{label}"] / a["entry_routes"], 4)
        changed |= c["covered_start"] != c["covered_end"]
        changed |= a["captured_start"] != a["captured_end"]
    assert changed  # the sample's story: cameras came and went in the year


def test_risk_change_is_a_stored_run_as_of_each_day_and_leaves_nothing(
    sample_conn: Connection,
) -> None:
    c = sample_conn
    runs = _one(c, "SELECT count(*) FROM risk_runs")
    scores = _one(c, "SELECT count(*) FROM risk_scores")
    raw = risk_change(c, YEAR, AREA)
    assert _one(c, "SELECT count(*) FROM risk_runs") == runs
    assert _one(c, "SELECT count(*) FROM risk_scores") == scores  # nothing written, or kept
    assert raw["available"] and raw["model"] == load_model(c, store=False).version
    for key, moment in (
        ("start", datetime(YEAR, 1, 1, tzinfo=LONDON)),
        ("end", datetime(YEAR + 1, 1, 1, tzinfo=LONDON)),
    ):
        score(c, area_id=AREA, as_of=moment.astimezone(UTC))
        stored: dict[str, int] = dict(
            c.execute(
                text(
                    "SELECT band, count(*) FROM risk_scores WHERE model_version = :m "
                    "AND area_id = :a GROUP BY band"
                ),
                {"m": raw["model"], "a": AREA},
            ).all()
        )
        assert raw[key] == {b: stored.get(b, 0) for b in raw[key]}, key
    assert raw["start"] != raw["end"] and sum(raw["start"].values()) == sum(raw["end"].values())


def test_risk_fairness_counts_the_flagged_homes_and_the_years_reports_by_group(
    sample_conn: Connection, kpis: dict[str | None, Kpi]
) -> None:
    c = sample_conn
    runs = _one(c, "SELECT count(*) FROM risk_runs")
    raw = risk_fairness(c, YEAR, AREA)
    assert _one(c, "SELECT count(*) FROM risk_runs") == runs  # nothing written
    assert raw["available"] and set(raw["by"]) == {"imd_decile", "tenure"}  # one area asked
    homes = _one(
        c,
        "SELECT count(*) FROM addresses WHERE area_id = 'south-cumbria' "
        "AND property_type NOT IN ('block', 'commercial')",
    )
    assert raw["units_flagged"] == round(0.05 * homes)
    # the model's outcome in the year, at a home: cuckooing and exploitation reports and
    # visits to a cuckooed occupant (what the risk engine counts as such a report)
    reports = _one(
        c,
        "SELECT (SELECT count(*) FROM incidents i JOIN addresses a USING (uprn) "
        "WHERE i.category IN ('cuckooing', 'exploitation') AND a.area_id = 'south-cumbria' "
        "AND a.property_type NOT IN ('block', 'commercial') AND i.occurred_at >= :s "
        "AND i.occurred_at < :e) + (SELECT count(*) FROM visits v JOIN addresses a USING "
        "(uprn) WHERE v.subject_type = 'cuckooed_occupant' AND a.area_id = 'south-cumbria' "
        "AND a.property_type NOT IN ('block', 'commercial') "
        "AND v.visited_on >= CAST(:s AS date) AND v.visited_on < CAST(:e AS date))",
        s=datetime(YEAR, 1, 1, tzinfo=LONDON),
        e=datetime(YEAR + 1, 1, 1, tzinfo=LONDON),
    )
    assert raw["outcome_events"] == reports > 0
    for table in raw["by"].values():
        groups = table["groups"]
        assert sum(g["units"] for g in groups) == homes
        assert sum(g["flagged"] for g in groups) == raw["units_flagged"]
        assert sum(g["outcome_events"] for g in groups) == reports
        assert table["over_flagged"] == [
            g["group"] for g in groups
            if g["flagged"] and (g["flag_ratio"] is None or g["flag_ratio"] > 1.25)
        ]  # fmt: skip
    assert kpis[AREA].risk_fairness == raw  # the report's section is this audit
    figures = publish(kpis[AREA])
    published = figures["risk_fairness"]
    assert published["available"] and [g["grouping"] for g in published["groupings"]] == [
        "imd_decile", "tenure",
    ]  # fmt: skip
    for g in published["groupings"]:
        for r in g["groups"]:
            assert r["flagged"] is None or r["flagged"] == 0 or r["flagged"] >= 10
            if r["flagged"] is None or r["outcome_events"] is None:
                assert r["flag_ratio"] is None and r["over_flagged"] is None
    section = next(s for s in sections(figures) if s.key == "fairness")
    assert section.rows and "1 January" in (section.note or "")


def _every_section_populated(p: dict[str, Any]) -> None:
    assert p["lines"]["active_start"] > 0 and p["lines"]["active_end"] > 0
    for pair in (p["threats_to_life"], p["visits"], p["referrals"], p["markers"]["placed"]):
        assert pair["this"] is not None
    assert p["visits_by_subject"] and any(v for v in p["visits_by_subject"].values())
    assert p["referrals_by_partner_service"] and p["referrals_by_service"]
    assert any(r["this"] for r in p["referrals_by_partner"])
    assert p["intelligence"]["from_visits"]["this"] and p["intelligence"]["logged"]["this"]
    assert p["training"] and all(r["sessions"] > 0 for r in p["training"])
    assert p["works_by_measure"] and any(r["completed"] for r in p["cost_by_provider"])
    cov = p["coverage"]
    assert cov["cctv"]["covered_end"] and cov["anpr"]["entry_routes"]
    assert cov["sites_start"]["cctv"] and cov["sites_end"]["anpr"]
    assert p["risk_distribution"]["available"]
    assert all(b["end"] is not None for b in p["risk_distribution"]["bands"][:3])
    assert len(p["monthly"]) == 12 and any(m["visits"] for m in p["monthly"])
    assert all(s.rows for s in sections(p))


@pytest.mark.parametrize("area", [AREA, None])
def test_every_section_of_the_sample_year_is_populated(
    kpis: dict[str | None, Kpi], area: str | None
) -> None:
    _every_section_populated(publish(kpis[area]))


@pytest.mark.parametrize("area", [AREA, None])
def test_referral_rows_get_secondary_suppression(
    kpis: dict[str | None, Kpi], area: str | None
) -> None:
    k, p = kpis[area], publish(kpis[area])
    raw = k.referrals_by_partner_service
    rows = p["referrals_by_partner_service"]
    for year in ("this", "previous"):
        for r, out in zip(raw, rows, strict=True):
            if 0 < r[year] < 10:
                assert out[year] is None
            elif out[year] is not None:
                assert out[year] == round_to_base(r[year])
        groups = [
            (t, [i for i, r in enumerate(raw) if r["partner_name"] == t["partner"]])
            for t in p["referrals_by_partner"]
        ] + [
            (t, [i for i, r in enumerate(raw) if r["service"] == t["service"]])
            for t in p["referrals_by_service"]
        ]
        groups.append((p["referrals"], list(range(len(raw)))))
        for total, members in groups:
            if total[year] is not None:  # a published total never hides exactly one cell
                assert sum(rows[i][year] is None for i in members) != 1
    assert any(0 < r["this"] < 10 for r in raw)  # the sample has small cells to protect


def test_cli_writes_report_and_json(
    sample_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARDENING_DATABASE_URL", sample_url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        out = tmp_path / "report.html"
        runner = CliRunner()
        res = runner.invoke(
            report_app, ["kpi", "--year", "2025", "--area", AREA, "--out", str(out), "--json"]
        )
        assert res.exit_code == 0, res.output
        figures = json.loads(res.stdout)
        assert figures["year"] == 2025 and figures["lines"]["active_start"] == 7
        assert all(v is None or v % 5 == 0 for v in figures["visits_by_subject"].values())
        _every_section_populated(figures)
        page = out.read_text(encoding="utf-8")
        assert "South Cumbria" in page and page.count("data:image/png;base64,") == 4
        for title in ("Awareness training", "CCTV and ANPR coverage", "Risk distribution"):
            assert title in page
        for args, message in (
            (["--area", "atlantis"], "unknown area"),
            (["--year", "1999"], "out of range"),
        ):
            bad = runner.invoke(report_app, ["kpi", "--year", "2025", *args])
            assert bad.exit_code != 0 and message in str(bad.exception) + bad.output
    finally:
        monkeypatch.delenv("HARDENING_DATABASE_URL")
        get_settings.cache_clear()


def test_dashboard_page_shows_the_report(
    sample_url: URL, kpis: dict[str | None, Kpi], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page, signed in as the police analyst, shows the published figures of the report:
    the same headline figures and the same tables, cell for cell."""
    monkeypatch.setenv("HARDENING_DATABASE_URL", sample_url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    st.cache_resource.clear()  # the page's engine: to the sample, not another test's database
    try:
        at = AppTest.from_file(str(PROJECT_ROOT / "pages/7_KPI.py"), default_timeout=600)
        at.session_state["actor"] = credentialed("demo.analyst")  # the police's areas: all
        at.session_state["actor_expires_at"] = time.time() + 900
        at.run()
        at.number_input(key="year").set_value(YEAR).run()
        assert not at.exception and not at.error
    finally:
        monkeypatch.delenv("HARDENING_DATABASE_URL")
        get_settings.cache_clear()
        st.cache_resource.clear()
    p = publish(kpis[None])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Active lines (end of year)"] == str(p["lines"]["active_end"])
    for label, pair in tile_pairs(p):
        assert metrics[label] == shown(pair["this"]), label
    tables = [d.value for d in at.dataframe]
    expected = sections(p)
    assert len(tables) == len(expected)
    for frame, section in zip(tables, expected, strict=True):
        rows = [[cell_words(c) for c in row] for row in section.rows]  # as the page words them
        want = pd.DataFrame(rows, columns=list(section.headers))
        assert frame.astype(str).values.tolist() == want.astype(str).values.tolist(), section.key
    assert at.get("download_button")
    # The months as bars beside each other, named with their year, on whole numbers.
    [chart] = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["x"]["field"] == "month" and "xOffset" in spec["encoding"]
    assert spec["encoding"]["x"]["sort"] == [f"{date(YEAR, m, 1):%b} {YEAR}" for m in range(1, 13)]
    assert spec["encoding"]["y"]["axis"]["format"] == "d" and not at.info
