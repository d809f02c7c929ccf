"""The access model as the database holds it: a snapshot of every row-level security policy, so
a change to one shows up in review, and the named predicates (sql/029) agreeing with the
policies that call them, for every actor of the test partnership.

After an intended change to a policy: `HARDENING_UPDATE_SNAPSHOTS=1 pytest tests/test_policies.py`
rewrites tests/snapshots/policies.txt; review its diff with the migration.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from world import World

from hardening.db.engine import Actor, set_actor
from hardening.security import access
from hardening.settings import PROJECT_ROOT

SNAPSHOT = Path(__file__).parent / "snapshots" / "policies.txt"


def _policies(conn: Connection) -> str:
    """Every table under row-level security with its policies, as stable text (the migrating
    role's name, which differs between machines, reads as <owner>)."""
    owner = conn.execute(text("SELECT current_user")).scalar_one()
    tables = conn.execute(
        text(
            "SELECT c.relname, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relrowsecurity ORDER BY c.relname"
        )
    ).all()
    policies = conn.execute(
        text(
            "SELECT tablename, policyname, cmd, roles::text[] AS roles, qual, with_check "
            "FROM pg_policies WHERE schemaname = 'public' ORDER BY tablename, policyname"
        )
    ).all()
    lines = []
    for table, forced in tables:
        lines.append(f"{table}{'' if forced else '  (NOT FORCED)'}")
        for p in (p for p in policies if p.tablename == table):
            roles = ",".join("<owner>" if r == owner else r for r in p.roles)
            lines.append(f"  {p.policyname}: {p.cmd} TO {roles}")
            for label, expr in (("using", p.qual), ("check", p.with_check)):
                if expr is not None:
                    lines.append(f"    {label}: {' '.join(expr.split())}")
    return "\n".join(lines) + "\n"


def test_policies_match_the_reviewed_snapshot(owner_conn: Connection) -> None:
    current = _policies(owner_conn)
    if os.environ.get("HARDENING_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    expected = SNAPSHOT.read_text()
    assert current == expected, (
        "row-level security policies differ from tests/snapshots/policies.txt: if the change "
        "is intended, rerun with HARDENING_UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_every_protected_table_is_forced_and_maintainable(owner_conn: Connection) -> None:
    text_ = _policies(owner_conn)
    tables = [line for line in text_.splitlines() if not line.startswith(" ")]
    assert len(tables) >= 36
    assert not [t for t in tables if "NOT FORCED" in t]
    blocks = re.split(r"\n(?=\S)", text_.strip())
    assert all("  maintenance: ALL TO <owner>" in b for b in blocks), "app_protect() not applied"


def test_role_sets_are_named_once_in_sql_not_restated_in_python() -> None:
    """The police role set lives in app_police_roles(); Python asks the predicates instead."""
    police = re.compile(r"control_room.{0,4}visit_team.{0,4}analyst.{0,4}admin")
    restated = [
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("hardening", "ui", "pages")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
        if police.search(path.read_text())
    ]
    assert restated == []


PREDICATE_TABLE: dict[access.Predicate, str] = {
    "app_reads_markers": "safe_markers",
    "app_reads_visits": "visits",
    "app_reads_incidents": "incidents",
    "app_reads_risk_factors": "risk_explanations",
    "app_reads_works": "work_orders",
    "app_sees_addresses": "addresses",
}


@pytest.mark.parametrize("predicate", sorted(PREDICATE_TABLE))
def test_a_predicate_is_true_exactly_for_actors_its_policy_lets_read(
    app_engine: Engine, world: World, predicate: access.Predicate
) -> None:
    """Each world actor whose predicate is true reads rows of the table (the world puts rows in
    every agreement's areas), and each whose predicate is false reads none."""
    table = PREDICATE_TABLE[predicate]
    seen: dict[str, tuple[bool, int]] = {}
    for name, actor in {**world.actors, "system": Actor.system()}.items():
        with app_engine.connect() as conn, conn.begin():
            set_actor(conn, actor)
            rows = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            seen[name] = (access.may(conn, predicate), rows)
    assert {n for n, (ok, _) in seen.items() if ok} >= {"system"}
    assert {n for n, (ok, rows) in seen.items() if ok != (rows > 0)} == set(), seen
