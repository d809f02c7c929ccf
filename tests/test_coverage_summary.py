"""Plans in words against the real PostGIS: sites named by their nearest streets and junctions,
what each site adds, and why fewer sites came back than were asked for. Each test rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from world import NORTH, World

from hardening.coverage.cctv import CctvParams, plan_cctv
from hardening.coverage.summary import UnitCosts, cctv_sentence, place_names
from hardening.db.engine import Actor, set_actor
from hardening.errors import UserInputError

X, Y = 421_500, 521_000  # in the world's north, away from its homes


def _road(conn: Connection, ref: str, name: str | None, x0: float, y0: float, x1: float,
          y1: float) -> None:  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO roads (source_ref, name, road_class, area_id, geom) VALUES (:r, :n, "
            "'residential', :a, ST_SetSRID(ST_MakeLine(ST_MakePoint(:x0, :y0), "
            "ST_MakePoint(:x1, :y1)), 27700))"
        ),
        {"r": ref, "n": name, "a": NORTH, "x0": x0, "y0": y0, "x1": x1, "y1": y1},
    )


def test_places_are_named_by_street_and_junction(owner_conn: Connection, world: World) -> None:
    _road(owner_conn, "t:s-abbey", "Abbey Road", X - 500, Y, X + 500, Y)
    _road(owner_conn, "t:s-hart", "Hartington Street", X, Y - 500, X, Y + 500)
    _road(owner_conn, "t:s-none", None, X - 500, Y + 5, X + 500, Y + 5)
    names = place_names(owner_conn, [(X + 10, Y + 2), (X + 100, Y + 2), (X + 400, Y + 2)])
    assert names == ["Abbey Road at Hartington Street", "Abbey Road, near Hartington Street",
                     "Abbey Road"]  # fmt: skip
    assert place_names(owner_conn, [(X + 2, Y + 100)], own=["Hartington Street"]) == [
        "Hartington Street, near Abbey Road"
    ]
    assert place_names(owner_conn, []) == []


def test_fewer_sites_than_asked_say_why_and_each_site_says_what_it_adds(
    app_conn: Connection, world: World
) -> None:
    set_actor(app_conn, Actor.system())
    app_conn.execute(
        text(
            "INSERT INTO roads (source_ref, name, road_class, area_id, geom) "
            "SELECT 't:s-street', 'Summary Street', 'residential', :a, ST_MakeLine("
            "ST_Translate(ST_Centroid(ST_Collect(geom)), -300, 10), "
            "ST_Translate(ST_Centroid(ST_Collect(geom)), 300, 10)) "
            "FROM addresses WHERE area_id = :a"
        ),
        {"a": NORTH},
    )
    set_actor(app_conn, world.actors["planner"])
    costs = UnitCosts()
    params = CctvParams(new_sites=40, new_cost=costs.new_cctv, repair_cost=costs.cctv_repair)
    plan = plan_cctv(app_conn, NORTH, params)
    assert 1 <= len(plan["chosen"]) < 40
    assert plan["shortfall"].startswith(f"only {len(plan['chosen'])} place(s)")
    # The world's homes stand in a thin line: no site sees 10 of them, so no site's count of
    # homes or its share of the risk is published (a share beside a withheld count gives it away)
    adds = [(c["adds_households"], c["adds_share"]) for c in plan["chosen"]]
    assert adds == [(None, None)] * len(adds)
    # and so are the plan's totals: fewer than 10 homes added, and coverage before and after
    # (and the objective, the weight covered) are about a handful of homes or leave one out
    withheld = ("households_added", "coverage_before", "coverage_after", "objective", "bound")
    assert [plan[k] for k in withheld] == [None] * len(withheld)
    assert plan["greedy"]["objective"] is None
    assert plan["cost"] == len(plan["chosen"]) * costs.new_cctv
    plan["cost_pounds"] = plan["cost"]
    sentence = cctv_sentence(plan, "Test North")
    assert f"for £{plan['cost']:,.0f}" in sentence and "of the risk in Test North" in sentence
    assert "a few more homes (under 10, not published)" in sentence
    enough = plan_cctv(app_conn, NORTH, CctvParams(new_sites=1))
    assert enough["shortfall"] is None
    with pytest.raises(UserInputError):
        UnitCosts(new_cctv=0).check()
