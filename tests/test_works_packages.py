"""Packages of measures against the real PostGIS: door measures combine multiplicatively (two
are worth less than twice one), the best package within a cost cap, unit costs of one's own,
the address shown, and only the provider's own homes. Each test rolled back."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import Connection, text
from world import HOUSING_A, HOUSING_B, NORTH, World

from hardening.db.engine import Actor, set_actor
from hardening.errors import UserInputError
from hardening.risk.model import load, sigmoid
from hardening.works.packages import Option, best_package, combined_logit, packages, reduction


def _scored(conn: Connection, uprn: int, score: float = 70.0) -> None:
    set_actor(conn, Actor.system())
    version = load(conn).version  # the default model (stored if missing; rolled back)
    conn.execute(
        text(
            "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
            "VALUES (:u, :m, :s, 'high', :a)"
        ),
        {"u": uprn, "m": version, "s": score, "a": NORTH},
    )


def _door(code: str, change: float, pence: int) -> Option:
    return Option(code, code, "protection_door", "dwelling", change, pence)


def test_door_measures_combine_multiplicatively() -> None:
    one = -0.8
    two = combined_logit([_door("spy_hole", one, 2500), _door("door_chain", one, 3000)])
    assert two == pytest.approx(1.5 * one)  # 1 - 0.5^2 of the unprotected share, not 2 x 0.5
    three = combined_logit([_door(c, one, 1) for c in ("a", "b", "c")])
    assert three == pytest.approx(1.75 * one)
    z = math.log(70 / 30)
    assert reduction(z, two) < 2 * reduction(z, one)
    assert reduction(z, two) == pytest.approx(100 * (sigmoid(z) - sigmoid(z + 1.5 * one)))


def test_best_package_within_the_cap() -> None:
    z = [math.log(70 / 30)]
    options = [_door("spy_hole", -0.8, 2500), _door("door_chain", -0.8, 3000),
               _door("door_replacement", -0.8, 90000),
               Option("warning_notice", "n", "protection_notice", "dwelling", -0.3, 0)]  # fmt: skip
    cheap, _ = best_package(z, options, 2500)
    assert {o.code for o in cheap} == {"spy_hole", "warning_notice"}
    more, gain = best_package(z, options, 6000)
    assert {o.code for o in more} == {"spy_hole", "door_chain", "warning_notice"}
    assert gain == pytest.approx(reduction(z[0], -0.8 * 1.5 - 0.3), abs=1e-5)
    assert best_package(z, options[:3], 100) == ((), 0.0)


def test_packages_for_a_home_show_its_address_and_the_combined_effect(
    app_conn: Connection, world: World
) -> None:
    home = world.homes_a[8]
    _scored(app_conn, home)
    set_actor(app_conn, world.actors["housing_a"])
    cheap = next(p for p in packages(app_conn, HOUSING_A, 6_000) if p.uprn == home)
    assert cheap.address == "9 Test Street" and cheap.scope == "dwelling"
    assert cheap.cost_pence <= 6_000 and len(cheap.measures) >= 2
    assert 0 < cheap.reduction < cheap.separate  # together worth less than the sum
    rich = next(p for p in packages(app_conn, HOUSING_A, 100_000) if p.uprn == home)
    assert rich.reduction > cheap.reduction and rich.cost_pence > cheap.cost_pence
    # unit costs of one's own: a free spy hole changes what the cap buys
    own = packages(app_conn, HOUSING_A, 6_000, costs={"door_chain": 7_000})
    assert "door_chain" not in next(p for p in own if p.uprn == home).measures
    with pytest.raises(UserInputError):
        packages(app_conn, HOUSING_A, 6_000, costs={"no_such": 1})
    with pytest.raises(UserInputError):
        packages(app_conn, HOUSING_A, 0)
    set_actor(app_conn, world.actors["housing_b"])
    assert all(p.uprn != home for p in packages(app_conn, HOUSING_B, 6_000))
