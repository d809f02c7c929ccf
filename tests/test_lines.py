"""County lines: active lines on a date from a status history; only intelligence readers see."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner
from world import NORTH, SOUTH, World

from hardening.db.engine import set_actor
from hardening.errors import ConflictError, UserInputError
from hardening.visits.lines import active_lines_on, add_line, history, link_incident, set_status


def _lines(conn: Connection) -> dict[str, int]:
    a = add_line(conn, "Test ALPHA line", NORTH, date(2025, 1, 10), origin="Liverpool")
    set_status(conn, a, "disrupted", date(2025, 4, 1), "warrant executed")
    set_status(conn, a, "active", date(2025, 6, 1), "re-established")
    set_status(conn, a, "closed", date(2025, 10, 1))
    b = add_line(conn, "Test BRAVO line", NORTH, date(2025, 3, 1))
    c = add_line(conn, "Test CHARLIE line", SOUTH, date(2025, 2, 1))
    set_status(conn, c, "disrupted", date(2025, 8, 1))
    return {"a": a, "b": b, "c": c}


@pytest.mark.parametrize(
    ("day", "north", "both"),
    [
        (date(2025, 1, 9), set(), set()),
        (date(2025, 1, 10), {"a"}, {"a"}),
        (date(2025, 3, 15), {"a", "b"}, {"a", "b", "c"}),
        (date(2025, 4, 1), {"b"}, {"b", "c"}),
        (date(2025, 6, 1), {"a", "b"}, {"a", "b", "c"}),
        (date(2025, 8, 1), {"a", "b"}, {"a", "b"}),
        (date(2025, 12, 31), {"b"}, {"b"}),
    ],
)
def test_active_lines_on_a_date(
    app_conn: Connection, world: World, day: date, north: set[str], both: set[str]
) -> None:
    ids = _lines(app_conn)
    set_actor(app_conn, world.actors["analyst"])
    names = {v: k for k, v in ids.items()}

    def active(area: str | None) -> set[str]:
        return {
            names[r.line_id] for r in active_lines_on(app_conn, day, area) if r.line_id in names
        }

    assert active(NORTH) == north
    assert active(None) == both


def test_history_links_and_bad_changes(app_conn: Connection, world: World) -> None:
    ids = _lines(app_conn)
    incident = app_conn.execute(
        text("SELECT incident_id FROM incidents WHERE area_id = :a LIMIT 1"), {"a": NORTH}
    ).scalar_one()
    link_incident(app_conn, ids["a"], incident)
    line = history(app_conn, ids["a"])
    assert [h["status"] for h in line.history] == ["active", "disrupted", "active", "closed"]
    assert [i["incident_id"] for i in line.incidents] == [incident]
    assert line.last_seen == date(2025, 10, 1)
    with pytest.raises(ConflictError):
        set_status(app_conn, ids["a"], "active", date(2025, 10, 1))
    with pytest.raises(UserInputError, match="first seen"):
        set_status(app_conn, ids["b"], "closed", date(2024, 1, 1))
    with pytest.raises(UserInputError):
        add_line(app_conn, "Test ALPHA line", NORTH, date(2025, 1, 1))


def test_partners_see_no_lines(app_conn: Connection, world: World) -> None:
    _lines(app_conn)
    for who in ("health", "housing_a", "planner"):
        set_actor(app_conn, world.actors[who])
        assert active_lines_on(app_conn, date(2025, 6, 1)) == []


def test_cli_lines_active_json(test_db_url: object) -> None:
    from hardening.visits.cli import lines_app

    result = CliRunner().invoke(lines_app, ["active", "--on", "2025-06-01", "--json"])
    assert result.exit_code == 0, result.output
    assert isinstance(__import__("json").loads(result.stdout), list)
    bad = CliRunner().invoke(lines_app, ["active", "--on", "01/06/2025"])
    assert bad.exit_code != 0
