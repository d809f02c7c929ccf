"""The sample town is live: loaded, its dates move to the week of loading (whole weeks, so
weekdays stay), the first load's dating is kept by every later load, and the CLI says its
summary once.

Each load goes into a database of its own (the sample carries explicit ids), as in
tests/test_sample_load.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from engines import app_role_engine
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from test_sample_load import fresh_db
from typer.testing import CliRunner

from hardening.db.engine import Actor, transaction
from hardening.db.urls import libpq_conninfo
from hardening.sample import dating
from hardening.sample.cli import app as sample_app
from hardening.sample.files import file_sources, generated_sources
from hardening.sample.generate import generate
from hardening.sample.loader import load
from hardening.sample.spec import REFERENCE_DATE
from hardening.sample.table import SPECS
from hardening.settings import PROJECT_ROOT, get_settings

LONDON = ZoneInfo("Europe/London")
EARLIER_WEEKS = 3
OPEN = ("requested", "approved", "scheduled", "in_progress", "no_access")
__all__ = ["fresh_db"]  # a fixture (empty migrated databases), used here


@dataclass
class Town:
    url: URL
    report: dict[str, Any]


def _env(url: URL) -> dict[str, str]:
    return {**os.environ, "HARDENING_DATABASE_URL": url.render_as_string(hide_password=False)}


def _cli_json(url: URL, *args: str) -> dict[str, Any]:
    """`hardening sample load --json ...` in-process (so dating.today can be moved)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HARDENING_DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(sample_app, ["load", "--json", *args])
    finally:
        mp.undo()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def human_load(fresh_db: Callable[[str], URL]) -> tuple[Town, subprocess.CompletedProcess[str]]:
    """The committed sample loaded today through the real command, as a person runs it."""
    url = fresh_db("live_today")
    exe = str(Path(sys.executable).parent / "hardening")
    done = subprocess.run(
        [exe, "sample", "load"], capture_output=True, text=True, env=_env(url), check=False
    )
    assert done.returncode == 0, done.stderr
    return Town(url, {}), done


@pytest.fixture(scope="module")
def today_town(human_load: tuple[Town, subprocess.CompletedProcess[str]]) -> Town:
    return human_load[0]


@pytest.fixture(scope="module")
def earlier_town(fresh_db: Callable[[str], URL]) -> Town:
    url = fresh_db("live_earlier")
    day = date.today() - timedelta(weeks=EARLIER_WEEKS)
    return Town(url, _cli_json(url, "--as-of", day.isoformat()))


def _rows(url: URL, sql: str) -> dict[Any, Any]:
    with psycopg.connect(libpq_conninfo(url)) as conn:
        return {row[0]: row[1] for row in conn.execute(sql).fetchall()}


def _one(url: URL, sql: str) -> Any:
    with psycopg.connect(libpq_conninfo(url)) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_week_shift_keeps_the_weekday_and_never_dates_the_future() -> None:
    for offset in range(-20, 800, 3):
        day = REFERENCE_DATE + timedelta(days=offset)
        shift = dating.week_shift(day)
        assert shift % 7 == 0
        town_day = REFERENCE_DATE + timedelta(days=shift)
        assert town_day.weekday() == REFERENCE_DATE.weekday()
        assert 0 <= (day - town_day).days < 7


def test_every_date_column_of_the_sample_is_moved(owner_conn: Connection) -> None:
    """DATED names every date and timestamp column the sample fills, no more, no less."""
    typed = owner_conn.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('date', 'timestamp with time zone', "
            "'timestamp without time zone')"
        )
    ).all()
    in_schema = {(t, c) for t, c in typed}
    filled = {(s.name, c) for s in SPECS for c in s.columns if (s.name, c) in in_schema}
    dated = {(t, c) for t, cols in dating.DATED.items() for c in cols}
    assert filled == dated


def test_shifting_moves_every_dated_value_by_the_shift() -> None:
    sources = file_sources(PROJECT_ROOT / "sample_data")
    moved = dating.shift_sources(file_sources(PROJECT_ROOT / "sample_data"), 35)
    for before, after in zip(sources, moved, strict=True):
        kinds = dating.DATED.get(before.spec.name, {})
        cols = before.spec.columns
        for old, new in zip(before.rows, after.rows, strict=True):
            for name, a, b in zip(cols, old, new, strict=True):
                kind = kinds.get(name)
                if kind is None or a is None:
                    assert a == b
                elif kind == "date":
                    assert date.fromisoformat(b) - date.fromisoformat(a) == timedelta(days=35)
                else:
                    x, y = datetime.fromisoformat(a), datetime.fromisoformat(b)
                    if kind == "local":  # the wall clock moves by whole days
                        x, y = (v.astimezone(LONDON).replace(tzinfo=None) for v in (x, y))
                    assert y - x == timedelta(days=35)


