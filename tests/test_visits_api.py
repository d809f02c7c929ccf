"""The visits and reports routers mounted on create_app(), called with bearer tokens.
Read-only or refused requests only: the shared test database keeps the world as built."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from world import HEALTH, World

from hardening.api.app import create_app
from hardening.reports.api import router as reports_router
from hardening.visits.api import router as visits_router


@pytest.fixture(scope="module")
def client(test_db_url: object) -> Iterator[TestClient]:
    app = create_app()
    app.include_router(visits_router, prefix="/v1")
    app.include_router(reports_router, prefix="/v1")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _as(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_partner_gets_only_its_referrals(client: TestClient, tokens: dict[str, str]) -> None:
    res = client.get(
        "/v1/referrals", params={"reason": "work queue"}, headers=_as(tokens, "health")
    )
    assert res.status_code == 200
    assert res.json() and {r["partner_org_id"] for r in res.json()} == {HEALTH}
    res = client.get("/v1/referrals", params={"reason": "x"}, headers=_as(tokens, "health"))
    assert res.status_code == 422  # a reason of three characters at least
    assert client.get("/v1/referrals", params={"reason": "work queue"}).status_code == 401


def test_recording_is_refused_to_partners(
    client: TestClient, tokens: dict[str, str], world: World
) -> None:
    body = {
        "uprn": world.homes_a[0],
        "visited_on": date.today().isoformat(),
        "team_user_ids": [world.actors["health"].user_id, world.actors["visit_team"].user_id],
        "subject_ref": "SUBJ-0002",
        "subject_type": "other",
    }
    assert client.post("/v1/visits", json=body, headers=_as(tokens, "housing_a")).status_code == 403
    res = client.post(
        "/v1/visits", json={**body, "team_user_ids": [1]}, headers=_as(tokens, "visit_team")
    )
    assert res.status_code == 422


def test_due_lines_and_kpi(client: TestClient, tokens: dict[str, str]) -> None:
    vt = _as(tokens, "visit_team")
    why = {"reason": "planning the week's visits"}
    assert client.get("/v1/visits/due", params=why, headers=vt).status_code == 200
    assert client.get("/v1/visits/due", headers=vt).status_code == 400  # no reason, no purpose
    assert (
        client.get("/v1/visits/route", params={"stops": 99, **why}, headers=vt).status_code == 422
    )
    route = client.get(
        "/v1/visits/route", params={"on": "2025-06-01", "stops": 3, **why}, headers=vt
    )
    assert route.status_code == 200 and {"stops", "left_out", "base", "travel_m"} <= set(
        route.json()
    )
    half = client.get("/v1/visits/route", params={"base_lon": -3.2, **why}, headers=vt)
    assert half.status_code == 400 and "base_lat" in half.text
    swapped = {"base_lon": 54.1, "base_lat": -3.2, **why}  # lat/lon the wrong way round: the sea
    assert client.get("/v1/visits/route", params=swapped, headers=vt).status_code == 400
    assert (
        client.get("/v1/lines/active", params={"on": "2025-06-01"}, headers=vt).status_code == 200
    )
    kpi = client.get("/v1/reports/kpi", params={"year": 2025}, headers=_as(tokens, "analyst"))
    assert kpi.status_code == 202 and kpi.json()["kind"] == "kpi_report"  # tests/test_jobs.py
    refused = client.get("/v1/reports/kpi", params={"year": 2025}, headers=_as(tokens, "health"))
    assert refused.status_code == 403
    missing = client.get("/v1/visits/999999999", params={"reason": "checking"}, headers=vt)
    assert missing.status_code == 404
