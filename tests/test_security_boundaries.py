"""What an agreement grants and where (issue 16, item 6; sql/022_read_boundaries.sql): a partner's
referrals stay in its agreement's areas, training sessions follow the agreement's data class, and
an agreement past its end or review date grants nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from world import HEALTH, NORTH, SOUTH, World

from hardening.db.engine import Actor, set_actor

ORG = "t-review"
ROLES = ("control_room", "visit_team")


def _count(conn: Connection, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar_one())


def test_partner_reads_and_updates_referrals_in_its_areas_only(
    app_conn: Connection, world: World
) -> None:
    south = app_conn.execute(
        text("SELECT referral_id FROM referrals WHERE partner_org_id = :h AND area_id = :s"),
        {"h": HEALTH, "s": SOUTH},
    ).scalar_one()  # the world made one to the health partner in south, outside its agreement
    set_actor(app_conn, world.actors["health"])
    seen = app_conn.execute(text("SELECT referral_id, area_id FROM referrals")).all()
    assert [r.area_id for r in seen] == [NORTH] and south not in {r.referral_id for r in seen}
    changed = app_conn.execute(
        text("UPDATE referrals SET status = 'accepted' WHERE referral_id = :r"), {"r": south}
    ).rowcount
    assert changed == 0
    # nor may it move one of its own into an area it does not cover
    with pytest.raises(DBAPIError, match="row-level security"), app_conn.begin_nested():
        app_conn.execute(
            text("UPDATE referrals SET area_id = :s WHERE referral_id = :r"),
            {"s": SOUTH, "r": seen[0].referral_id},
        )


def _training(conn: Connection, area: str) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO training_sessions (area_id, delivered_on, partner_type, topic, "
                "attendees) VALUES (:a, current_date, 'nhs', 'county lines awareness', 12) "
                "RETURNING session_id"
            ),
            {"a": area},
        ).scalar_one()
    )


def test_training_sessions_follow_the_agreement_not_a_role_name(
    app_conn: Connection, world: World
) -> None:
    session = _training(app_conn, NORTH)
    sql = f"SELECT count(*) FROM training_sessions WHERE session_id = {session}"
    set_actor(app_conn, world.actors["visit_team"])  # police: visits class, north and south
    assert _count(app_conn, sql) == 1
    # the health partner's user is a visit_team too, but its agreement covers referrals only
    set_actor(app_conn, world.actors["health"])
    assert _count(app_conn, sql) == 0
    assert _count(app_conn, "SELECT count(*) FROM training_sessions") == 0
    with pytest.raises(DBAPIError, match="row-level security"), app_conn.begin_nested():
        _training(app_conn, NORTH)
    set_actor(app_conn, world.actors["visit_team"])
    assert _training(app_conn, SOUTH) > session


def _agreement(conn: Connection, ends_on: date, review_on: date) -> Actor:
    """The agreement of a police organisation of its own; returns its user."""
    conn.execute(text("INSERT INTO organisations VALUES (:o, 'T Review', 'police')"), {"o": ORG})
    agreement = conn.execute(
        text(
            "INSERT INTO sharing_agreements (org_id, title, data_classes, starts_on, ends_on, "
            "review_on) VALUES (:o, 't', '{markers,visits}', current_date - 100, :e, :r) "
            "RETURNING agreement_id"
        ),
        {"o": ORG, "e": ends_on, "r": review_on},
    ).scalar_one()
    conn.execute(text("INSERT INTO agreement_areas VALUES (:a, :n)"), {"a": agreement, "n": NORTH})
    user_id = conn.execute(
        text(
            "INSERT INTO users (org_id, username, display_name, roles) "
            "VALUES (:o, 't.review', 'T', :r) RETURNING user_id"
        ),
        {"o": ORG, "r": list(ROLES)},
    ).scalar_one()
    return Actor(user_id, ORG, ROLES)


@pytest.mark.parametrize(
    ("ends_in", "review_in", "grants"),
    [
        (30, 30, True),
        (30, 0, True),  # review due today: still in force
        (30, -1, False),  # overdue for review
        (-1, 30, False),  # past its end
        (0, 0, True),  # its last day
    ],
)
def test_an_agreement_past_its_end_or_review_date_grants_nothing(
    app_conn: Connection, world: World, ends_in: int, review_in: int, grants: bool
) -> None:
    today = date.today()
    user = _agreement(app_conn, today + timedelta(days=ends_in), today + timedelta(days=review_in))
    set_actor(app_conn, user)
    classes, areas = app_conn.execute(text("SELECT app_classes(), app_areas()")).one()
    markers = _count(
        app_conn,
        "SELECT count(*) FROM safe_markers WHERE uprn BETWEEN 5000000000 AND 5000000099",
    )
    if grants:
        assert (sorted(classes), areas, markers) == (["markers", "visits"], [NORTH], 1)
    else:
        assert (classes, areas, markers) == ([], [], 0)
        assert _count(app_conn, "SELECT count(*) FROM visits") == 0
