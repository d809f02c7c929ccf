"""Forecast metrics, the penalised logistic fit, and the backtest on the real Cumbrian data
(Code-Point postcode units, police.uk months): trained on 2018-10 only, tested on 2018-11."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, text

from hardening.db.engine import Actor, set_actor
from hardening.errors import UserInputError
from hardening.importers import codepoint, lsoa, police_uk, stations
from hardening.risk import backtest, fit, groups, metrics, nearrepeat, scoring
from hardening.risk.events import selector_for


def test_pai_shares_ties_out_and_a_constant_score_is_exactly_one() -> None:
    score = np.array([3.0, 2.0, 2.0, 1.0])
    outcome = np.array([1.0, 0.0, 2.0, 1.0])
    # top half: the 3 (1 event) and half of the tied 2s (expected 1 of their 2 events)
    assert metrics.hit_rate(score, outcome, 0.5) == 0.5
    assert metrics.pai(score, outcome, 0.5) == 1.0
    flat = np.zeros(1000)
    events = np.random.default_rng(1).poisson(0.2, 1000).astype(float)
    assert all(metrics.pai(flat, events, s) == pytest.approx(1.0) for s in (0.01, 0.05, 0.1))


def test_pai_of_a_perfect_ranking() -> None:
    score = np.arange(1000, dtype=float)
    outcome = np.zeros(1000)
    outcome[-10:] = 3.0  # every event in the top 1%
    assert metrics.pai(score, outcome, 0.01) == pytest.approx(100.0)
    assert metrics.hit_rate(score, outcome, 0.05) == pytest.approx(1.0)


def test_auc_and_brier_on_known_values() -> None:
    y = np.array([False, False, True, True])
    assert metrics.auc(np.array([0.1, 0.4, 0.35, 0.8]), y) == 0.75
    assert metrics.auc(np.array([1.0, 1.0, 1.0, 1.0]), y) == 0.5
    assert metrics.auc(np.array([1.0, 2.0]), np.array([True, True])) is None
    assert metrics.brier(np.array([0.0, 0.5, 1.0, 1.0]), y) == pytest.approx(0.0625)


def test_logistic_fit_recovers_coefficients_and_keeps_signs() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20_000, 3))
    logit = -1.0 + 1.2 * x[:, 0] - 0.6 * x[:, 1] + 0.8 * x[:, 2]
    y = (rng.random(20_000) < 1 / (1 + np.exp(-logit))).astype(float)
    fitted = fit.logistic(x, y, ["up", "down", "also_up"], [1, -1, 1], l2=1e-3)
    assert fitted.converged and fitted.intercept == pytest.approx(-1.0, abs=0.08)
    assert fitted.coefficients["up"] == pytest.approx(1.2, abs=0.08)
    assert fitted.coefficients["down"] == pytest.approx(-0.6, abs=0.08)
    assert fitted.coefficients["also_up"] == pytest.approx(0.8, abs=0.08)
    clamped = fit.logistic(x, y, ["up", "down", "said_protective"], [1, -1, -1], l2=1e-3)
    assert clamped.coefficients["said_protective"] == 0.0  # held to its factor's sign
    with pytest.raises(UserInputError, match="outcome must occur"):
        fit.logistic(x, np.zeros(20_000), ["a", "b", "c"], [1, 1, 1])


def test_months() -> None:
    start = fit.month_start("2018-11")
    assert fit.add_months(start, 2).isoformat() == "2019-01-01T00:00:00+00:00"
    with pytest.raises(UserInputError, match="not a month"):
        fit.month_start("November")


# -- the real data -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cumbria(app_engine: Engine, open_data_dir: Path) -> Iterator[Connection]:
    """Code-Point, police.uk (all three months), LSOAs with IMD and stations, loaded once for
    this module in one transaction that is rolled back at the end."""
    conn = app_engine.connect()
    outer = conn.begin()
    set_actor(conn, Actor.system())
    lsoa.import_files(
        conn,
        open_data_dir / "boundaries" / "cumbriaLSOA.shp",
        open_data_dir / "boundaries" / "imd2019_lsoa_deciles.csv",
    )
    codepoint.import_files(conn, sorted((open_data_dir / "postcodes").glob("[cl]a.csv")))
    police_uk.import_files(
        conn, sorted((open_data_dir / "police_uk_cumbria").glob("*-cumbria-street.csv"))
    )
    stations.import_file(conn, open_data_dir / "stations" / "uk_railway_stations.csv")
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


def test_backtest_on_real_postcodes_beats_the_best_baseline(
    cumbria: Connection, tmp_path: Path
) -> None:
    spec = backtest.Spec(
        "postcodes", "2018-10", "2018-10", "2018-11", "2018-11", selector_for(["Drugs"], [])
    )
    report = backtest.run(cumbria, spec, chart=tmp_path / "pai.png")
    assert report["n_units"] > 15_000 and report["n_postcodes"] > report["n_units"]
    origin = report["origins"][0]
    assert origin["month"] == "2018-11" and origin["train"] == {
        "start": "2018-10",
        "end": "2018-10",
    }
    assert 50 < origin["train_events"] < 120 and 50 < origin["test_events"] < 120
    assert origin["fit"]["split"].startswith("thinning")
    summary = report["summary"]
    assert set(summary) == {"model", "prior_count", "kde_150m", "kde_200m", "kde_250m", "random"}
    assert summary["random"]["pai@5%"] == 1.0 and summary["random"]["auc"] == 0.5
    assert report["model_beats_best_baseline_at_5%"]
    assert summary["model"]["pai@5%"] > report["best_baseline_at_5%"]["pai@5%"] > 3
    assert summary["model"]["auc"] > summary["prior_count"]["auc"]
    assert (tmp_path / "pai.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_stores_a_versioned_model_that_scores_postcodes(cumbria: Connection) -> None:
    spec = backtest.Spec(
        "postcodes", "2018-10", "2018-10", "2018-10", "2018-10",
        selector_for(["Drugs", "Anti-social behaviour"], []),
    )  # fmt: skip
    stored = backtest.fit_and_store(cumbria, spec, validate=False)
    version = stored["model_version"]
    assert version.startswith("fit-postcodes-")
    assert stored["coefficients"]["prior_here"] > 0
    assert stored["metrics"]["in_sample"]["auc"] > 0.6
    row = cumbria.execute(
        text("SELECT params, metrics, is_default FROM risk_models WHERE model_version = :v"),
        {"v": version},
    ).one()
    assert row.params["coefficients"] == stored["coefficients"] and not row.is_default
    assert row.metrics["fit"]["split"].startswith("thinning")
    result = scoring.score(cumbria, "postcodes", "carlisle", fit.month_start("2018-12"), version)
    assert result.absent == {} and result.scored > 3000  # the fit named postcode factors only
    assert set(stored["coefficients"]) <= {
        "prior_here", "incidents_here", "near_repeat", "drug_market", "transport",
        "deprivation",
    }  # fmt: skip
    bands = cumbria.execute(
        text(
            "SELECT band, count(*) FROM risk_postcode_scores WHERE model_version = :v GROUP BY band"
        ),
        {"v": version},
    ).all()
    assert {b for b, _ in bands} >= {"low", "very_high"}


def test_backtest_intervals_and_fairness_on_real_postcodes(cumbria: Connection) -> None:
    spec = backtest.Spec(
        "postcodes", "2018-10", "2018-10", "2018-11", "2018-11", selector_for(["Drugs"], []),
        bootstrap=300,
    )  # fmt: skip
    report = backtest.run(cumbria, spec)
    stability = report["stability"]
    month = stability["months"][0]
    assert month["month"] == "2018-11" and stability["best_baseline"] == "kde_150m"
    model = month["model"]
    assert model["estimate"] == pytest.approx(report["summary"]["model"]["pai@5%"], abs=1e-3)
    assert model["low"] < model["estimate"] < model["high"]
    assert month["difference"]["low"] > 0  # the lead over the best baseline holds
    assert stability["mean_over_months"] == {k: v for k, v in month.items() if k in
                                             stability["mean_over_months"]}  # fmt: skip
    audit = groups.run(cumbria, spec)
    assert set(audit["by"]) == {"imd_decile", "area"} and audit["tenure_note"]
    imd = audit["by"]["imd_decile"]["groups"]
    assert sum(g["flagged"] for g in imd) == audit["units_flagged"] == round(0.05 * 16407)
    assert sum(g["outcome_events"] for g in imd) == audit["outcome_events"] == 78
    assert {g["group"] for g in audit["by"]["area"]["groups"]} == {
        "Carlisle", "South Cumbria", "West Cumbria",
    }  # fmt: skip
    assert "IMD decile 01 (most deprived)" in audit["by"]["imd_decile"]["over_flagged"]


def test_knox_of_real_drug_events_by_month(cumbria: Connection) -> None:
    report = nearrepeat.analyse(
        cumbria, selector_for(["Drugs"], []), time_unit="month", time_bands=(0, 1, 2),
        iterations=199,
    )  # fmt: skip
    assert report["first_event"] == "2016-03" and report["last_event"] == "2018-11"
    assert 250 < report["events"] < 300
    closest = report["cells"][0]
    assert closest["ratio"] > 1.5 and closest["p_value"] < 0.05
    assert report["significant_window"] == {"distance_m": 100.0, "time": 1.0}
    with pytest.raises(UserInputError, match="carry only their month"):
        nearrepeat.analyse(cumbria, selector_for(["Drugs"], []), time_unit="day")
