"""Awareness training sessions: recorded by police roles in their areas, refused when bad,
listed under row-level security (hand-built world, rolled back)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Connection
from world import HEALTH, NORTH, World

from hardening.db.engine import set_actor
from hardening.errors import NotFoundError, UserInputError
from hardening.reports.training import add_session, list_sessions

DAY = date.today() - timedelta(days=3)


def test_sessions_are_recorded_and_listed_by_area(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    first = add_session(app_conn, NORTH, DAY, "Spotting cuckooing", 23, HEALTH)
    second = add_session(app_conn, NORTH, DAY, "County lines basics", 12, None, "school")
    rows = {r.session_id: r for r in list_sessions(app_conn, DAY.year, NORTH)}
    assert rows[first].partner_type == "nhs"  # from the organisation's kind
    assert rows[second].attendees == 12 and rows[second].partner_org_id is None
    set_actor(app_conn, world.actors["housing_a"])  # a housing officer: no police role
    assert [r for r in list_sessions(app_conn, DAY.year, NORTH) if r.session_id == first] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((DAY, "x", 5, None, "school"), "topic"),
        ((DAY, "Spotting cuckooing", 0, None, "school"), "attendees"),
        ((date.today() + timedelta(days=2), "Spotting cuckooing", 5, None, "school"), "before"),
        ((DAY, "Spotting cuckooing", 5, "no-such-org", None), "unknown organisation"),
        ((DAY, "Spotting cuckooing", 5, None, "astronauts"), "partner-type"),
    ],
)
def test_bad_sessions_are_refused(
    app_conn: Connection, world: World, args: tuple[object, ...], message: str
) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    with pytest.raises((UserInputError, NotFoundError), match=message):
        add_session(app_conn, NORTH, *args)  # type: ignore[arg-type]
