"""Each risk factor on the hand-built street: known distances and ages give known values;
absent data drops a factor out and says so."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import Connection, text
from test_risk_town import AREA, AS_OF, DWELLINGS, EXPECTED, UPRN, UPRN_NAME, X0, Y0, build_town

from hardening.risk import factors as fx
from hardening.risk import scoring
from hardening.risk.events import Selector
from hardening.risk.model import DEFAULT_MODEL
from hardening.risk.worktables import UnitScope


def factor_values(conn: Connection) -> dict[str, dict[str, float]]:
    """risk_fv as {factor: {dwelling name: value}}."""
    rows = conn.execute(text(f"SELECT unit_id, {', '.join(fx.NAMES)} FROM risk_fv")).all()
    return {
        name: {UPRN_NAME[int(r[0])]: float(r[1 + i]) for r in rows}
        for i, name in enumerate(fx.NAMES)
    }


@pytest.fixture
def values(app_conn: Connection) -> dict[str, dict[str, float]]:
    build_town(app_conn)
    scoring.tune(app_conn)
    n, absent, _ = scoring.prepare(app_conn, DEFAULT_MODEL, UnitScope("addresses", AREA), AS_OF)
    assert n == len(DWELLINGS)  # the block itself is not scored
    assert absent == {}
    return factor_values(app_conn)


@pytest.mark.parametrize("name", fx.NAMES)
def test_factor_has_its_known_value_at_every_dwelling(
    values: dict[str, dict[str, float]], name: str
) -> None:
    expected = {d: EXPECTED[name].get(d, 0.0) for d in DWELLINGS}
    got = values[name]
    assert set(got) == set(DWELLINGS)
    wrong = {
        d: (got[d], v) for d, v in expected.items() if not math.isclose(got[d], v, abs_tol=1e-9)
    }
    assert wrong == {}


def test_every_factor_is_documented_and_signed() -> None:
    for factor in fx.FACTORS:
        assert len(factor.doc) > 30 and factor.label, factor.name
        assert factor.sign in (1, -1)
        assert (factor.aggregate is None) != (factor.inline is None), factor.name
        assert factor.sign * DEFAULT_MODEL.coefficient(factor.name) > 0, factor.name
    protective = {f.name for f in fx.FACTORS if f.sign < 0}
    assert protective == {f.name for f in fx.FACTORS if f.measure_factor}


def test_absent_data_drops_a_factor_out_and_is_reported(app_conn: Connection) -> None:
    build_town(app_conn, visits=False, measures=False)
    app_conn.execute(text("DELETE FROM transport_hubs WHERE hub_key = 'rail:RTT'"))
    result = scoring.score(app_conn, "addresses", AREA, AS_OF)
    assert set(result.absent) == {
        "vulnerability",
        "transport",
        "protection_door",
        "protection_entry",
        "protection_cctv",
        "protection_lighting",
        "protection_notice",
    }
    assert result.absent["vulnerability"] == "no data in its window"
    contributions = app_conn.execute(
        text("SELECT contributions FROM risk_explanations WHERE uprn = :u AND model_version = :m"),
        {"u": UPRN["A"], "m": DEFAULT_MODEL.version},
    ).scalar_one()
    assert "transport" not in contributions and "prior_here" in contributions
    run = app_conn.execute(
        text("SELECT absent_factors FROM risk_runs WHERE run_id = :r"), {"r": result.run_id}
    ).scalar_one()
    assert set(run) == set(result.absent)


def test_postcode_units_report_address_factors_as_not_applying(app_conn: Connection) -> None:
    build_town(app_conn)
    app_conn.execute(
        text(
            "INSERT INTO postcode_units (postcode, area_id, geom) VALUES "
            "('RT1 1AA', :a, ST_SetSRID(ST_MakePoint(:x, :y), 27700)), "
            "('RT1 1AB', :a, ST_SetSRID(ST_MakePoint(:x, :y), 27700)), "
            "('RT1 1AD', :a, ST_SetSRID(ST_MakePoint(:x + 2000, :y), 27700))"
        ),
        {"a": AREA, "x": X0, "y": Y0},
    )
    result = scoring.score(app_conn, "postcodes", AREA, AS_OF)
    assert result.scored == 2  # two postcodes stacked on one point are one unit
    assert result.absent["vulnerability"] == "does not apply to postcodes"
    assert "prior_here" not in result.absent  # the cuckooing at A snaps to RT1 1AA/AB
    rows: dict[str, float] = dict(
        app_conn.execute(
            text("SELECT postcode, score FROM risk_postcode_scores WHERE area_id = :a"),
            {"a": AREA},
        ).all()
    )
    assert rows["RT1 1AA"] == rows["RT1 1AB"] > rows["RT1 1AD"]


def test_selectors_match_in_sql_and_python_alike() -> None:
    selector = Selector.parse({"all": True}).excluding(Selector.parse({"categories": ["asb"]}))
    assert selector.matches("violence", None, "incident")
    assert not selector.matches("asb", "Anti-social behaviour", "incident")
    by_type = Selector.parse({"crime_types": ["Drugs"], "kinds": ["incident"]})
    assert by_type.matches("drug_possession", "Drugs", "incident")
    assert not by_type.matches("drug_possession", "Drugs", "intelligence")
    with pytest.raises(Exception, match="unknown incident categories"):
        Selector.parse({"categories": ["jaywalking"]})


@pytest.mark.parametrize(
    ("installed", "status", "removed", "protects"),
    [
        ("2024-05-01", "working", None, True),
        ("2024-07-01", "working", None, False),  # installed after the scoring date
        ("2024-01-01", "removed", "2024-09-01", True),  # removed only after the scoring date
        ("2024-01-01", "removed", "2024-03-01", False),
        (None, "removed", None, False),  # removed, date unknown: absent
    ],
)
def test_a_camera_protects_only_while_it_was_in_service(
    app_conn: Connection, installed: str | None, status: str, removed: str | None, protects: bool
) -> None:
    build_town(app_conn)
    app_conn.execute(
        text(
            "UPDATE cctv_sites SET installed_on = CAST(:i AS date), status = :s, "
            "removed_on = CAST(:r AS date) WHERE source = 'rt' AND source_ref = 'cam1'"
        ),
        {"i": installed, "s": status, "r": removed},
    )
    scoring.tune(app_conn)
    scoring.prepare(app_conn, DEFAULT_MODEL, UnitScope("addresses", AREA), AS_OF)
    assert factor_values(app_conn)["protection_cctv"]["A"] == (1.0 if protects else 0.0)
