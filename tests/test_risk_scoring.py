"""Scoring on the hand-built street: explanations add up to the score, runs are deterministic,
protection lowers the score, and an event re-scores exactly the addresses it can influence."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text
from test_risk_town import (
    AREA,
    AS_OF,
    DWELLINGS,
    EXPECTED,
    UPRN,
    XY,
    build_town,
    insert_incident,
    install,
)

from hardening.errors import NotFoundError
from hardening.risk import scoring
from hardening.risk.incremental import rescore_after, within
from hardening.risk.model import DEFAULT_MODEL, Model, save, sigmoid

M = DEFAULT_MODEL.version


def scores(conn: Connection) -> dict[int, tuple[float, str, Any]]:
    rows = conn.execute(
        text(
            "SELECT uprn, score, band, computed_at FROM risk_scores WHERE model_version = :m "
            "AND area_id = :a"
        ),
        {"m": M, "a": AREA},
    )
    return {int(u): (float(s), str(b), at) for u, s, b, at in rows}


def test_scores_every_dwelling_with_model_version_and_time(app_conn: Connection) -> None:
    build_town(app_conn)
    result = scoring.score(app_conn, "addresses", AREA, AS_OF)
    got = scores(app_conn)
    assert set(got) == {UPRN[d] for d in DWELLINGS}
    assert {at for _, _, at in got.values()} == {result.computed_at}
    assert sum(result.bands.values()) == len(DWELLINGS) == result.scored
    run = app_conn.execute(
        text("SELECT model_version, as_of, mode FROM risk_runs WHERE run_id = :r"),
        {"r": result.run_id},
    ).one()
    assert tuple(run) == (M, AS_OF, "full")
    # each score is the model applied to the worked-out factor values
    for d in DWELLINGS:
        values = {name: per.get(d, 0.0) for name, per in EXPECTED.items()}
        expected = 100 * sigmoid(DEFAULT_MODEL.logit(values))
        assert got[UPRN[d]][0] == pytest.approx(expected, abs=1e-4), d
        assert got[UPRN[d]][1] == DEFAULT_MODEL.band(expected)


def test_explanations_add_up_to_the_score_logit(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    rows = app_conn.execute(
        text(
            "SELECT s.score, e.contributions FROM risk_scores s JOIN risk_explanations e "
            "USING (uprn, model_version) WHERE s.area_id = :a"
        ),
        {"a": AREA},
    ).all()
    assert len(rows) == len(DWELLINGS)
    for score, contributions in rows:
        logit = DEFAULT_MODEL.intercept + sum(contributions.values())
        assert math.isclose(math.log(score / (100 - score)), logit, abs_tol=1e-9)
        assert 100 / (1 + math.exp(-logit)) == pytest.approx(score, abs=1e-9)


def test_scoring_is_deterministic(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    first = {u: s[:2] for u, s in scores(app_conn).items()}
    explanations: dict[int, Any] = dict(
        app_conn.execute(text("SELECT uprn, contributions FROM risk_explanations")).all()
    )
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    assert {u: s[:2] for u, s in scores(app_conn).items()} == first
    assert (
        dict(app_conn.execute(text("SELECT uprn, contributions FROM risk_explanations")).all())
        == explanations
    )


def test_a_full_rescore_rewrites_only_the_explanations_that_changed(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    where = "SELECT uprn, ctid::text, contributions FROM risk_explanations WHERE model_version = :m"
    before = {int(u): (c, e) for u, c, e in app_conn.execute(text(where), {"m": M})}
    install(app_conn, UPRN["D"], "spy_hole")
    again = scoring.score(app_conn, "addresses", AREA, AS_OF)
    after = {int(u): (c, e) for u, c, e in app_conn.execute(text(where), {"m": M})}
    assert set(after) == set(before)
    # D's explanation gained its door term and is a new row version; the others stayed put
    assert (
        after[UPRN["D"]][1]["protection_door"] < 0 and after[UPRN["D"]][0] != before[UPRN["D"]][0]
    )
    assert {u: v for u, v in after.items() if u != UPRN["D"]} == {
        u: v for u, v in before.items() if u != UPRN["D"]
    }
    # every score names the run that computed it, changed or not
    assert {at for _, _, at in scores(app_conn).values()} == {again.computed_at}


def test_a_protective_measure_lowers_the_score(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    before = scores(app_conn)
    measure = install(app_conn, UPRN["D"], "spy_hole")
    _, rescored = rescore_after(app_conn, "measure", measure, as_of=AS_OF)
    assert rescored == [UPRN["D"]]
    after = scores(app_conn)
    assert after[UPRN["D"]][0] < before[UPRN["D"]][0]
    expected = DEFAULT_MODEL.coefficient("protection_door") * 0.5
    logit = [math.log(s / (100 - s)) for s in (before[UPRN["D"]][0], after[UPRN["D"]][0])]
    assert logit[1] - logit[0] == pytest.approx(expected, abs=1e-6)
    assert {u: v for u, v in after.items() if u != UPRN["D"]} == {
        u: v for u, v in before.items() if u != UPRN["D"]
    }


def test_a_block_measure_rescores_the_whole_block(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    measure = install(app_conn, UPRN["K"], "cctv_repair")
    _, rescored = rescore_after(app_conn, "measure", measure, as_of=AS_OF)
    assert rescored == sorted(UPRN[f] for f in ("F1", "F2", "F3"))


def test_an_incident_rescores_exactly_the_addresses_in_its_radius(app_conn: Connection) -> None:
    build_town(app_conn)
    full = scoring.score(app_conn, "addresses", AREA, AS_OF)
    point = (XY["A"][0] + 150, XY["A"][1] - 100)
    incident = insert_incident(app_conn, "new", "drug_dealing", point=point, days=2)
    run, rescored = rescore_after(app_conn, "incident", incident, as_of=AS_OF)
    radius = 400.0  # near repeat's radius, the widest kernel that counts a drug-dealing report
    inside = {UPRN[d] for d in DWELLINGS if math.dist(XY[d], point) <= radius}
    assert set(rescored) == inside and len(inside) >= 3
    assert run.mode == "incremental" and run.cause == {"incident": incident}
    after = scores(app_conn)
    changed = {u for u, (_, _, at) in after.items() if at == run.computed_at}
    assert changed == inside
    assert {u for u, (_, _, at) in after.items() if at == full.computed_at} == set(after) - inside
    # the incremental scores are what a full run gives now
    incremental = {u: after[u][0] for u in inside}
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    assert {u: scores(app_conn)[u][0] for u in inside} == pytest.approx(incremental, abs=1e-9)


def test_an_incident_at_an_address_reaches_its_block(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    incident = insert_incident(app_conn, "f2", "cuckooing", at="F2", days=3)
    _, rescored = rescore_after(app_conn, "incident", incident, as_of=AS_OF)
    flats = {UPRN[f] for f in ("F1", "F2", "F3")}
    near = {UPRN[d] for d in DWELLINGS if math.dist(XY[d], XY["F2"]) <= 400}
    assert set(rescored) == flats | near


def test_an_incident_outside_every_window_rescores_nothing(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    old = insert_incident(app_conn, "old", "drug_dealing", point=XY["A"], days=3000)
    run, rescored = rescore_after(app_conn, "incident", old, as_of=AS_OF)
    assert rescored == [] and run.scored == 0


def test_radius_lookups_use_the_gist_index_under_rls(app_conn: Connection) -> None:
    build_town(app_conn)
    # enough rows that a sequential scan would be the natural choice without the index
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
            "SELECT 7000100000 + g, :a, g || ' Filler Road', 'house', ST_SetSRID(ST_MakePoint("
            ":x + 1000 + (g % 100) * 10, :y + 1000 + (g / 100) * 10), 27700) "
            "FROM generate_series(1, 20000) g"
        ),
        {"a": AREA, "x": XY["A"][0], "y": XY["A"][1]},
    )
    # The shared test database's statistics depend on what other tests committed; pricing out
    # the alternatives makes the plan show whether the index is usable under RLS at all.
    app_conn.execute(text("SET LOCAL enable_seqscan = off"))
    app_conn.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(
        r[0]
        for r in app_conn.execute(
            text(
                "EXPLAIN SELECT uprn, geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 27700) AS d "
                "FROM addresses t WHERE t.property_type NOT IN ('block', 'commercial') "
                "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 27700) LIMIT 1024"
            ),
            {"x": XY["A"][0], "y": XY["A"][1]},
        )
    )
    assert "addresses_geom_gist" in plan
    assert set(within(app_conn, *XY["A"], 320)) == {UPRN["A"], UPRN["B"], UPRN["H"]}
    # more than one KNN batch: the limit grows until the radius is covered
    centre = (XY["A"][0] + 1500, XY["A"][1] + 1500)
    brute = app_conn.execute(
        text(
            "SELECT count(*) FROM addresses WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(:x, "
            ":y), 27700), 250) AND property_type NOT IN ('block', 'commercial')"
        ),
        {"x": centre[0], "y": centre[1]},
    ).scalar_one()
    assert brute > 1024 and len(within(app_conn, *centre, 250)) == brute


def test_unknown_events_and_areas_are_clear_errors(app_conn: Connection) -> None:
    build_town(app_conn)
    with pytest.raises(NotFoundError, match="no incident"):
        rescore_after(app_conn, "incident", 999_999_999, as_of=AS_OF)
    with pytest.raises(NotFoundError, match="unknown area"):
        scoring.score(app_conn, "addresses", "nowhere", AS_OF)
    with pytest.raises(NotFoundError, match="no risk model"):
        scoring.score(app_conn, "addresses", AREA, AS_OF, model_version="fit-nothing")


def test_a_stored_model_scores_with_its_own_coefficients_and_bands(app_conn: Connection) -> None:
    build_town(app_conn)
    only_vulnerability = Model(
        "test-vuln", intercept=-2.0, coefficients={"vulnerability": 2.0}, bands=(10, 40, 60)
    )
    save(app_conn, only_vulnerability)
    scoring.score(app_conn, "addresses", AREA, AS_OF + timedelta(days=1), "test-vuln")
    rows: dict[int, str] = dict(
        app_conn.execute(
            text("SELECT uprn, band FROM risk_scores WHERE model_version = 'test-vuln'")
        ).all()
    )
    assert rows[UPRN["B"]] == "high"  # score 50
    assert {b for u, b in rows.items() if u != UPRN["B"]} == {"medium"}  # score 11.9


def test_the_default_model_is_frozen_under_its_version() -> None:
    """Stored scores name default-v1: changing its coefficients or factor parameters needs a
    new DEFAULT_VERSION (then update this fingerprint)."""
    blob = json.dumps(
        [
            DEFAULT_MODEL.to_params(),
            DEFAULT_MODEL.params("addresses"),
            DEFAULT_MODEL.params("postcodes"),
        ],
        sort_keys=True,
    )
    assert DEFAULT_MODEL.version == "default-v1"
    assert hashlib.sha256(blob.encode()).hexdigest()[:16] == "0103e0e983f9d070"
