"""Loading the sample town into PostGIS: idempotent, consistent, and bad input refused.

The sample carries explicit ids (users 1.., visits 1..), so it is loaded into databases of its
own, fresh and migrated, never into the shared test database other tests commit rows to.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from engines import app_role_engine, service_engine_for
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from hardening.db.engine import Actor, ensure_database, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo
from hardening.errors import AuthenticationError, UserInputError
from hardening.markers.lookup import lookup
from hardening.sample.cli import app as sample_app
from hardening.sample.files import file_sources, generated_sources
from hardening.sample.generate import generate
from hardening.sample.loader import load
from hardening.sample.spec import RAIL_STATIONS
from hardening.sample.table import TABLE_NAMES
from hardening.security.users import sign_in
from hardening.settings import PROJECT_ROOT, Settings, get_settings

COMMITTED = PROJECT_ROOT / "sample_data"


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fresh_db(test_db_url: URL) -> Iterator[Callable[[str], URL]]:
    """Makes empty migrated databases beside the test database; drops them afterwards."""
    made: list[URL] = []

    def make(suffix: str) -> URL:
        url = test_db_url.set(database=f"{test_db_url.database}_{suffix}")
        _drop(url)
        ensure_database(Settings(), url)
        migrate(url)
        made.append(url)
        return url

    yield make
    for url in made:
        _drop(url)


@pytest.fixture(scope="module")
def scratch(fresh_db: Callable[[str], URL]) -> URL:
    """An empty database for loads that must fail (and so leave it empty)."""
    return fresh_db("scratch")


def app_engine_for(url: URL) -> Engine:
    return app_role_engine(url, pool_size=1)


def counts(url: URL) -> dict[str, int]:
    with psycopg.connect(libpq_conninfo(url)) as conn:
        return {
            t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])  # type: ignore[index]
            for t in TABLE_NAMES
        }


def hashes(url: URL) -> dict[str, str]:
    with psycopg.connect(libpq_conninfo(url)) as conn:
        return dict(conn.execute("SELECT username, password_hash FROM users").fetchall())


@dataclass
class Loaded:
    url: URL
    reports: list[dict[str, Any]]
    counts: list[dict[str, int]]
    hashes: list[dict[str, str]]


@pytest.fixture(scope="module")
def loaded(fresh_db: Callable[[str], URL]) -> Iterator[Loaded]:
    """The committed sample loaded twice through the CLI, with what each load reported."""
    url = fresh_db("sample")
    mp = pytest.MonkeyPatch()
    mp.setenv("HARDENING_DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    out = Loaded(url, [], [], [])
    try:
        for _ in range(2):
            result = CliRunner().invoke(sample_app, ["load", "--json", "--demo-passwords"])
            assert result.exit_code == 0, result.output
            out.reports.append(json.loads(result.stdout))
            out.counts.append(counts(url))
            out.hashes.append(hashes(url))
    finally:
        mp.undo()
        get_settings.cache_clear()
    yield out


def test_loading_twice_gives_identical_counts(loaded: Loaded) -> None:
    manifest = json.loads((COMMITTED / "manifest.json").read_text())["tables"]
    first, second = loaded.reports
    assert first["seed"] == 42 and first["addresses"] == 20_000
    assert {t: c["inserted"] for t, c in first["tables"].items()} == manifest
    assert loaded.counts[0] == loaded.counts[1] == manifest
    assert all(
        c == {"inserted": 0, "updated": 0, "unchanged": manifest[t]}
        for t, c in second["tables"].items()
    )


def test_demo_users_get_the_demo_password_once(loaded: Loaded) -> None:
    first, second = loaded.hashes
    assert first == second and len(first) >= 15
    assert "demo.control" in first and "demo.housing.harbourlight" in first
    assert all(h.startswith("$2a$12$") for h in first.values())  # bcrypt, by the database
    assert len(set(first.values())) == len(first)  # each with its own salt
    engine = service_engine_for(loaded.url)
    try:
        assert sign_in(engine, "demo.control", "hardening-demo").username == "demo.control"
    finally:
        engine.dispose()


def test_on_a_named_server_demo_users_get_no_password(fresh_db: Callable[[str], URL]) -> None:
    """`sample load` into a database named by HARDENING_DATABASE_URL (maybe production) must
    not create accounts anyone can sign in to with the public demo password."""
    url = fresh_db("nodemo")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HARDENING_DATABASE_URL", url.render_as_string(hide_password=False))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(sample_app, ["load", "--addresses", "1200", "--seed", "9"])
        finally:
            get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "no password on this server" in result.output
    assert set(hashes(url).values()) == {"!"}
    engine = service_engine_for(url)
    try:
        with pytest.raises(AuthenticationError, match="wrong username or password"):
            sign_in(engine, "demo.admin", "hardening-demo")
    finally:
        engine.dispose()


def test_loaded_geography_is_consistent(loaded: Loaded) -> None:
    with psycopg.connect(libpq_conninfo(loaded.url)) as conn:
        q = conn.execute
        for code, _, lat, lon in RAIL_STATIONS:
            row = q(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 4326) g "
                "FROM transport_hubs WHERE hub_key = %s) s",
                (f"rail:{code}",),
            ).fetchone()
            assert row is not None and abs(row[0] - lon) < 1e-5 and abs(row[1] - lat) < 1e-5
        lost = q(
            "SELECT count(*) FROM addresses a JOIN lsoas l USING (lsoa_code) "
            "WHERE NOT ST_DWithin(l.geom, a.geom, 0.5)"
        ).fetchone()
        assert lost == (0,)
        outside = q(
            "SELECT count(*) FROM addresses a JOIN areas r USING (area_id) "
            "WHERE NOT ST_Covers(r.geom, a.geom)"
        ).fetchone()
        assert outside == (0,)
        apart = q(
            "SELECT count(*) FROM addresses f JOIN addresses b ON f.parent_uprn = b.uprn "
            "WHERE NOT ST_Equals(f.geom, b.geom) OR b.property_type <> 'block'"
        ).fetchone()
        assert apart == (0,)
        overlap = q(
            "SELECT count(*) FROM areas a JOIN areas b ON a.area_id < b.area_id "
            "AND ST_Overlaps(a.geom, b.geom)"
        ).fetchone()
        assert overlap == (0,)
        # Drug events per home are far denser within 400 m of the stations than elsewhere.
        near, far = q(
            """
            WITH s AS (SELECT ST_Union(geom) g FROM transport_hubs WHERE kind = 'rail_station'),
            i AS (SELECT ST_DWithin(i.geom, s.g, 400) near FROM incidents i, s
                  WHERE category IN ('drug_dealing', 'drug_possession', 'cuckooing')),
            h AS (SELECT ST_DWithin(a.geom, s.g, 400) near FROM addresses a, s)
            SELECT (SELECT count(*) FILTER (WHERE near) FROM i)::float
                       / (SELECT count(*) FILTER (WHERE near) FROM h),
                   (SELECT count(*) FILTER (WHERE NOT near) FROM i)::float
                       / (SELECT count(*) FILTER (WHERE NOT near) FROM h)
            """
        ).fetchone()  # type: ignore[misc]
        assert near > 2 * far


def test_loaded_works_fit_the_catalogue_and_the_rotas(loaded: Loaded) -> None:
    with psycopg.connect(libpq_conninfo(loaded.url)) as conn:
        q = conn.execute
        unknown = q(
            "SELECT count(*) FROM operatives o, unnest(o.skills) s "
            "WHERE s NOT IN (SELECT skill FROM measures_catalogue)"
        ).fetchone()
        assert unknown == (0,)
        misfits = q(
            """
            SELECT count(*) FROM work_orders w JOIN operatives o USING (operative_id)
            JOIN measures_catalogue m USING (measure_code) JOIN addresses a USING (uprn)
            WHERE w.provider_org_id <> o.provider_org_id
               OR w.provider_org_id IS DISTINCT FROM a.provider_org_id
               OR NOT m.skill = ANY (o.skills)
               OR (m.scope = 'block') <> (a.property_type = 'block')
               OR (w.scheduled_start AT TIME ZONE 'Europe/London')::time < o.work_start
               OR (w.scheduled_end AT TIME ZONE 'Europe/London')::time > o.work_end
               OR NOT extract(isodow FROM w.scheduled_start AT TIME ZONE 'Europe/London')::int
                      = ANY (o.working_days)
            """
        ).fetchone()
        assert misfits == (0,)
        # Every partner's agreement is in force today, so the demo users can see something.
        lapsed = q(
            "SELECT count(*) FROM organisations o WHERE NOT EXISTS (SELECT 1 FROM "
            "sharing_agreements a WHERE a.org_id = o.org_id AND current_date BETWEEN "
            "a.starts_on AND a.ends_on)"
        ).fetchone()
        assert lapsed == (0,)


def test_named_houses_and_blocks_load_and_the_control_room_finds_them_by_name(
    loaded: Loaded,
) -> None:
    """The sample's house names, named blocks and localities land in their columns and the
    name vocabulary; the control room's look-up finds a house by its name alone and a flat by
    its flat and block name, as a caller would say them, with no street or postcode."""
    with psycopg.connect(libpq_conninfo(loaded.url)) as conn:
        q = conn.execute
        named, flats, localities, vocabulary = q(
            "SELECT count(*) FILTER (WHERE building_name IS NOT NULL AND parent_uprn IS NULL), "
            "count(*) FILTER (WHERE building_name IS NOT NULL AND parent_uprn IS NOT NULL), "
            "count(DISTINCT locality), (SELECT count(*) FROM address_name_vocabulary) "
            "FROM addresses"
        ).fetchone()  # type: ignore[misc]
        assert named > 500 and flats > 500 and localities == 3 and vocabulary > 500
        # A house known by its name alone, the only one of that name (the first by name).
        house = q(
            "SELECT building_name, uprn FROM addresses a "
            "WHERE property_type = 'house' AND house_number IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM addresses b WHERE b.building_name = a.building_name "
            "AND b.uprn <> a.uprn) ORDER BY building_name LIMIT 1"
        ).fetchone()
        flat = q(
            "SELECT f.sub_building || ', ' || f.building_name || ', ' || f.town, f.uprn "
            "FROM addresses f JOIN addresses b ON b.uprn = f.parent_uprn "
            "WHERE b.building_name IS NOT NULL AND f.sub_building LIKE 'Apartment %' "
            "ORDER BY f.uprn LIMIT 1"
        ).fetchone()
        user = q(
            "SELECT user_id, org_id, roles FROM users WHERE username = 'demo.control'"
        ).fetchone()
    assert house is not None and flat is not None and user is not None
    actor = Actor(int(user[0]), str(user[1]), tuple(user[2]), "demo.control")
    engine = app_engine_for(loaded.url)
    try:
        for said, uprn in (house, flat):
            with transaction(engine, actor) as conn:
                answer = lookup(conn, reason="caller gave the house's name", q=said)
            assert answer["match"]["status"] == "matched", (said, answer["match"])
            assert answer["address"]["uprn"] == uprn, said
            assert answer["status"] != "not_checked"
    finally:
        engine.dispose()


def test_a_generated_set_loads_and_reloads_unchanged(fresh_db: Callable[[str], URL]) -> None:
    url = fresh_db("generated")
    sample = generate(1200, 9)
    engine = app_engine_for(url)
    try:
        with transaction(engine, Actor.system()) as conn:
            first = load(conn, generated_sources(sample))
        with transaction(engine, Actor.system()) as conn:
            again = load(conn, generated_sources(generate(1200, 9)))
    finally:
        engine.dispose()
    assert {t: c.inserted for t, c in first.items()} == sample.counts() == counts(url)
    assert all(c.unchanged == c.total and c.total > 0 for c in again.values())


def _rewrite(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(edit(lines)) + "\n")


def _break_first_point(lines: list[str]) -> list[str]:
    head, first, *rows = lines
    return [head, first.rsplit("POINT(", 1)[0] + "POINT(nan nan)", *rows]


@pytest.mark.parametrize(
    ("table", "edit", "message"),
    [
        ("lsoas", lambda lines: [lines[0].replace("imd_decile", "imd"), *lines[1:]], "header"),
        ("postcode_units", lambda lines: lines[:-5], "the manifest says"),
        ("roads", lambda lines: [lines[0], lines[1] + ",extra", *lines[2:]], "line 2"),
        ("addresses", _break_first_point, "sample table addresses .*addresses_geom_check"),
    ],
)
def test_a_damaged_sample_is_refused_and_nothing_is_kept(
    scratch: URL,
    tmp_path: Path,
    table: str,
    edit: Callable[[list[str]], list[str]],
    message: str,
) -> None:
    shutil.copytree(COMMITTED, tmp_path / "s")
    _rewrite(tmp_path / "s" / f"{table}.csv.gz", edit)
    engine = app_engine_for(scratch)
    try:
        with (
            pytest.raises(UserInputError, match=message),
            transaction(engine, Actor.system()) as conn,
        ):
            load(conn, file_sources(tmp_path / "s"))
    finally:
        engine.dispose()
    assert set(counts(scratch).values()) == {0}


def test_cli_refuses_bad_options_with_one_line(tmp_path: Path) -> None:
    exe = [str(Path(sys.executable).parent / "hardening")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*exe, "sample", *args], capture_output=True, text=True, check=False)

    missing = run("load", "--dir", str(tmp_path))
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().startswith("error: no sample in")
    both = run("load", "--dir", str(tmp_path), "--addresses", "2000")
    assert both.returncode == 1 and "either --dir or --addresses" in both.stderr
    small = run("generate", "--addresses", "5", "--out", str(tmp_path / "out"))
    assert small.returncode == 1 and "between" in small.stderr
    assert not (tmp_path / "out").exists()
