"""The API skeleton: app factory, /healthz, the error map, body limits, one transaction per
request as the bearer token's user, and `hardening serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from test_app_layers import add_partner, delete_partners

from hardening import __version__
from hardening.api.app import create_app
from hardening.api.deps import ConnDep
from hardening.api.settings import ApiSettings
from hardening.db.engine import Actor, transaction
from hardening.db.migrate import known_versions
from hardening.db.urls import libpq_conninfo
from hardening.errors import (
    AuthenticationError,
    ConflictError,
    DatabaseUnavailableError,
    HardeningError,
    NotFoundError,
    PermissionDeniedError,
    UserInputError,
)
from hardening.models import InputModel
from hardening.security.users import issue_token
from hardening.settings import PROJECT_ROOT, Settings

NOWHERE = "postgresql://nobody@127.0.0.1:1/nowhere"  # port 1: refused at once
API_ORG, API_AREA, ADMIN = "test-api-org", "test-api-area", "test-api.admin"


@pytest.fixture
def client(test_db_url: URL) -> Iterator[TestClient]:
    """No token: what needs none (health, OpenAPI, routing errors) is checked with this."""
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="module")
def admin(app_engine: Engine) -> Iterator[tuple[Actor, dict[str, str]]]:
    """A police admin whose agreement covers one area, and the header with their token."""
    with transaction(app_engine, Actor.system()) as conn:
        conn.execute(
            text(
                "INSERT INTO areas (area_id, name, geom) VALUES (:a, 'Test API area', "
                "ST_Multi(ST_MakeEnvelope(600000, 300000, 601000, 301000, 27700)))"
            ),
            {"a": API_AREA},
        )
        actor = add_partner(conn, API_ORG, "police", ["markers"], [API_AREA], {ADMIN: ("admin",)})
        token = issue_token(conn, ADMIN, days=1).token
    try:
        yield actor[ADMIN], {"Authorization": f"Bearer {token}"}
    finally:
        with transaction(app_engine, Actor.system()) as conn:
            delete_partners(conn, [API_ORG])
            conn.execute(text("DELETE FROM areas WHERE area_id = :a"), {"a": API_AREA})


@pytest.fixture
def down_client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=NOWHERE))) as c:
        yield c


# --- health ------------------------------------------------------------------------------------
def test_healthz_ok_reports_postgis_and_migrations(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["version"] == __version__
    assert body["migrations"]["applied"] == sorted(known_versions())
    assert body["migrations"]["pending"] == []


def test_healthz_says_database_unreachable(down_client: TestClient) -> None:
    response = down_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy" and body["database"] == "unreachable"
    assert "database unreachable" in body["reason"] and "refused" in body["reason"].lower()


def test_healthz_times_out_with_a_reason(test_db_url: URL) -> None:
    # A database that accepts the TCP connection but never answers: a listening socket
    # that is never accepted from.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        app = create_app(
            Settings(database_url=f"postgresql://nobody@127.0.0.1:{port}/x"),
            ApiSettings(health_timeout_s=0.5),
        )
        with TestClient(app) as c:
            started = time.monotonic()
            response = c.get("/healthz")
            assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["reason"] == "no answer from the database within 0.5 s"


@pytest.fixture
def bare_database(test_db_url: URL) -> Iterator[URL]:
    """An empty database on the test server: no PostGIS, no migrations."""
    url = test_db_url.set(database=f"{test_db_url.database}_bare")
    admin = libpq_conninfo(test_db_url.set(database="postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}"')
        conn.execute(f'CREATE DATABASE "{url.database}"')
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def test_healthz_says_postgis_missing_then_migrations_pending(bare_database: URL) -> None:
    settings = Settings(database_url=bare_database.render_as_string(hide_password=False))
    with TestClient(create_app(settings)) as c:
        body = c.get("/healthz").json()
        assert body["database"] == "not_ready"
        assert body["reason"] == "PostGIS is not installed in the database"
        with psycopg.connect(libpq_conninfo(bare_database), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        response = c.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    everything = list(known_versions())
    assert body["migrations"]["pending"] == everything
    assert body["reason"].startswith(f"migrations pending: {everything[0]}")
    assert "hardening db migrate" in body["reason"]


# --- errors ------------------------------------------------------------------------------------
def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "description": "Not Found"}


def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    response = client.delete("/v1/layers/stations")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_database_down_is_503_without_internals(down_client: TestClient) -> None:
    # Checking a token needs the database: down, that is a 503 ...
    token = {"Authorization": "Bearer hdn_" + "x" * 43}
    response = down_client.get("/v1/layers/stations", headers=token)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert "127.0.0.1" not in body["description"] and "/healthz" in body["description"]
    # ... while no token at all is refused without asking it.
    assert down_client.get("/v1/layers/stations").status_code == 401


class OddUserError(UserInputError):
    """A subclass nobody registered: it gets its parent's status."""


