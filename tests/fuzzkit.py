"""What the robustness tests share: a throwaway database with the `world.py` partnership and
the API over it, a digest of every row (a refused request changes none), the operations of
the OpenAPI document with their parameters filled, and the Hypothesis settings.

CI runs a fixed, derandomised sample with no example database; set HARDENING_FUZZ_EXAMPLES
(e.g. 500) for a longer local run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from world import World
from world import build as build_world

from hardening.api.app import create_app
from hardening.db.engine import Actor, ensure_database, make_engine, set_actor, transaction
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo
from hardening.geo import GB_LAT, GB_LON
from hardening.security.users import issue_token
from hardening.settings import Settings

TODAY = date.today()


def examples(default: int) -> int:
    return int(os.environ.get("HARDENING_FUZZ_EXAMPLES", default))


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        # Slow examples are expected (a database round trip each); schemathesis's generated
        # requests are large and filtered by design.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- the database and the app ------------------------------------------------------------------
@contextmanager
def dedicated_database(base: URL, suffix: str) -> Iterator[URL]:
    """A migrated database beside the session's test database, dropped afterwards: the tests
    that write at random (or digest every row) keep off the shared one."""
    url = base.set(database=f"{base.database}_{suffix}")

    def drop() -> None:
        conninfo = libpq_conninfo(url.set(database="postgres"))
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    drop()
    ensure_database(Settings(), url)
    migrate(url)
    try:
        yield url
    finally:
        drop()


def world_app(url: URL) -> tuple[FastAPI, Engine, World]:
    """The API over `url`, the owner engine, and the world committed in it."""
    owner = make_engine(url, pool_size=2)
    with owner.begin() as conn:
        set_actor(conn, Actor.system())
        world = build_world(conn)
    settings = Settings(database_url=url.render_as_string(hide_password=False))
    return create_app(settings), owner, world


def bearer(owner: Engine, actor: str) -> dict[str, str]:
    """The Authorization header of a fresh token for a `world` actor."""
    with transaction(owner, Actor.system()) as conn:
        token = issue_token(conn, f"t.{actor.replace('_', '-')}", days=1).token
    return {"Authorization": f"Bearer {token}"}


def actor_for(path: str) -> str:
    """Works are a housing provider's; everything else is tried as a police admin."""
    return "housing_a" if path.startswith("/v1/works") else "admin"


@dataclass
class Fuzz:
    client: TestClient
    owner: Engine
    world: World
    headers: dict[str, dict[str, str]]
    spec: dict[str, Any]

    def as_for(self, path: str) -> dict[str, str]:
        return self.headers[actor_for(path)]


def snapshot(owner: Engine) -> dict[str, str]:
    """Every row of every table (count and digest); not auth_context, which records who acts
    in each transaction (this one's too) rather than data."""
    with transaction(owner, Actor.system()) as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('spatial_ref_sys', 'auth_context') ORDER BY 1"
            )
        ).scalars()
        union = " UNION ALL ".join(
            f"SELECT '{t}', count(*) || ':' || coalesce(md5(string_agg(r::text, '|' "
            f"ORDER BY r::text)), '') FROM \"{t}\" r"
            for t in tables
        )
        return {name: digest for name, digest in conn.execute(text(union)).all()}


def assert_refused(fuzz: Fuzz, before: dict[str, str], response: Any, what: object) -> None:
    """A 4xx with the API's JSON error body, and not one row changed."""
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), what
    body = response.json()
    assert isinstance(body["code"], str) and body["code"], (what, body)
    assert isinstance(body["description"], str) and body["description"], (what, body)
    assert snapshot(fuzz.owner) == before, (what, "the database changed")


# --- operations, from the OpenAPI document -----------------------------------------------------
def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def schema_types(schema: dict[str, Any]) -> set[str]:
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= schema_types(option)
    return found


def filler(fuzz: Fuzz, name: str) -> str:
    """A plausible value for a required parameter, so the one under test is the fault."""
    lowered = name.lower()
    if "uprn" in lowered:
        return str(fuzz.world.homes_a[0])
    return {
        "reason": "robustness test",
        "area": "test-north",
        "q": "1 Test Street",
        "year": str(TODAY.year),
        "start": TODAY.isoformat(),
        "collectionid": "stations",
        "collection": "stations",
    }.get(lowered, "1")


def request_for(
    fuzz: Fuzz, path: str, op: dict[str, Any], overrides: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """The path with its parameters filled, and the query: required parameters and a reason
    (optional where a token's standing purpose may stand in) filled, `overrides` (by name)
    replacing or adding."""
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        name, where = param["name"], param["in"]
        value = overrides.get(name)
        if where == "path":
            path = path.replace("{" + name + "}", filler(fuzz, name) if value is None else value)
        elif where == "query" and (value is not None or param.get("required") or name == "reason"):
            query[name] = filler(fuzz, name) if value is None else value
    return path, query


# --- geometry ----------------------------------------------------------------------------------
def polygon_ring(
    n: int, lon: float = -3.2, lat: float = 54.1, r: float = 0.01
) -> list[list[float]]:
    """A closed ring of n + 1 points on a circle (lon/lat degrees)."""
    ring = [
        [lon + r * math.cos(2 * math.pi * i / n), lat + r * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    return [*ring, ring[0]]


@st.composite
def gb_box(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """A small lon/lat box inside Great Britain's extent."""
    lon = draw(st.floats(GB_LON[0], GB_LON[1] - 0.2))
    lat = draw(st.floats(GB_LAT[0], GB_LAT[1] - 0.2))
    width, height = draw(st.floats(0.001, 0.2)), draw(st.floats(0.001, 0.2))
    return lon, lat, lon + width, lat + height
