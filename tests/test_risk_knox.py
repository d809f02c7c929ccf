"""The Knox test (risk/knox.py) against PySAL's pointpats, its bands and p-values, and
`hardening risk nearrepeat` on incidents in a real PostGIS (bad input refused, nothing changed)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from hardening.cli import app as cli_app
from hardening.db.engine import Actor, set_actor
from hardening.errors import UserInputError
from hardening.risk import fit, knox, nearrepeat
from hardening.risk.events import selector_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pointpats' optional plotting imports warn
    from pointpats.spacetime import Knox


def _fixture(n: int = 300, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # clustered in space and time: a near-repeat pattern on a random background
    xy = rng.uniform(0, 3000, (n, 2))
    t = rng.uniform(0, 120, n)
    seeds = rng.integers(0, n // 2, n // 4)
    xy[n // 2 : n // 2 + len(seeds)] = xy[seeds] + rng.normal(0, 60, (len(seeds), 2))
    t[n // 2 : n // 2 + len(seeds)] = t[seeds] + rng.uniform(0, 10, len(seeds))
    return xy, t


def test_knox_statistic_equals_pointpats_on_every_window() -> None:
    xy, t = _fixture()
    table = knox.knox(xy, t, [0, 100, 200, 400, 800], [0, 7, 14, 30, 60], iterations=0)
    cells = table["cells"]
    assert table["pairs"] == 300 * 299 // 2
    for d in (100, 200, 400, 800):
        for tau in (7, 14, 30, 60):
            inside = [c for c in cells if c["distance_to"] <= d and c["time_to"] <= tau]
            reference = Knox(xy, t[:, None], delta=d, tau=tau, permutations=0)
            assert sum(c["observed"] for c in inside) == reference.nst
    # one band from 0: the whole 2x2 table's space-time cell, observed and expected
    single = knox.knox(xy, t, [0, 200], [0, 14], iterations=0)["cells"][0]
    reference = Knox(xy, t[:, None], delta=200, tau=14, permutations=0)
    assert single["observed"] == reference.observed[0, 0]
    assert single["expected"] == pytest.approx(reference.expected[0, 0], abs=1e-4)


def test_bands_are_half_open_on_whole_days() -> None:
    # integer days and metres: a pair exactly at an edge belongs to the band it starts
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 50.0], [5000.0, 5000.0]])
    t = np.array([0.0, 7.0, 6.0, 100.0])
    cells = {
        (c["distance_from"], c["time_from"]): c
        for c in knox.knox(xy, t, [0, 100, 200], [0, 7, 14], iterations=0)["cells"]
    }
    # pairs: (0,1) 100 m 7 d; (0,2) 50 m 6 d; (1,2) 111.8 m 1 d
    assert cells[(100.0, 7.0)]["observed"] == 1  # exactly 100 m and 7 days: the upper bands
    assert cells[(0.0, 0.0)]["observed"] == 1
    assert cells[(100.0, 0.0)]["observed"] == 1
    assert cells[(0.0, 7.0)]["observed"] == 0
    # pointpats counts <= its thresholds: half a unit below an edge is the same window
    reference = Knox(xy, t[:, None], delta=99.5, tau=6.5, permutations=0)
    assert reference.nst == cells[(0.0, 0.0)]["observed"]


def test_monte_carlo_finds_the_planted_near_repeats_and_not_chance() -> None:
    xy, t = _fixture(400, seed=3)
    cells = knox.knox(xy, t, [0, 100, 400], [0, 14, 60], iterations=199, seed=5)["cells"]
    closest = cells[0]
    assert closest["ratio"] > 1.5 and closest["p_value"] == pytest.approx(1 / 200)
    # the expectation is the Monte Carlo null's mean: shuffled times show no pattern
    rng = np.random.default_rng(9)
    shuffled = knox.knox(xy, rng.permutation(t), [0, 100, 400], [0, 14, 60], iterations=199)
    assert shuffled["cells"][0]["p_value"] > 0.01
    window = knox.significant_window(cells)
    assert window == {"distance_m": 100.0, "time": 14.0}


def test_significant_window_needs_the_closest_cell_raised() -> None:
    cell = {"distance_from": 0.0, "distance_to": 100.0, "time_from": 0.0, "time_to": 1.0}
    raised = [{**cell, "ratio": 2.0, "p_value": 0.001}]
    assert knox.significant_window(raised) == {"distance_m": 100.0, "time": 1.0}
    assert knox.significant_window([{**cell, "ratio": 2.0, "p_value": 0.2}]) is None
    assert knox.significant_window([{**cell, "ratio": 0.5, "p_value": 0.001}]) is None


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("0", "at least two edges"),
        ("0,100,100", "increase strictly"),
        ("-5,100", "start at 0"),
        ("0,nan", "finite"),
        ("0,a", "numbers separated by commas"),
    ],
)
def test_bad_bands_are_refused(bands: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        knox.parse_bands(bands, "distance bands")


# -- the database path ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dated(app_engine: Engine) -> Iterator[Connection]:
    """Drug incidents with dates (a near-repeat cluster) and month-only ones, rolled back."""
    conn = app_engine.connect()
    outer = conn.begin()
    set_actor(conn, Actor.system())
    xy, t = _fixture(300, seed=11)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        {"ref": f"k22-{i}", "x": 320_000 + x, "y": 470_000 + y,
         "at": start + timedelta(days=float(d)), "p": "day", "c": "drug_dealing"}
        for i, ((x, y), d) in enumerate(zip(xy, t, strict=True))
    ] + [
        {"ref": f"k22-m{i}", "x": 320_000 + 40 * i, "y": 470_000, "p": "month",
         "at": datetime(2024, 1 + i % 12, 1, tzinfo=UTC), "c": "asb"}
        for i in range(30)
    ]  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO incidents (source, source_ref, category, crime_type, occurred_at, "
            "time_precision, geom) VALUES ('manual', :ref, :c, NULL, :at, :p, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
        ),
        rows,
    )
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


def test_analyse_reads_the_selected_incidents(dated: Connection, tmp_path: Path) -> None:
    selector = selector_for([], ["drug_dealing"])
    report = nearrepeat.analyse(
        dated, selector, iterations=99, chart=tmp_path / "knox.png",
        start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    assert report["events"] == 300 and report["time_unit"] == "day"
    assert report["first_event"].startswith("2025-01")
    assert len(report["cells"]) == 16
    assert set(report["cells"][0]) == {
        "distance_from", "distance_to", "time_from", "time_to", "observed", "expected",
        "ratio", "p_value",
    }  # fmt: skip
    assert report["significant_window"]["distance_m"] >= 100
    params = nearrepeat.factor_window(report)
    assert params is not None and params["radius_m"] == report["significant_window"]["distance_m"]
    assert (tmp_path / "knox.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # month-only events: days are refused, months work
    asb = selector_for([], ["asb"])
    with pytest.raises(UserInputError, match="carry only their month"):
        nearrepeat.analyse(dated, asb, time_unit="day", iterations=0)
    by_month = nearrepeat.analyse(dated, asb, time_unit="month", iterations=0)
    assert by_month["events"] >= 30 and by_month["time_bands"] == [0.0, 1.0, 2.0, 3.0]


def test_cli_refuses_bad_input_with_one_line(test_db_url: object) -> None:
    runner = CliRunner()
    cases = [
        (["--crime-types", "Drugs", "--distance-bands", "0,x"], "numbers separated by commas"),
        (["--crime-types", "Drugs", "--time-bands", "5,1"], "increase strictly"),
        (["--distance-bands", "0,100"], "name the outcome"),
        (["--categories", "nonsense"], "unknown incident categories"),
        (["--crime-types", "Drugs", "--area", "no-such-area"], "unknown area"),
        (["--crime-types", "Drugs", "--start", "2018-11", "--end", "2018-10"], "end after"),
        (["--crime-types", "Drugs", "--start", "November"], "not a month"),
        (["--crime-types", "No such type"], "at least 2 events"),
    ]
    for args, message in cases:
        result = runner.invoke(cli_app, ["risk", "nearrepeat", *args, "--json"])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    out = runner.invoke(cli_app, ["risk", "nearrepeat", "--crime-types", "Drugs", "--iterations",
                                  "-1"])  # fmt: skip
    assert out.exit_code == 2  # typer's own range check


def test_cli_prints_one_json_document(owner_engine: Engine, tmp_path: Path) -> None:
    xy, t = _fixture(120, seed=4)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    rows = [
        {"ref": f"k22-cli-{i}", "x": 330_000 + x, "y": 480_000 + y,
         "at": start + timedelta(days=float(d))}
        for i, ((x, y), d) in enumerate(zip(xy, t, strict=True))
    ]  # fmt: skip
    insert = (
        "INSERT INTO incidents (source, source_ref, category, crime_type, occurred_at, "
        "time_precision, geom) VALUES ('k22-cli', :ref, 'weapons', 'Possession of weapons', :at, "
        "'day', ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
    )
    with owner_engine.begin() as conn:
        conn.execute(text(insert), rows)
    try:
        args = ["risk", "nearrepeat", "--crime-types", "Possession of weapons", "--iterations",
                "99", "--chart", str(tmp_path / "k.png"), "--json"]  # fmt: skip
        first = CliRunner().invoke(cli_app, args)
        assert first.exit_code == 0, first.output
        report = json.loads(first.stdout)
        assert report["events"] == 120 and len(report["cells"]) == 16
        assert report["selection"] == {"crime_types": ["Possession of weapons"]}
        again = json.loads(CliRunner().invoke(cli_app, args).stdout)
        assert again["cells"] == report["cells"]  # the seed makes the p-values repeatable
        human = CliRunner().invoke(cli_app, args[:-1])
        assert "120 events" in human.output and "Knox ratio" in human.output
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE source = 'k22-cli'"))


def test_the_fit_takes_the_areas_own_window(dated: Connection) -> None:
    selector = selector_for([], ["drug_dealing"])
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    params, summary = nearrepeat.window_for_fit(dated, selector, None, start, end, 199)
    assert summary["time_unit"] == "day" and summary["events"] == 300
    assert params == {
        "radius_m": summary["significant_window"]["distance_m"],
        "window_days": summary["significant_window"]["time"],
    }
    model = fit.template("addresses", selector, near_repeat=params)
    assert model.params("addresses")["near_repeat"]["radius_m"] == params["radius_m"]
    assert model.params("addresses")["near_repeat"]["window_days"] == params["window_days"]
    assert model.factors["near_repeat"]["events"] == selector.to_json()
    # month-only events: months, and a month window reaches back one month more in days
    asb = selector_for([], ["asb"])
    _, by_month = nearrepeat.window_for_fit(dated, asb, None, datetime(2024, 1, 1, tzinfo=UTC),
                                            end, 99)  # fmt: skip
    assert by_month["time_unit"] == "month"
    report = {"time_unit": "month", "significant_window": {"distance_m": 100.0, "time": 1.0}}
    assert nearrepeat.factor_window(report) == {"radius_m": 100.0, "window_days": 61}


def test_too_many_pairs_are_refused_before_they_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    xy, t = _fixture(200)
    monkeypatch.setattr(knox, "MAX_PAIRS", 100)
    with pytest.raises(UserInputError, match="pairs of events lie within 800 m"):
        knox.knox(xy, t, [0, 400, 800], [0, 7], iterations=0)