def _raising_app(test_db_url: URL) -> FastAPI:
    app = create_app()
    cases: dict[str, Exception] = {
        "input": UserInputError("bad thing"),
        "odd": OddUserError("odd thing"),
        "auth": AuthenticationError("no token"),
        "perm": PermissionDeniedError("not yours"),
        "missing": NotFoundError("no such marker"),
        "conflict": ConflictError("stale version"),
        "db": DatabaseUnavailableError("connection to 10.0.0.5 refused"),
        "domain": HardeningError("secret detail"),
        "bug": RuntimeError("secret traceback detail"),
    }
    for name, exc in cases.items():
        app.add_api_route(f"/raise/{name}", _raiser(exc))
    return app


def _raiser(exc: Exception) -> Callable[[], None]:
    def raise_it() -> None:
        raise exc

    return raise_it


@pytest.mark.parametrize(
    ("name", "status", "code", "description"),
    [
        ("input", 400, "invalid_input", "bad thing"),
        ("odd", 400, "invalid_input", "odd thing"),
        ("auth", 401, "unauthenticated", "no token"),
        ("perm", 403, "forbidden", "not yours"),
        ("missing", 404, "not_found", "no such marker"),
        ("conflict", 409, "conflict", "stale version"),
        ("db", 503, "database_unavailable", None),
        ("domain", 500, "internal_error", "internal server error"),
        ("bug", 500, "internal_error", "internal server error"),
    ],
)
def test_error_map(
    test_db_url: URL, name: str, status: int, code: str, description: str | None
) -> None:
    with TestClient(_raising_app(test_db_url), raise_server_exceptions=False) as c:
        response = c.get(f"/raise/{name}")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert "secret" not in body["description"] and "10.0.0.5" not in body["description"]
    if description is not None:
        assert body["description"] == description
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


# --- request bodies ----------------------------------------------------------------------------
class Payload(InputModel):
    a: float


def _echo_app(limit: int) -> FastAPI:
    app = create_app(api_settings=ApiSettings(max_body_bytes=limit))

    @app.post("/echo")
    def echo(payload: Payload) -> Payload:
        return payload

    return app


def test_oversized_declared_body_is_413_json(test_db_url: URL) -> None:
    with TestClient(_echo_app(1000)) as c:
        response = c.post("/echo", content=b"{" + b" " * 2000 + b"}")
        assert response.status_code == 413
        assert response.json()["code"] == "content_too_large"
        # Also on a route that never reads a body, before anything else runs.
        response = c.post("/v1/layers/stations", content=b"x" * 2000)
        assert response.status_code == 413
        assert c.post("/echo", json={"a": 1.5}).json() == {"a": 1.5}


