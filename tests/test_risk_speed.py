"""What the faster full run changed, on the hand-built street: the kernels computed in numpy give
the SQL's values, a re-run replaces scores in place and drops what is no longer scored (in its
area only), and the per-statement reference checks of migration 027 refuse what the foreign keys
refused."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from test_risk_factors import factor_values
from test_risk_town import AREA, AS_OF, DWELLINGS, EXPECTED, UPRN, build_town

from hardening.db.engine import Actor, set_actor
from hardening.risk import kernels, scoring
from hardening.risk.model import DEFAULT_MODEL
from hardening.risk.worktables import UnitScope

M = DEFAULT_MODEL.version
KERNELS = ("near_repeat", "drug_market", "transport")  # computed in numpy in a full run


def _values(
    conn: Connection, min_units: int, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, float]]:
    monkeypatch.setattr(kernels, "MIN_UNITS", min_units)
    savepoint = conn.begin_nested()
    try:
        scoring.prepare(conn, DEFAULT_MODEL, UnitScope("addresses", AREA), AS_OF)
        return factor_values(conn)
    finally:
        savepoint.rollback()


def test_numpy_kernels_give_the_sql_values(
    app_conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_town(app_conn)
    in_sql = _values(app_conn, 10**9, monkeypatch)
    in_numpy = _values(app_conn, 0, monkeypatch)
    flat = {(f, d): v for f, per in in_sql.items() for d, v in per.items()}
    assert {(f, d): v for f, per in in_numpy.items() for d, v in per.items()} == pytest.approx(
        flat, abs=1e-12
    )
    for name in KERNELS:
        assert any(in_numpy[name].values())  # the street has events within both radii
        for d in DWELLINGS:
            assert math.isclose(in_numpy[name][d], EXPECTED[name].get(d, 0.0), abs_tol=1e-9), d


def _rows(conn: Connection) -> dict[int, tuple[Any, ...]]:
    return {
        int(r[0]): tuple(r[1:])
        for r in conn.execute(
            text(
                "SELECT s.uprn, s.score, s.computed_at, e.contributions FROM risk_scores s "
                "LEFT JOIN risk_explanations e USING (uprn, model_version) "
                "WHERE s.model_version = :m AND s.area_id = :a"
            ),
            {"m": M, "a": AREA},
        )
    }


def test_a_rerun_replaces_scores_in_place_and_drops_the_unscored(app_conn: Connection) -> None:
    build_town(app_conn)
    first = scoring.score(app_conn, "addresses", AREA, AS_OF)
    before = _rows(app_conn)
    assert set(before) == {UPRN[d] for d in DWELLINGS}
    gone = UPRN[DWELLINGS[0]]
    app_conn.execute(
        text("UPDATE addresses SET property_type = 'commercial' WHERE uprn = :u"), {"u": gone}
    )
    again = scoring.score(app_conn, "addresses", AREA, AS_OF)
    after = _rows(app_conn)
    assert set(after) == set(before) - {gone}
    assert again.scored == first.scored - 1
    assert {at for _, at, _ in after.values()} == {again.computed_at}
    assert all(after[u][0] == before[u][0] and after[u][2] == before[u][2] for u in after)
    orphans = app_conn.execute(
        text(
            "SELECT count(*) FROM risk_explanations e WHERE NOT EXISTS (SELECT 1 FROM "
            "risk_scores s WHERE s.uprn = e.uprn AND s.model_version = e.model_version)"
        )
    ).scalar_one()
    assert orphans == 0


def _refused(conn: Connection, sql: str, params: dict[str, Any], says: str) -> None:
    savepoint = conn.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        conn.execute(text(sql), params)
    savepoint.rollback()
    assert getattr(caught.value.orig, "sqlstate", None) == "23503"  # foreign_key_violation
    assert says in str(caught.value.orig)


def test_references_are_checked_as_the_foreign_keys_did(app_conn: Connection) -> None:
    build_town(app_conn)
    home = 7_000_009_999  # a dwelling nothing else refers to
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, tenure, geom) "
            "SELECT :n, area_id, 'New House, ' || full_address, 'house', tenure, geom "
            "FROM addresses WHERE uprn = :u"
        ),
        {"n": home, "u": UPRN["H"]},
    )
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    score = (
        "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
        "VALUES (:u, :m, 1, 'low', :a)"
    )
    _refused(app_conn, score, {"u": 1, "m": M, "a": AREA}, "address 1 is not present")
    _refused(app_conn, score, {"u": UPRN["K"], "m": "no-such-model", "a": AREA}, "model")
    _refused(app_conn, score, {"u": UPRN["K"], "m": M, "a": "no-such-area"}, "area")
    _refused(
        app_conn,
        "INSERT INTO risk_explanations (uprn, model_version, contributions, area_id) "
        "VALUES (:u, :m, '{}', :a)",
        {"u": UPRN["K"], "m": M, "a": AREA},
        "no score of address",
    )
    _refused(
        app_conn, "DELETE FROM addresses WHERE uprn = :u", {"u": home}, "still named by risk scores"
    )
    # nothing above changed anything; deleting a score deletes its explanation
    assert len(_rows(app_conn)) == len(DWELLINGS) + 1
    app_conn.execute(text("DELETE FROM risk_scores WHERE uprn = :u"), {"u": home})
    left = app_conn.execute(
        text("SELECT count(*) FROM risk_explanations WHERE uprn = :u"), {"u": home}
    ).scalar_one()
    assert left == 0
    app_conn.execute(text("DELETE FROM addresses WHERE uprn = :u"), {"u": home})  # now allowed


def test_a_run_of_one_area_keeps_the_scores_of_another(app_conn: Connection) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    moved = UPRN[DWELLINGS[0]]
    app_conn.execute(
        text(
            "INSERT INTO areas VALUES ('elsewhere', 'Elsewhere', "
            "ST_Multi(ST_MakeEnvelope(0, 0, 100, 100, 27700)))"
        )
    )
    for table in ("addresses", "risk_scores"):
        app_conn.execute(
            text(f"UPDATE {table} SET area_id = 'elsewhere' WHERE uprn = :u"), {"u": moved}
        )
    kept = _rows(app_conn)  # the model's scores in AREA, without the moved dwelling's
    again = scoring.score(app_conn, "addresses", AREA, AS_OF)
    after = _rows(app_conn)
    assert set(after) == set(kept) and moved not in after
    assert {at for _, at, _ in after.values()} == {again.computed_at}
    other = app_conn.execute(
        text("SELECT area_id, computed_at FROM risk_scores WHERE uprn = :u AND model_version = :m"),
        {"u": moved, "m": M},
    ).one()
    assert other.area_id == "elsewhere" and other.computed_at != again.computed_at


def _squares(conn: Connection, recount: bool) -> dict[tuple[Any, ...], tuple[int, float, int]]:
    sql = (
        "SELECT s.model_version, k.cell_m, k.ix, k.iy, count(*), sum(s.score), "
        "count(*) FILTER (WHERE s.band IN ('high', 'very_high')) FROM risk_scores s "
        "JOIN addresses a USING (uprn), tile_cells_of(a.geom) k WHERE s.area_id = :a "
        "GROUP BY 1, 2, 3, 4"
        if recount
        else "SELECT model_version, cell_m, ix, iy, n, score_sum, high FROM risk_cells "
        "WHERE area_id = :a AND n > 0"
    )
    rows = conn.execute(text(sql), {"a": AREA})
    return {tuple(r[:4]): (int(r[4]), round(float(r[5]), 6), int(r[6])) for r in rows}


def test_a_first_run_counts_its_map_squares_once_at_its_end(
    owner_conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many new scores leave their squares to one count at the end of the run (033): the
    squares are what counting every score gives, after a first run, a re-score and a move."""
    set_actor(owner_conn, Actor.system())
    build_town(owner_conn)
    monkeypatch.setattr(scoring, "SMALL", 0)  # every first run counts as many new scores
    scoring.score(owner_conn, "addresses", AREA, AS_OF)
    squares = _squares(owner_conn, False)
    assert squares == _squares(owner_conn, True)
    assert sum(n for (_, c, _, _), (n, _, _) in squares.items() if c == 50) == len(DWELLINGS)
    pending = owner_conn.execute(text("SELECT count(*) FROM risk_cells_pending")).scalar_one()
    assert pending == 0  # the run counted them itself, nothing is left for its commit
    owner_conn.execute(
        text("UPDATE addresses SET geom = ST_Translate(geom, 800, 0) WHERE uprn = :u"),
        {"u": UPRN[DWELLINGS[0]]},
    )
    owner_conn.execute(text("DELETE FROM risk_scores WHERE uprn = :u"), {"u": UPRN["K"]})
    monkeypatch.setattr(scoring, "SMALL", 10**6)  # one new score: the trigger counts it
    scoring.score(owner_conn, "addresses", AREA, AS_OF)
    assert _squares(owner_conn, False) == _squares(owner_conn, True)


def test_the_application_cannot_touch_the_announcements(app_conn: Connection) -> None:
    allowed = app_conn.execute(
        text("SELECT has_table_privilege('hardening_app', 'risk_cells_pending', 'INSERT')")
    ).scalar_one()
    assert allowed is False
