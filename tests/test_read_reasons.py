"""Marker-derived facts are read with a reason and an audit row, or not at all (issue 16,
item 3): who to visit next and a team's route, an address's risk score, and work orders (their
escalation and their exports). Partners whose agreement does not cover markers learn nothing of
them; those it covers must say why, and the audit log names the action and the object."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from test_visits_due import AREA, DAY, _build
from world import NORTH, World

from hardening.api.app import create_app
from hardening.db.engine import Actor, set_actor
from hardening.errors import PermissionDeniedError, UserInputError
from hardening.features.export import export
from hardening.risk import scoring
from hardening.risk.explain import explain
from hardening.visits.due import who_to_visit_next
from hardening.visits.route import day_list
from hardening.works import board, orders

WHY = "planning Tuesday's visits"


def _partner(conn: Connection, org: str, classes: list[str], roles: tuple[str, ...]) -> Actor:
    """An organisation whose agreement covers `classes` in the due-list test area."""
    conn.execute(text("INSERT INTO organisations VALUES (:o, :o, 'other')"), {"o": org})
    agreement = conn.execute(
        text(
            "INSERT INTO sharing_agreements (org_id, title, data_classes, starts_on, ends_on, "
            "review_on) VALUES (:o, 't', :c, current_date - 1, current_date + 30, "
            "current_date + 30) RETURNING agreement_id"
        ),
        {"o": org, "c": classes},
    ).scalar_one()
    conn.execute(text("INSERT INTO agreement_areas VALUES (:a, :area)"), {"a": agreement,
                 "area": AREA})  # fmt: skip
    user_id = conn.execute(
        text(
            "INSERT INTO users (org_id, username, display_name, roles) "
            "VALUES (:o, :u, :u, :r) RETURNING user_id"
        ),
        {"o": org, "u": f"t.{org}", "r": list(roles)},
    ).scalar_one()
    return Actor(user_id=user_id, org_id=org, roles=roles)


def _audit_rows(conn: Connection, object_type: str, after: int) -> list[Any]:
    """Audit rows of the object type appended after audit row `after` (other tests
    commit rows of their own)."""
    set_actor(conn, Actor.system())
    return list(
        conn.execute(
            text(
                "SELECT action, object_type, object_id, justification, details, actor_user_id "
                "FROM audit_log WHERE object_type = :t AND audit_id > :s ORDER BY audit_id"
            ),
            {"t": object_type, "s": after},
        )
    )


def _head(conn: Connection) -> int:
    """The newest audit row now (read as the system; the actor is set back after)."""
    set_actor(conn, Actor.system())
    return int(conn.execute(text("SELECT coalesce(max(audit_id), 0) FROM audit_log")).scalar_one())


# --- who to visit next and the day's route ------------------------------------------------------
def test_partners_without_markers_learn_of_no_marker(app_conn: Connection, world: World) -> None:
    homes = _build(app_conn)  # h3: a marker due review; h1: a plan visit due
    recovery = _partner(app_conn, "t-recovery", ["visits", "referrals"], ("visit_team",))
    fire = _partner(app_conn, "t-fire", ["markers", "aggregates_only"], ("control_room",))
    set_actor(app_conn, recovery)
    cases = who_to_visit_next(app_conn, DAY, area=AREA, reason=WHY)
    assert [(c.uprn, c.reasons) for c in cases] == [(homes["h1"], ["plan_visit_due"])]
    route = day_list(app_conn, DAY, area=AREA, max_stops=5, reason=WHY)
    shown = route.stops + route.left_out
    assert [c.uprn for c in shown] == [homes["h1"]]
    assert "marker_review_due" not in str(route)
    # a fire control room holds markers but not visits: who to visit next is not for it
    for actor in (fire, world.actors["housing_a"], world.actors["planner"]):
        set_actor(app_conn, actor)
        with pytest.raises(PermissionDeniedError, match="covers visits"):
            who_to_visit_next(app_conn, DAY, area=AREA, reason=WHY)
        with pytest.raises(PermissionDeniedError):
            day_list(app_conn, DAY, area=AREA, reason=WHY)
    # the police visit team, whose agreement covers markers, sees the review due at h3
    set_actor(app_conn, world.actors["visit_team"])
    police = {c.uprn: c.reasons for c in who_to_visit_next(app_conn, DAY, area=AREA, reason=WHY)}
    assert police[homes["h3"]] == ["marker_review_due"]


def test_a_due_list_or_route_needs_a_reason_and_is_audited(
    app_conn: Connection, world: World
) -> None:
    homes = _build(app_conn)
    marker = app_conn.execute(
        text("SELECT marker_id FROM safe_markers WHERE uprn = :u"), {"u": homes["h3"]}
    ).scalar_one()
    head = _head(app_conn)
    actor = world.actors["visit_team"]
    set_actor(app_conn, actor)
    for none in (None, "", "  ", "x"):
        with pytest.raises(UserInputError, match="reason is required"):
            who_to_visit_next(app_conn, DAY, area=AREA, reason=none)
        with pytest.raises(UserInputError, match="reason is required"):
            day_list(app_conn, DAY, area=AREA, reason=none)
    assert _audit_rows(app_conn, "visits_due", head) == []
    set_actor(app_conn, actor)
    cases = who_to_visit_next(app_conn, DAY, area=AREA, reason=WHY)
    (row,) = _audit_rows(app_conn, "visits_due", head)
    assert (row.action, row.object_type, row.justification) == ("consultation", "visits_due", WHY)
    assert row.actor_user_id == actor.user_id
    assert row.details["uprns"] == [c.uprn for c in cases]
    assert row.details["marker_ids"] == [marker] and row.details["on"] == DAY.isoformat()
    set_actor(app_conn, actor)
    route = day_list(app_conn, DAY, area=AREA, max_stops=2, reason="route for Tuesday")
    (row,) = _audit_rows(app_conn, "visit_route", head)
    assert (row.action, row.justification) == ("consultation", "route for Tuesday")
    routed = [c.uprn for c in route.stops + route.left_out]
    assert sorted(row.details["uprns"]) == sorted(routed) and row.details["town"] == AREA
    assert row.details["marker_ids"] == ([marker] if homes["h3"] in routed else [])
    assert "marker_ids" not in str(route)  # the ids go to the audit log, not the answer


@pytest.fixture(scope="module")
def api(test_db_url: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def test_due_and_route_over_http(api: TestClient, tokens: dict[str, str], world: World) -> None:
    police = {"Authorization": f"Bearer {tokens['visit_team']}"}
    for path in ("/v1/visits/due", "/v1/visits/route"):
        missing = api.get(path, headers=police)  # the token has no standing purpose
        assert missing.status_code == 400 and "reason" in missing.text
        short = api.get(path, params={"reason": "x"}, headers=police)
        assert short.status_code == 422
        assert api.get(path, params={"reason": WHY}, headers=police).status_code == 200
        for role in ("housing_a", "health", "planner"):
            other = {"Authorization": f"Bearer {tokens[role]}"}
            refused = api.get(path, params={"reason": WHY}, headers=other)
            assert refused.status_code == 403, (role, path)
            assert "marker" not in refused.text
    spec = api.get("/openapi.json").json()["paths"]
    for path in ("/v1/visits/due", "/v1/visits/route"):
        params = {p["name"]: p for p in spec[path]["get"]["parameters"]}
        # Optional in the schema (a token's standing purpose stands in), but documented.
        assert "standing purpose" in params["reason"]["description"]
        assert "audit" in spec[path]["get"]["description"]


# --- risk scores --------------------------------------------------------------------------------
def test_a_risk_score_is_read_with_a_reason_and_audited(app_conn: Connection, world: World) -> None:
    scoring.score(app_conn, "addresses", NORTH)
    head = _head(app_conn)
    home = world.homes_a[1]  # a cuckooing report and a marker in the world
    police = world.actors["control_room"]
    set_actor(app_conn, police)
    with pytest.raises(UserInputError, match="reason is required"):
        explain(app_conn, home)
    assert _audit_rows(app_conn, "risk_explanation", head) == []
    set_actor(app_conn, police)
    view = explain(app_conn, home, "call from a neighbour")
    assert view["detail"] == "factors" and "score" in view
    (row,) = _audit_rows(app_conn, "risk_explanation", head)
    assert (row.action, row.object_id, row.justification) == (
        "consultation",
        str(home),
        "call from a neighbour",
    )
    # housing: its own home's band, no score and no factor, and no reason asked
    set_actor(app_conn, world.actors["housing_a"])
    band = explain(app_conn, home)
    assert band["detail"] == "band" and "score" not in band and "contributions" not in band


# --- work orders --------------------------------------------------------------------------------
def _marked_order(conn: Connection, world: World) -> int:
    """An order raised now at homes_a[1], where an active marker stands (it starts escalated)."""
    set_actor(conn, world.actors["housing_a"])
    return int(orders.create(conn, world.homes_a[1], "spy_hole").work_order_id)


def test_a_provider_learns_that_an_alert_stands_not_that_it_is_a_marker(
    app_conn: Connection, world: World
) -> None:
    order = _marked_order(app_conn, world)
    got = orders.get(app_conn, order)
    assert got.priority == "emergency" and got.escalated_at is not None
    assert got.escalation_reason == "alert"
    seen = [orders.list_orders(app_conn, "t-housing-a"), board.queue(app_conn, "t-housing-a")]
    assert "marker" not in str(seen) and "cuckooing" not in str(seen)
    set_actor(app_conn, world.actors["analyst"])  # police read markers with a reason instead
    assert orders.get(app_conn, order).escalation_reason == "alert"


def test_work_order_exports_need_a_reason_and_are_audited(
    app_conn: Connection, world: World, tmp_path: Path
) -> None:
    head = _head(app_conn)
    order = _marked_order(app_conn, world)
    out = tmp_path / "orders.geojson"
    for who in ("housing_a", "analyst"):
        set_actor(app_conn, world.actors[who])
        with pytest.raises(UserInputError, match="reason is required"):
            export(app_conn, "work-orders", "geojson", out)
    read = [r for r in _audit_rows(app_conn, "work_order", head) if r.action == "consultation"]
    assert not out.exists() and read == []  # (raising the order was audited: 'collection')
    set_actor(app_conn, world.actors["housing_a"])
    done = export(app_conn, "work-orders", "geojson", out, reason="contractor hand-over")
    assert done.features >= 1
    (row,) = [r for r in _audit_rows(app_conn, "work_order", head) if r.action == "consultation"]
    assert (row.justification, row.details["collection"]) == (
        "contractor hand-over",
        "work-orders",
    )
    assert order in row.details["ids"]