def test_oversized_chunked_body_is_413_json(test_db_url: URL) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": 1' + b" " * 600
        yield b" " * 600 + b"}"

    with TestClient(_echo_app(1000)) as c:
        response = c.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {
        "code": "content_too_large",
        "description": "request body larger than 1000 bytes",
    }


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_in_a_body_are_422(test_db_url: URL, number: bytes) -> None:
    with TestClient(_echo_app(1000)) as c:
        response = c.post(
            "/echo", content=b'{"a": ' + number + b"}", headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


def test_malformed_json_body_is_422(test_db_url: URL) -> None:
    with TestClient(_echo_app(1000)) as c:
        response = c.post("/echo", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422


# --- one transaction per request ---------------------------------------------------------------
def test_request_runs_in_one_transaction_as_the_actor(
    test_db_url: URL, owner_engine: Engine, admin: tuple[Actor, dict[str, str]]
) -> None:
    actor, token = admin
    app = create_app()

    @app.get("/whoami")
    def whoami(conn: ConnDep) -> dict[str, str]:
        row = conn.execute(
            text(
                "SELECT current_user, (SELECT username FROM users WHERE user_id = app_user_id()), "
                "app_user_id()::text, app_org_id(), array_to_string(app_roles(), ','), "
                "txid_current()"
            )
        ).one()
        again = conn.execute(text("SELECT txid_current()")).scalar_one()
        return {
            "role": row[0],
            "actor": row[1],
            "user_id": row[2],
            "org_id": row[3],
            "roles": row[4],
            "same_tx": str(row[5] == again),
        }

    @app.post("/write-then-fail")
    def write_then_fail(conn: ConnDep) -> None:
        conn.execute(
            text(
                "INSERT INTO organisations (org_id, name, kind) "
                "VALUES ('t-api-rollback', 'T API rollback', 'other')"
            )
        )
        raise ConflictError("changed my mind")

    with TestClient(app, headers=token) as c:
        assert c.get("/whoami").json() == {
            "role": "hardening_app",
            "actor": ADMIN,
            "user_id": str(actor.user_id),
            "org_id": API_ORG,
            "roles": "admin",
            "same_tx": "True",
        }
        assert c.post("/write-then-fail").status_code == 409
        assert c.get("/whoami", headers={"Authorization": "Bearer nope"}).status_code == 401
    with owner_engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM organisations WHERE org_id = 't-api-rollback'")
        ).scalar_one()
    assert left == 0


def test_a_failed_commit_is_an_error_response_not_a_200(
    test_db_url: URL, owner_engine: Engine, admin: tuple[Actor, dict[str, str]]
) -> None:
    # addresses.parent_uprn is checked at COMMIT (deferred), after the route has returned:
    # the transaction must end before the response is sent, so the client hears of it.
    app = create_app()
    returned: list[bool] = []

    @app.post("/orphan")
    def orphan(conn: ConnDep) -> dict[str, str]:
        # An admin may write addresses in their agreement's area: the INSERT itself passes.
        conn.execute(
            text(
                "INSERT INTO addresses (uprn, parent_uprn, area_id, full_address, property_type,"
                " geom) VALUES (981000000001, 981000000999, :area, '1 Orphan Row', 'flat', "
                "ST_SetSRID(ST_MakePoint(600500, 300500), 27700))"
            ),
            {"area": API_AREA},
        )
        returned.append(True)
        return {"status": "written"}

    with TestClient(app, raise_server_exceptions=False, headers=admin[1]) as c:
        response = c.post("/orphan")
    assert returned == [True]  # the route ran to the end; the commit failed
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    with owner_engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM addresses WHERE uprn = 981000000001")
        ).scalar_one()
    assert left == 0


# --- OpenAPI -----------------------------------------------------------------------------------
def test_openapi_lists_health_and_v1_layers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["version"] == __version__
    assert "/healthz" in spec["paths"]
    for layer in ("stations", "cctv", "anpr", "address-density", "roads", "areas"):
        assert f"/v1/layers/{layer}" in spec["paths"]
    cell = next(
        p
        for p in spec["paths"]["/v1/layers/address-density"]["get"]["parameters"]
        if p["name"] == "cell"
    )
    assert cell["schema"]["minimum"] == 50 and cell["schema"]["maximum"] == 5000
    # Errors are documented as they are sent: ErrorBody JSON, not GeoJSON, not FastAPI's own.
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    responses = spec["paths"]["/v1/layers/stations"]["get"]["responses"]
    assert responses["200"]["content"].keys() == {"application/geo+json"}
    for status in ("400", "422", "500", "503"):
        assert responses[status]["content"] == error_body
    health_503 = spec["paths"]["/healthz"]["get"]["responses"]["503"]["content"]
    assert health_503["application/json"]["schema"]["$ref"] == "#/components/schemas/Health"
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    # Every /v1 and OGC data operation asks for the bearer token (or HTTP Basic with an API
    # token as the password); health, the OGC landing page, conformance and API description
    # do not.
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["components"]["securitySchemes"]["HTTPBasic"]["scheme"] == "basic"
    bearer: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"HTTPBasic": []}]
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            assert operation.get("security") == (
                bearer if path.startswith(("/v1/", "/ogc/collections")) else None
            ), path


# --- hardening serve ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_hardening_serve_runs_the_factory(test_db_url: URL, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    cli = Path(sys.executable).with_name("hardening")
    proc = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),  # HARDENING_DATABASE_URL points at the test database
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
    assert "hardening.api.app:create_app" in (tmp_path / "serve.log").read_text()
    # named, not "auto": it would not have started without them (uvicorn[standard])
    assert "(httptools, uvloop)" in (tmp_path / "serve.log").read_text()


def test_serve_refuses_a_bad_port() -> None:
    cli = Path(sys.executable).with_name("hardening")
    result = subprocess.run(
        [str(cli), "serve", "--port", "70000"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "65535" in result.stderr
