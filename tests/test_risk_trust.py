"""Fairness by group (fairlearn MetricFrame) on a constructed case with a known answer, and the
bootstrap intervals of PAI on simulated months whose true PAI is known."""

from __future__ import annotations

import numpy as np
import pytest

from hardening.risk import fairness, metrics, stability
from hardening.risk.groups import imd_label


def _constructed() -> dict[str, np.ndarray]:
    """100 units: A = 0..39, B = 40..99. The top 10 by score are 8 of A and 2 of B.
    Outcome events: A 5 (3 of them in flagged A units), B 15 (1 in a flagged B unit)."""
    score = np.zeros(100)
    score[:8] = 10 + np.arange(8)  # A 0..7 flagged
    score[40:42] = 5  # B 40, 41 flagged
    events = np.zeros(100)
    events[[0, 1, 2, 20, 21]] = 1  # A: 3 flagged, 2 not
    events[40] = 1  # B: 1 flagged
    events[[50, 51, 52, 53, 54, 55, 56]] = 2  # B: 14 not flagged
    probability = np.where(np.arange(100) < 40, 0.1, 0.2)
    groups = np.where(np.arange(100) < 40, "A", "B")
    return {"score": score, "events": events, "probability": probability, "groups": groups}


def test_fairness_figures_of_a_constructed_case() -> None:
    c = _constructed()
    result = fairness.audit(
        [{"score": c["score"], "probability": c["probability"], "outcome": c["events"]}],
        {"group": list(c["groups"])},
        share=0.10,
    )
    assert result["units_flagged"] == 10 and result["outcome_events"] == 20
    a, b = result["by"]["group"]["groups"]
    assert (a["group"], b["group"]) == ("A", "B")
    assert (a["units"], a["flagged"], a["outcome_events"]) == (40, 8, 5)
    assert (b["units"], b["flagged"], b["outcome_events"]) == (60, 2, 15)
    assert a["share_of_flagged"] == 0.8 and a["share_of_outcomes"] == 0.25
    assert a["flag_ratio"] == pytest.approx(3.2) and a["over_flagged"]
    assert b["flag_ratio"] == pytest.approx(0.2 / 0.75, abs=1e-3) and not b["over_flagged"]
    assert a["selection_rate"] == 0.2 and b["selection_rate"] == pytest.approx(2 / 60, abs=1e-4)
    assert a["hit_rate"] == 0.6 and b["hit_rate"] == pytest.approx(1 / 15, abs=1e-4)
    # calibration: A predicted 10%, observed 5 of 40 units; B predicted 20%, observed 8 of 60
    assert a["mean_predicted"] == 0.1 and a["observed_rate"] == 0.125
    assert a["calibration_ratio"] == 1.25
    assert b["observed_rate"] == pytest.approx(8 / 60, abs=1e-5)
    assert result["by"]["group"]["over_flagged"] == ["A"]


def test_a_group_flagged_without_outcomes_is_over_flagged_and_threshold_is_125() -> None:
    score = np.arange(20, dtype=float)[::-1]  # units 0.. best first
    events = np.zeros(20)
    events[[1, 10, 11, 12]] = 1
    groups = ["near"] * 2 + ["far"] * 18  # flagged 2 of 2 (share 0.1): both 'near'
    result = fairness.table(groups, fairness.flagged_top(score, 0.1), events, np.full(20, 0.1))
    near = next(g for g in result["groups"] if g["group"] == "near")
    assert near["share_of_flagged"] == 1.0 and near["share_of_outcomes"] == 0.25
    assert near["flag_ratio"] == 4.0 and near["over_flagged"]
    # exactly 1.25x is not over the line
    groups2 = ["x"] * 10 + ["y"] * 10
    events2 = np.zeros(20)
    events2[[0, 10, 11, 12, 13]] = 1
    flags = np.zeros(20, dtype=bool)
    flags[[0, 10, 11, 12]] = True  # x: 1/4 of flags vs 1/5 of outcomes = 1.25
    t = fairness.table(groups2, flags, events2, np.full(20, 0.1))
    assert [g["flag_ratio"] for g in t["groups"]] == [1.25, 0.938] and t["over_flagged"] == []
    # a group flagged but with no later outcome at all has no ratio and is over-flagged
    lone = fairness.table(["z"] + ["w"] * 19, flags, np.r_[0.0, events2[1:]], np.full(20, 0.1))
    assert lone["groups"][1]["group"] == "z" and lone["groups"][1]["flag_ratio"] is None
    assert lone["over_flagged"] == ["z"]