def test_two_load_days_give_dates_shifted_by_the_difference(
    today_town: Town, earlier_town: Town
) -> None:
    gap = dating.week_shift(date.today()) - dating.week_shift(
        date.today() - timedelta(weeks=EARLIER_WEEKS)
    )
    assert gap == 7 * EARLIER_WEEKS
    assert earlier_town.report["dating"]["shift_days"] == dating.week_shift(
        date.today() - timedelta(weeks=EARLIER_WEEKS)
    )
    checks = {
        "SELECT work_order_id, due_at AT TIME ZONE 'Europe/London' FROM work_orders": True,
        "SELECT marker_id, review_due FROM safe_markers": False,
        "SELECT source_ref, occurred_at FROM incidents": True,
        "SELECT visit_id, visited_on FROM visits": False,
        "SELECT plan_id, review_due FROM protection_plans": False,
        "SELECT session_id, delivered_on FROM training_sessions": False,
        "SELECT line_id || ':' || status, valid_from FROM county_line_status": False,
    }
    for sql in checks:
        now, then = _rows(today_town.url, sql), _rows(earlier_town.url, sql)
        assert now.keys() == then.keys() and now
        assert {now[k] - then[k] for k in now} == {timedelta(days=gap)}, sql


def test_a_fresh_load_looks_like_this_week(today_town: Town) -> None:
    url, today = today_town.url, date.today()
    now = datetime.now(LONDON)
    town_day = _one(url, "SELECT reference_date + shift_days FROM sample_dating")
    assert 0 <= (today - town_day).days < 7 and town_day.weekday() == REFERENCE_DATE.weekday()
    assert _one(url, "SELECT max(occurred_at) FROM incidents") <= now  # nothing in the future
    late = _one(url, "SELECT max(occurred_at) FROM incidents")
    assert now - late < timedelta(days=8)
    open_list = ", ".join(f"'{s}'" for s in OPEN)
    due = list(
        _rows(
            url, f"SELECT work_order_id, due_at FROM work_orders WHERE status IN ({open_list})"
        ).values()
    )
    soon = [d for d in due if now <= d <= now + timedelta(days=7)]
    overdue = [now - d for d in due if d < now]
    assert soon, "no open work order due in the next days"
    assert overdue and max(overdue) < timedelta(days=60), "overdue by months or years"
    scheduled = _one(
        url,
        "SELECT count(*) FROM work_orders WHERE status = 'scheduled' AND scheduled_start "
        "BETWEEN now() AND now() + interval '14 days'",
    )
    assert scheduled > 0  # the operatives have work this week and next
    reviews = list(
        _rows(
            url,
            "SELECT marker_id, review_due FROM safe_markers WHERE status = 'active' "
            "AND expires_on >= current_date",
        ).values()
    )
    near = [d for d in reviews if abs((d - today).days) <= 14]
    assert near and min(reviews) >= today - timedelta(days=120)
    visits_due = list(_rows(url, "SELECT visit_id, review_due FROM visits").values())
    assert min(visits_due) >= today - timedelta(days=30)
    in_force = _one(
        url,
        "SELECT bool_and(EXISTS (SELECT 1 FROM sharing_agreements a WHERE a.org_id = o.org_id "
        "AND current_date BETWEEN a.starts_on AND a.ends_on)) FROM organisations o",
    )
    assert in_force


def test_the_cli_says_its_summary_once(
    human_load: tuple[Town, subprocess.CompletedProcess[str]],
) -> None:
    done = human_load[1]
    both = done.stdout + done.stderr
    assert both.count("inserted 20,000") == 1  # the addresses line of the summary
    assert both.count("training_sessions") == 1
    assert done.stdout.startswith("source: ") and "dated to: " in done.stdout
    assert "loading the sample from" in done.stderr and "inserted" not in done.stderr


def test_a_later_load_keeps_the_first_dating_and_changes_nothing(
    today_town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _one(today_town.url, "SELECT shift_days FROM sample_dating")
    monkeypatch.setattr(dating, "today", lambda: date.today() + timedelta(days=40))
    again = _cli_json(today_town.url)
    assert again["dating"]["shift_days"] == before and again["dating"]["kept_from_earlier_load"]
    assert all(c["inserted"] == c["updated"] == 0 for c in again["tables"].values())
    runner = CliRunner()
    mp = pytest.MonkeyPatch()
    mp.setenv("HARDENING_DATABASE_URL", today_town.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        later = (date.today() + timedelta(days=40)).isoformat()
        refused = runner.invoke(sample_app, ["load", "--as-of", later])
    finally:
        mp.undo()
        get_settings.cache_clear()
    assert refused.exit_code == 1
    assert "holds the sample dated to" in str(refused.exception or refused.output)


def test_a_sample_loaded_before_dating_keeps_its_dates(
    fresh_db: Callable[[str], URL],
) -> None:
    """A database that got the sample before loads were dated (as generated): a dated load
    records shift 0 and changes nothing, and says how to date it afresh."""
    url = fresh_db("live_legacy")
    engine = app_role_engine(url, pool_size=1)
    try:
        with transaction(engine, Actor.system()) as conn:
            load(conn, generated_sources(generate(1200, 9)))
    finally:
        engine.dispose()
    again = _cli_json(url, "--addresses", "1200", "--seed", "9")
    assert again["dating"]["shift_days"] == 0 and again["dating"]["kept_from_earlier_load"]
    assert all(c["inserted"] == c["updated"] == 0 for c in again["tables"].values())
    assert _one(url, "SELECT shift_days FROM sample_dating") == 0
