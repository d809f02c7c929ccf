"""The connection budget (docs/capacity.md): heavy work over its share is 503 with Retry-After
and the API's JSON body, never 500, while look-ups keep answering; a solve holds no
connection; one user cannot take every heavy slot. No timings here (bench_mixed.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL
from world import NORTH, World

from hardening.api.app import create_app
from hardening.api.heavy import Budget, Heavy
from hardening.api.settings import ApiSettings
from hardening.coverage import api as coverage_api
from hardening.coverage.cctv import CctvInputs, CctvParams, solve_cctv
from hardening.errors import OverloadedError

PLAN = {"area": NORTH, "new_sites": 1, "time_limit_s": 1}
LIGHT = "/v1/layers/stations"  # a control-room look-up on the main pool


def bearer(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def small(**kw: Any) -> ApiSettings:
    return ApiSettings(**{"solver_processes": 0, "retry_after_s": 7, **kw})


@pytest.fixture
def app_and_client(test_db_url: URL, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    settings: ApiSettings = getattr(request, "param", small(heavy_in_flight=1, heavy_per_user=1))
    with TestClient(create_app(api_settings=settings), raise_server_exceptions=False) as c:
        yield c


def heavy_of(client: TestClient) -> Heavy:
    heavy: Heavy = client.app.state.heavy  # type: ignore[attr-defined]
    return heavy


def assert_busy(response: httpx.Response, retry: str = "7") -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == retry
    body: dict[str, Any] = response.json()
    assert body["code"] == "overloaded" and body["description"]
    return body


def test_budget_counts_per_user_and_in_all() -> None:
    budget = Budget(in_flight=3, per_user=2, retry_after_s=9)
    with budget.admit(1), budget.admit(1):
        with pytest.raises(OverloadedError, match="per user") as caught, budget.admit(1):
            pass
        assert caught.value.retry_after_s == 9
        with budget.admit(2), pytest.raises(OverloadedError, match="busy"), budget.admit(3):
            pass
    assert budget.busy == 0  # released on the way out, errors included
    with budget.admit(1), budget.admit(1):
        pass


def test_saturated_heavy_work_is_503_while_lookups_answer(
    app_and_client: TestClient, tokens: dict[str, str], world: World
) -> None:
    client = app_and_client
    with heavy_of(client).budget.admit(world.actors["analyst"].user_id):  # the one slot taken
        assert_busy(client.post("/v1/plans/cctv", json=PLAN, headers=bearer(tokens, "planner")))
        busy = client.get("/v1/reports/kpi", params={"year": 2025},
                          headers=bearer(tokens, "visit_team"))  # fmt: skip
        assert_busy(busy)
        assert client.get(LIGHT, headers=bearer(tokens, "control_room")).status_code == 200
    # The slot is free again: the same plan is made.
    done = client.post("/v1/plans/cctv", json=PLAN, headers=bearer(tokens, "planner"))
    assert done.status_code == 200, done.text
    assert done.json()["kind"] == "cctv"


def test_exhausted_heavy_pool_is_503_not_500(test_db_url: URL, tokens: dict[str, str]) -> None:
    settings = small(heavy_pool_size=1, heavy_pool_timeout_s=0.2)
    app = create_app(api_settings=settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        taken = heavy_of(client).engine.connect()  # the heavy pool's one connection
        try:
            response = client.post("/v1/plans/cctv", json=PLAN, headers=bearer(tokens, "planner"))
            body = assert_busy(response, retry="5")
            assert "connection" in body["description"]
            assert client.get(LIGHT, headers=bearer(tokens, "control_room")).status_code == 200
        finally:
            taken.close()


@pytest.mark.parametrize(
    "app_and_client", [small(heavy_in_flight=5, heavy_per_user=1)], indirect=True
)
def test_one_user_at_a_time_and_no_connection_held_while_solving(
    app_and_client: TestClient,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real second thread: the planner's first plan is solving (held in its solve step),
    their second is refused for them alone; meanwhile no heavy connection is checked out,
    look-ups and another user's heavy request are answered."""
    client = app_and_client
    heavy = heavy_of(client)
    solving, release = threading.Event(), threading.Event()
    real = solve_cctv

    def held(inputs: CctvInputs, params: CctvParams) -> dict[str, Any]:
        solving.set()
        assert release.wait(60)
        return real(inputs, params)

    monkeypatch.setattr(coverage_api, "solve_cctv", held)
    answers: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(
            client.post("/v1/plans/cctv", json=PLAN, headers=bearer(tokens, "planner"))
        )
    )
    first.start()
    try:
        assert solving.wait(60)
        assert heavy.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        again = client.post("/v1/plans/cctv", json=PLAN, headers=bearer(tokens, "planner"))
        assert "per user" in assert_busy(again)["description"]
        assert client.get(LIGHT, headers=bearer(tokens, "control_room")).status_code == 200
        other = client.get("/v1/reports/kpi", params={"year": 2025},
                           headers=bearer(tokens, "analyst"))  # fmt: skip
        assert other.status_code == 200, other.text
    finally:
        release.set()
        first.join(60)
    assert answers and answers[0].status_code == 200, answers[0].text if answers else None
    assert heavy.budget.busy == 0