def test_with_no_outcome_at_all_no_group_is_over_flagged() -> None:
    score = np.arange(20, dtype=float)
    result = fairness.audit(
        [{"score": score, "probability": np.full(20, 0.1), "outcome": np.zeros(20)}],
        {"group": ["a"] * 10 + ["b"] * 10},
        share=0.1,
    )
    assert result["units_flagged"] == 2 and result["outcome_events"] == 0
    assert result["by"]["group"]["over_flagged"] == [] and "cannot be compared" in result["note"]
    assert [g["flag_ratio"] for g in result["by"]["group"]["groups"]] == [None, None]


def test_imd_labels_say_which_end_is_deprived() -> None:
    assert imd_label(1) == "IMD decile 01 (most deprived)"
    assert imd_label(10) == "IMD decile 10 (least deprived)"
    assert imd_label(None) == "IMD decile unknown"


def test_weighted_pai_with_every_unit_once_is_the_plain_pai() -> None:
    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, 2000).astype(float)  # many ties
    outcome = rng.poisson(0.3, 2000).astype(float)
    ones = np.ones((3, 2000), dtype=np.int64)
    assert stability.weighted_pai(score, outcome, ones, 0.05) == pytest.approx(
        metrics.pai(score, outcome, 0.05)
    )


def _month(
    rng: np.random.Generator, n: int, lift: float, base: float
) -> tuple[np.ndarray, np.ndarray]:
    """n units with distinct scores; the top 5% carry `lift` times the base event rate.
    True PAI@5% = 0.05 lift / (0.05 lift + 0.95) / 0.05."""
    score = rng.permutation(n).astype(float)
    rate = np.where(score >= 0.95 * n, lift * base, base)
    return score, rng.poisson(rate).astype(float)


def test_bootstrap_interval_covers_the_true_pai_on_simulated_months() -> None:
    lift, base, n = 4.0, 0.02, 10_000
    truth = 0.05 * lift / (0.05 * lift + 0.95) / 0.05  # 3.36
    random_truth = 1.0
    covered, difference_covered, runs = 0, 0, 40
    rng = np.random.default_rng(2026)
    widths = []
    for _ in range(runs):
        score, outcome = _month(rng, n, lift, base)
        noise = rng.random(n)  # a baseline that knows nothing: true PAI 1
        result = stability.stability(
            [{"month": "2026-01", "scores": {"model": score, "random": noise}, "outcome": outcome}],
            best="random", replicates=300, seed=int(rng.integers(1 << 30)),
        )  # fmt: skip
        m = result["months"][0]
        covered += m["model"]["low"] <= truth <= m["model"]["high"]
        d = m["difference"]
        difference_covered += d["low"] <= truth - random_truth <= d["high"]
        widths.append(m["model"]["high"] - m["model"]["low"])
    # nominal 95%: with 40 runs, 34 or more covered is well inside sampling error
    assert covered >= 34 and difference_covered >= 34
    assert 0.5 < float(np.median(widths)) < 3.0  # an interval, not the whole line


def test_mean_over_months_is_narrower_than_one_month() -> None:
    rng = np.random.default_rng(7)
    months = []
    for k in range(4):
        score, outcome = _month(rng, 5000, 4.0, 0.02)
        months.append(
            {"month": f"2026-0{k + 1}", "scores": {"model": score, "kde": rng.random(5000)},
             "outcome": outcome}
        )  # fmt: skip
    result = stability.stability(months, best="kde", replicates=400, seed=1)
    one = result["months"][0]["model"]
    mean = result["mean_over_months"]["model"]
    assert mean["high"] - mean["low"] < one["high"] - one["low"]
    assert result["mean_over_months"]["share_of_replicates_model_ahead"] > 0.99
    assert [m["month"] for m in result["months"]] == ["2026-01", "2026-02", "2026-03", "2026-04"]
