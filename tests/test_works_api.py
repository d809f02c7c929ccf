"""The works router on create_app() with bearer tokens: end to end, a completed door-chain order
lowers the address's score. It commits, so it uses a home of its own (not the world's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from world import HOUSING_A, NORTH

from hardening.api.app import create_app
from hardening.db.engine import Actor, transaction
from hardening.risk.incremental import rescore
from hardening.risk.model import load
from hardening.works.api import router

HOME = 5_000_990_001


@pytest.fixture(scope="module")
def client(test_db_url: object) -> Iterator[TestClient]:
    app = create_app()
    app.include_router(router, prefix="/v1")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _score(engine: Engine) -> float:
    with transaction(engine, Actor.system()) as conn:
        model = load(conn)
        rescore(conn, model, [HOME], datetime.now(UTC), {"test": "works"})
        value = conn.execute(
            text("SELECT score FROM risk_scores WHERE uprn = :u AND model_version = :m"),
            {"u": HOME, "m": model.version},
        ).scalar_one()
    return float(value)


def test_completing_a_door_chain_lowers_the_score(
    client: TestClient, tokens: dict[str, str], app_engine: Engine
) -> None:
    with transaction(app_engine, Actor.system()) as conn:
        conn.execute(
            text(
                "INSERT INTO addresses (uprn, area_id, full_address, property_type, tenure, "
                "provider_org_id, geom) VALUES (:u, :a, '1 Works Test Road', 'house', "
                "'social_rented', :p, ST_SetSRID(ST_MakePoint(421500, 521500), 27700))"
            ),
            {"u": HOME, "a": NORTH, "p": HOUSING_A},
        )
    before = _score(app_engine)
    a = {"Authorization": f"Bearer {tokens['housing_a']}"}
    b = {"Authorization": f"Bearer {tokens['housing_b']}"}
    res = client.post("/v1/works/orders", json={"uprn": HOME, "measure_code": "door_chain"},
                      headers=a)  # fmt: skip
    assert res.status_code == 201, res.text
    order = res.json()
    oid = order["work_order_id"]
    assert client.get(f"/v1/works/orders/{oid}", headers=b).status_code == 404
    assert client.post("/v1/works/orders", json={"uprn": HOME, "measure_code": "spy_hole"},
                       headers=b).status_code == 404  # fmt: skip
    assert all(o["provider_org_id"] == HOUSING_A
               for o in client.get("/v1/works/orders", headers=a).json())  # fmt: skip
    for version, to in ((1, "approved"), (2, "scheduled"), (3, "in_progress")):
        res = client.patch(f"/v1/works/orders/{oid}", json={"version": version, "status": to},
                           headers=a)  # fmt: skip
        assert res.status_code == 200, res.text
    stale = client.patch(f"/v1/works/orders/{oid}", json={"version": 3, "status": "completed"},
                         headers=a)  # fmt: skip
    assert stale.status_code == 409
    done = client.patch(
        f"/v1/works/orders/{oid}",
        json={"version": 4, "status": "completed", "cost_pence": 2800},
        headers=a,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["cost_pence"] == 2800
    with transaction(app_engine, Actor.system()) as conn:
        installed = conn.execute(
            text("SELECT installed_on FROM installed_measures WHERE work_order_id = :w"),
            {"w": oid},
        ).scalar_one()
    assert installed == date.today()
    assert _score(app_engine) < before
    recs = client.get("/v1/works/recommendations", headers=a)
    assert recs.status_code == 200
    assert not any(r["uprn"] == HOME and r["measure_code"] == "door_chain" for r in recs.json())
