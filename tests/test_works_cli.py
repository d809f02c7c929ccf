"""`hardening works ...` through CliRunner on a provider of its own (it commits)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner
from world import NORTH, World

from hardening.db.engine import Actor, transaction
from hardening.risk.incremental import rescore
from hardening.risk.model import load
from hardening.works.cli import app

ORG = "t-works-cli"
BASE = 5_000_980_000


@pytest.fixture(scope="module")
def provider(app_engine: Engine, world: World) -> list[int]:
    homes = [BASE + i for i in range(6)]
    with transaction(app_engine, Actor.system()) as conn:
        conn.execute(
            text("INSERT INTO organisations VALUES (:o, 'T Works CLI', 'housing_provider')"),
            {"o": ORG},
        )
        for i, uprn in enumerate(homes):
            conn.execute(
                text(
                    "INSERT INTO addresses (uprn, area_id, full_address, property_type, tenure, "
                    "provider_org_id, geom) VALUES (:u, :a, :t, 'house', 'social_rented', :o, "
                    "ST_SetSRID(ST_MakePoint(:x, 522000), 27700))"
                ),
                {
                    "u": uprn,
                    "a": NORTH,
                    "t": f"{i + 1} CLI Street",
                    "o": ORG,
                    "x": 421000 + 300 * i,
                },
            )
        conn.execute(
            text(
                "INSERT INTO operatives (provider_org_id, name, skills, base) VALUES "
                "(:o, 'Jo', '{joiner}', ST_SetSRID(ST_MakePoint(421000, 521500), 27700)), "
                "(:o, 'Al', '{housing_officer}', ST_SetSRID(ST_MakePoint(422000, 521500), 27700))"
            ),
            {"o": ORG},
        )
        rescore(conn, load(conn), homes, datetime.now(UTC), {"test": "works-cli"})
    return homes


def _json(args: list[str]) -> object:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_recommend_raise_schedule_and_export(provider: list[int], tmp_path: Path) -> None:
    recs = _json(["recommend", "--provider", ORG, "--json"])
    assert isinstance(recs, list) and recs
    assert {r["uprn"] for r in recs} <= set(provider)
    reductions = [r["score_reduction"] for r in recs]
    assert reductions == sorted(reductions, reverse=True) and reductions[0] > 0
    made = _json(["raise", "--provider", ORG, "--from-recommendations", "8", "--json"])
    assert isinstance(made, list) and len(made) == 8
    for o in made:
        _json(["move", str(o["work_order_id"]), "--to", "approved", "--version", "1", "--json"])
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    args = ["schedule", "--provider", ORG, "--start", monday.isoformat(), "--days", "3"]
    plan = _json([*args, "--seconds", "1", "--commit", "--json", "--ics-dir", str(tmp_path)])
    assert isinstance(plan, dict)
    assert plan["violations"] == []
    placed = {v["work_order_id"] for v in plan["visits"]}
    left = {u["work_order_id"]: u["reason"] for u in plan["unscheduled"]}
    assert placed | set(left) == {o["work_order_id"] for o in made}
    for o in made:  # measures needing a skill nobody here has are left out with that reason
        if o["measure_code"] not in ("spy_hole", "door_chain", "letterbox_guard",
                                     "door_replacement", "warning_notice"):  # fmt: skip
            assert "no operative with the skill" in left[o["work_order_id"]]
    listed = _json(["orders", "--provider", ORG, "--status", "scheduled", "--json"])
    assert isinstance(listed, list) and {o["work_order_id"] for o in listed} == placed
    ics = list(tmp_path.glob("operative-*.ics"))
    assert ics and "BEGIN:VEVENT" in ics[0].read_text()
    bad = CliRunner().invoke(app, ["move", str(made[0]["work_order_id"]), "--to", "approved",
                                   "--version", "1"])  # fmt: skip
    assert bad.exit_code != 0
