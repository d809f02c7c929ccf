"""The schema's own guarantees: migrations are idempotent and geometry CHECKs hold."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from hardening.db.migrate import known_versions, migrate

INSERT_HUB = (
    "INSERT INTO transport_hubs (hub_key, kind, name, geom) "
    "VALUES ('rail:TST', 'rail_station', 'Test', ST_GeomFromEWKT(:g))"
)
INSERT_AREA = (
    "INSERT INTO areas (area_id, name, geom) VALUES ('test-area', 'Test', ST_GeomFromEWKT(:g))"
)


def test_migrate_twice_is_a_no_op(test_db_url: URL, owner_conn: Connection) -> None:
    assert migrate(test_db_url) == []
    recorded = owner_conn.execute(text("SELECT version FROM schema_migrations ORDER BY 1"))
    assert [r[0] for r in recorded] == sorted(known_versions())


def test_databases_are_created_without_jit(app_conn: Connection) -> None:
    # RLS makes cost estimates cross the JIT thresholds on short queries (ensure_database)
    assert app_conn.execute(text("SHOW jit")).scalar_one() == "off"


def test_valid_bng_point_is_accepted(owner_conn: Connection) -> None:
    owner_conn.execute(text(INSERT_HUB), {"g": "SRID=27700;POINT(322000 470000)"})
    count = owner_conn.execute(text("SELECT count(*) FROM transport_hubs")).scalar_one()
    assert count == 1


@pytest.mark.parametrize(
    "ewkt",
    [
        "SRID=27700;POINT EMPTY",  # empty
        "SRID=27700;POINT(-54.2 3.1)",  # lat/lon typed as metres, out of grid
        "SRID=27700;POINT(54.1 -3.2)",  # swapped lat/lon: negative northing
        "SRID=27700;POINT(800000 470000)",  # east of the grid
        "SRID=27700;POINT(322000 1400000)",  # north of the grid
        "SRID=27700;POINT(NaN 470000)",  # NaN
    ],
)
def test_bad_points_are_rejected(owner_conn: Connection, ewkt: str) -> None:
    with (
        pytest.raises(IntegrityError, match=r"bng_geometry_ok|check constraint"),
        owner_conn.begin_nested(),
    ):
        owner_conn.execute(text(INSERT_HUB), {"g": ewkt})


@pytest.mark.parametrize(
    ("x", "y"), [("NaN", "470000"), ("322000", "Infinity"), ("-Infinity", "470000"), ("NaN", "NaN")]
)
def test_non_finite_points_are_rejected(owner_conn: Connection, x: str, y: str) -> None:
    with pytest.raises(IntegrityError), owner_conn.begin_nested():
        owner_conn.execute(
            text(
                "INSERT INTO transport_hubs (hub_key, kind, name, geom) VALUES ('rail:TST', "
                "'rail_station', 'Test', ST_SetSRID(ST_MakePoint(CAST(:x AS float8), "
                "CAST(:y AS float8)), 27700))"
            ),
            {"x": x, "y": y},
        )


@pytest.mark.parametrize(
    "ewkt",
    [
        # bow-tie: self-intersecting ring
        "SRID=27700;MULTIPOLYGON(((320000 470000,321000 471000,321000 470000,"
        "320000 471000,320000 470000)))",
        "SRID=27700;MULTIPOLYGON EMPTY",
        # valid shape but in WGS84 degrees mislabelled as BNG is fine geometrically; this one
        # lies partly south of the grid
        "SRID=27700;MULTIPOLYGON(((320000 -10,321000 -10,321000 100,320000 100,320000 -10)))",
    ],
)
def test_bad_polygons_are_rejected(owner_conn: Connection, ewkt: str) -> None:
    with pytest.raises(IntegrityError), owner_conn.begin_nested():
        owner_conn.execute(text(INSERT_AREA), {"g": ewkt})


def test_wrong_srid_is_rejected(owner_conn: Connection) -> None:
    with pytest.raises(Exception, match="SRID"), owner_conn.begin_nested():
        owner_conn.execute(text(INSERT_HUB), {"g": "SRID=4326;POINT(-3.2 54.1)"})


def test_app_role_is_not_owner_nor_superuser(app_conn: Connection) -> None:
    row = app_conn.execute(
        text(
            "SELECT rolsuper, rolbypassrls, current_user FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    assert row == (False, False, "hardening_app")
    owned = app_conn.execute(
        text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
    ).scalar_one()
    assert owned == 0
