"""HTTP Basic with an API token as the password, and tokens with a standing purpose
(sql/026): what QGIS, GDAL and other clients that cannot send a bearer token or a reason need.

Against the API in-process on a database of this module's own (wrong tries are committed)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from own_db import own_database
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from typer.testing import CliRunner
from world import POLICE, World

from hardening.api.app import create_app
from hardening.cli import app as cli_app
from hardening.db.engine import Actor, transaction
from hardening.errors import AuthenticationError, UserInputError
from hardening.security.users import add_user, issue_token, sign_in
from hardening.settings import Settings, get_settings

PASSWORD = "correct horse battery"
MARKERS = "/ogc/collections/safe-markers/items"
VISITS = "/ogc/collections/visits/items"


@pytest.fixture(scope="module")
def db(test_db_url: URL) -> Iterator[tuple[URL, Engine, World]]:
    with own_database(test_db_url, "tokens") as found:
        yield found


@pytest.fixture(scope="module")
def client(db: tuple[URL, Engine, World]) -> Iterator[TestClient]:
    settings = Settings(database_url=db[0].render_as_string(hide_password=False))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _system(db: tuple[URL, Engine, World]) -> Any:
    return transaction(db[1], Actor.system())


def basic(username: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def audit_rows(owner: Engine, username: str) -> list[Any]:
    with owner.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT a.justification, a.object_type FROM audit_log a JOIN users u "
                    "ON u.user_id = a.actor_user_id WHERE u.username = :u "
                    "AND a.action = 'consultation' ORDER BY audit_id"
                ),
                {"u": username},
            ).all()
        )


def test_basic_takes_the_users_api_token_and_acts_as_them(
    client: TestClient, db: tuple[URL, Engine, World]
) -> None:
    with _system(db) as conn:
        token = issue_token(conn, "t.planner", days=1).token
        other = issue_token(conn, "t.control-room", days=1).token
    listed = client.get("/ogc/collections", headers=basic("t.planner", token))
    assert listed.status_code == 200
    ids = {c["id"] for c in listed.json()["collections"]}
    assert "cctv-sites" in ids and "safe-markers" not in ids  # the planner's view, not more
    # Another user's token under this name: refused, never acting as either.
    wrong = client.get("/ogc/collections", headers=basic("t.planner", other))
    assert wrong.status_code == 401
    assert "API token" in wrong.json()["description"]
    # Basic also reaches routes that authenticate each of their own transactions.
    assert client.get(
        "/v1/tiles/cctv/0/0/0.pbf", headers=basic("t.planner", token)
    ).status_code in (
        200,
        204,
    )


def test_an_account_password_is_never_accepted_over_basic(
    client: TestClient, db: tuple[URL, Engine, World]
) -> None:
    with _system(db) as conn:
        add_user(conn, "basic-pw", POLICE, ["analyst"], PASSWORD)
    assert sign_in(db[1], "basic-pw", PASSWORD).username == "basic-pw"  # the password is right
    refused = client.get("/ogc/collections", headers=basic("basic-pw", PASSWORD))
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    # Nor is a sign-in session's token (the map's): only API tokens.
    session = sign_in(db[1], "basic-pw", PASSWORD).credential
    assert session is not None
    assert client.get("/ogc/collections", headers=basic("basic-pw", session)).status_code == 401


def test_wrong_basic_tries_lock_the_account_like_sign_in(
    client: TestClient, db: tuple[URL, Engine, World]
) -> None:
    with _system(db) as conn:
        add_user(conn, "basic-guess", POLICE, ["analyst"], PASSWORD)
        token = issue_token(conn, "basic-guess", days=1).token
    for i in range(5):
        guess = client.get("/ogc/collections", headers=basic("basic-guess", f"hdn_guess{i}"))
        assert guess.status_code == 401
    locked = client.get("/ogc/collections", headers=basic("basic-guess", token))
    assert locked.status_code == 401 and "locked until" in locked.json()["description"]
    with pytest.raises(AuthenticationError, match="locked until"):
        sign_in(db[1], "basic-guess", PASSWORD)  # one guard for both
    # The bearer token itself still works (it cannot be guessed; the guard is on names).
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/ogc/collections", headers=bearer).status_code == 200
    # Unknown users and malformed Basic are 401 with the JSON error body.
    assert client.get("/ogc", headers=basic("nobody-here", token)).status_code == 200  # open
    nobody = client.get("/ogc/collections", headers=basic("nobody-here", token))
    assert nobody.status_code == 401
    garbled = client.get("/ogc/collections", headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 401 and "code" in garbled.json()


def test_a_right_try_clears_the_count(client: TestClient, db: tuple[URL, Engine, World]) -> None:
    with _system(db) as conn:
        add_user(conn, "basic-slip", POLICE, ["analyst"], PASSWORD)
        token = issue_token(conn, "basic-slip", days=1).token
    for _ in range(2):
        for i in range(4):
            assert client.get("/ogc", headers=basic("basic-slip", f"x{i}")).status_code == 200
            slip = client.get("/ogc/collections", headers=basic("basic-slip", f"x{i}"))
            assert slip.status_code == 401
        assert client.get("/ogc/collections", headers=basic("basic-slip", token)).status_code == 200


def test_a_purpose_bound_token_reads_markers_audited_with_its_purpose(
    client: TestClient, db: tuple[URL, Engine, World]
) -> None:
    purpose = "Operation Hearth, ref 123"
    with _system(db) as conn:
        bound = issue_token(conn, "t.control-room", days=1, purpose=purpose).token
        plain = issue_token(conn, "t.control-room", days=1).token
    before = len(audit_rows(db[1], "t.control-room"))
    read = client.get(MARKERS, headers=basic("t.control-room", bound))
    assert read.status_code == 200 and len(read.json()["features"]) == 2
    rows = audit_rows(db[1], "t.control-room")
    assert [r.justification for r in rows[before:]] == [purpose]
    # A per-request reason still wins over the standing purpose.
    told = client.get(MARKERS, params={"reason": "call 42"}, headers=basic("t.control-room", bound))
    assert told.status_code == 200
    assert audit_rows(db[1], "t.control-room")[-1].justification == "call 42"
    # Tiles too (the bearer form of the same token).
    tile = client.get("/v1/tiles/markers/0/0/0.pbf", headers={"Authorization": f"Bearer {bound}"})
    assert tile.status_code in (200, 204)
    assert audit_rows(db[1], "t.control-room")[-1].justification == purpose
    # Visits (the world's two, north and south) as an OGC layer, audited the same way.
    visits = client.get(VISITS, headers=basic("t.control-room", bound))
    assert visits.status_code == 200
    assert {f["properties"]["subject_type"] for f in visits.json()["features"]} == {
        "cuckooed_occupant"
    }
    assert len(visits.json()["features"]) == 2
    assert "subject_ref" not in visits.json()["features"][0]["properties"]
    assert audit_rows(db[1], "t.control-room")[-1][:] == (purpose, "visit")
    # A token without a purpose still needs a reason per request, and nothing is logged.
    count = len(audit_rows(db[1], "t.control-room"))
    for path in (MARKERS, VISITS):
        refused = client.get(path, headers=basic("t.control-room", plain))
        assert refused.status_code == 400 and "reason" in refused.json()["description"]
    assert len(audit_rows(db[1], "t.control-room")) == count
    # /v1 reads take the purpose too (a control room look-up, a visits list), and a too-short
    # reason is still refused.
    bearer = {"Authorization": f"Bearer {bound}"}
    assert client.get("/v1/markers", headers=bearer).status_code == 200
    assert client.get("/v1/visits", headers=bearer).status_code == 200
    assert audit_rows(db[1], "t.control-room")[-1][:] == (purpose, "visit")
    assert client.get("/v1/visits", params={"reason": "x"}, headers=bearer).status_code == 422
    assert client.get("/v1/visits", headers={"Authorization": f"Bearer {plain}"}).status_code == 400
    # Housing staff are not offered visits, purpose or not.
    with _system(db) as conn:
        housing = issue_token(conn, "t.housing-a", days=1, purpose=purpose).token
    assert client.get(VISITS, headers=basic("t.housing-a", housing)).status_code == 404


@pytest.mark.parametrize(
    ("purpose", "words"),
    [("ab", "3 to 500"), ("x" * 501, "3 to 500"), ("Op\nX", "control characters")],
)
def test_bad_purposes_are_refused(db: tuple[URL, Engine, World], purpose: str, words: str) -> None:
    with pytest.raises(UserInputError, match=words), _system(db) as conn:
        issue_token(conn, "t.analyst", days=1, purpose=purpose)


def test_cli_issues_a_purpose_bound_token(
    db: tuple[URL, Engine, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARDENING_DATABASE_URL", db[0].render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["users", "token", "t.visit-team", "--purpose", "Operation X, ref 9", "--days", "2"]
        done = runner.invoke(cli_app, [*args, "--json"])
        assert done.exit_code == 0, done.output
        bad = runner.invoke(cli_app, ["users", "token", "t.visit-team", "--purpose", "ab"])
        assert bad.exit_code == 1 and "3 to 500" in bad.output
    finally:
        get_settings.cache_clear()
    with db[1].connect() as conn:
        purposes = conn.execute(
            text(
                "SELECT t.purpose FROM api_tokens t JOIN users u USING (user_id) "
                "WHERE u.username = 't.visit-team'"
            )
        ).scalars()
        assert list(purposes) == ["Operation X, ref 9"]


def test_httpx_basic_auth_is_what_clients_send(client: TestClient) -> None:
    # What `curl -u`, GDAL and QGIS send: the header httpx builds from a (user, password) pair.
    header = httpx.BasicAuth("t.planner", "hdn_x").auth_flow(httpx.Request("GET", "http://h/"))
    request = next(header)
    assert request.headers["Authorization"] == basic("t.planner", "hdn_x")["Authorization"]


def test_a_refused_basic_try_leaves_no_actor_or_purpose(
    service_engine: Engine, owner_engine: Engine, world: World
) -> None:
    """On the service's own login: a good token, then a wrong Basic try in the same
    transaction, acts as nobody afterwards (as a refused bearer token does, sql/024)."""
    with transaction(owner_engine, Actor.system()) as conn:
        token = issue_token(conn, "t.analyst", days=1, purpose="Operation Y, ref 7").token
    with service_engine.begin() as conn:
        conn.execute(text("SELECT * FROM app_authenticate(:t)"), {"t": token})
        assert conn.execute(text("SELECT app_purpose()")).scalar_one() == "Operation Y, ref 7"
        wrong = conn.execute(
            text("SELECT outcome FROM app_authenticate_basic('t.analyst', 'hdn_nope')")
        ).scalar_one()
        assert wrong == "wrong"
        assert conn.execute(text("SELECT app_user_id(), app_purpose()")).one() == (None, None)
        conn.rollback()
