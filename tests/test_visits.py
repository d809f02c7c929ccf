"""Visits and their support packages, recorded through the services under row-level security."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, text
from world import HEALTH, NORTH, POLICE, World

from hardening.db.engine import Actor, set_actor
from hardening.errors import ConflictError, NotFoundError, PermissionDeniedError, UserInputError
from hardening.risk import queue
from hardening.risk.model import load
from hardening.risk.scoring import score
from hardening.visits.models import ReferralUpdate, VisitInput
from hardening.visits.referrals import list_referrals, update_referral
from hardening.visits.rescore import rescore_visit
from hardening.visits.service import get_visit, list_visits, record_visit

TODAY = date.today()


def _visit(world: World, **extra: Any) -> VisitInput:
    team = [world.actors["visit_team"].user_id, world.actors["control_room"].user_id]
    body: dict[str, Any] = {
        "uprn": world.homes_a[3],
        "visited_on": TODAY.isoformat(),
        "team_user_ids": team,
        "subject_ref": "SUBJ-7781",
        "subject_type": "cuckooed_occupant",
        "signs": ["many_short_visits", "odd_hour_deliveries"],
        "occupant_vulnerable": True,
        "outcome": "Occupant engaged; dealers not present",
        "intelligence_count": 2,
        "intelligence_grading": "3x5x2",
        "calling_card": True,
        "marker": {
            "reason_category": "cuckooing",
            "grading_advice": "Attend in pairs; occupant vulnerable",
            "review_due": (TODAY + timedelta(days=90)).isoformat(),
        },
        "protection_plan": {
            "visit_cadence_days": 14,
            "review_due": (TODAY + timedelta(days=60)).isoformat(),
        },
        "referrals": [{"partner_org_id": HEALTH, "service": "mental_health"}],
        "kit": {"naloxone": 2, "sharps_box": 1},
    }
    body.update(extra)
    return VisitInput.model_validate(body)


def _audit(conn: Connection, object_type: str, object_id: int, action: str) -> int:
    set_actor(conn, Actor.system())  # only auditors read the log
    n: int = conn.execute(
        text(
            "SELECT count(*) FROM audit_log WHERE object_type = :t AND object_id = :i "
            "AND action = :a"
        ),
        {"t": object_type, "i": str(object_id), "a": action},
    ).scalar_one()
    return n


def test_visit_with_marker_plan_and_referral(app_conn: Connection, world: World) -> None:
    actor = world.actors["visit_team"]
    set_actor(app_conn, actor)
    out = record_visit(app_conn, _visit(world))
    assert out.marker_id and out.plan_id and len(out.referral_ids) == 1
    marker = app_conn.execute(
        text(
            "SELECT uprn, visit_id, org_id, author_user_id, area_id, geom IS NOT NULL AS placed "
            "FROM safe_markers WHERE marker_id = :m"
        ),
        {"m": out.marker_id},
    ).one()
    assert (marker.uprn, marker.visit_id, marker.org_id) == (world.homes_a[3], out.visit_id, POLICE)
    assert marker.author_user_id == actor.user_id and marker.placed
    visit = get_visit(app_conn, out.visit_id, reason="checking the recorded package")
    assert visit.team_org_id == POLICE and visit.calling_card
    assert visit.kit == {"naloxone": 2, "sharps_box": 1}
    assert [r["service"] for r in visit.referrals] == ["mental_health"]
    assert _audit(app_conn, "visit", out.visit_id, "collection") == 1
    assert _audit(app_conn, "safe_marker", out.marker_id, "collection") == 1
    assert _audit(app_conn, "protection_plan", out.plan_id, "collection") == 1
    assert _audit(app_conn, "referral", out.referral_ids[0], "collection") == 1
    assert _audit(app_conn, "visit", out.visit_id, "consultation") == 1


def test_partner_sees_and_updates_only_its_referrals(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    out = record_visit(
        app_conn,
        _visit(
            world,
            marker=None,
            protection_plan=None,
            referrals=[
                {"partner_org_id": HEALTH, "service": "mental_health"},
                {"partner_org_id": "t-housing-a", "service": "housing"},
            ],
        ),
    )
    police_view = {r.referral_id for r in list_referrals(app_conn, "weekly tasking")}
    assert set(out.referral_ids) <= police_view
    set_actor(app_conn, world.actors["health"])
    seen = list_referrals(app_conn, "our work queue")
    assert seen and {r.partner_org_id for r in seen} == {HEALTH}
    mine = next(r for r in seen if r.visit_id == out.visit_id)
    updated = update_referral(
        app_conn, mine.referral_id, ReferralUpdate(status="accepted", version=mine.version)
    )
    assert updated.status == "accepted" and updated.version == mine.version + 1
    with pytest.raises(ConflictError, match="changed since"):
        update_referral(app_conn, mine.referral_id, ReferralUpdate(status="engaged", version=1))
    with pytest.raises(ConflictError, match="cannot go from accepted to made"):
        update_referral(app_conn, mine.referral_id, ReferralUpdate(status="made", version=2))
    other = next(i for i in out.referral_ids if i != mine.referral_id)
    with pytest.raises(NotFoundError):  # made to housing A: invisible to health
        update_referral(app_conn, other, ReferralUpdate(status="accepted", version=1))
    with pytest.raises(NotFoundError):  # partners never see the visit itself
        get_visit(app_conn, out.visit_id, reason="curious")
    set_actor(app_conn, world.actors["housing_a"])  # no 'referrals' class in its agreement
    assert list_referrals(app_conn, "our work queue") == []


def test_closing_needs_an_outcome(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    out = record_visit(app_conn, _visit(world, marker=None, protection_plan=None))
    set_actor(app_conn, world.actors["health"])
    with pytest.raises(UserInputError, match="outcome"):
        update_referral(app_conn, out.referral_ids[0], ReferralUpdate(status="closed", version=1))
    done = update_referral(
        app_conn,
        out.referral_ids[0],
        ReferralUpdate(status="closed", outcome="Declined support", version=1),
    )
    assert done.outcome == "Declined support"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"visited_on": (TODAY + timedelta(days=1)).isoformat()}, "in the future"),
        (
            {
                "marker": {
                    "reason_category": "cuckooing",
                    "grading_advice": "pairs",
                    "review_due": TODAY.isoformat(),
                }
            },
            "marker review",
        ),
        (
            {"referrals": [{"partner_org_id": "no-such-org", "service": "housing"}]},
            "unknown partner",
        ),
        ({"team_user_ids": [999_998, 999_999]}, "team members not found"),
    ],
)
def test_bad_visits_are_refused(
    app_conn: Connection, world: World, extra: dict[str, Any], message: str
) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    with pytest.raises(UserInputError, match=message):
        record_visit(app_conn, _visit(world, **extra))


def test_model_validation_refuses_a_team_of_one_and_names(world: World) -> None:
    me = world.actors["visit_team"].user_id
    with pytest.raises(ValidationError, match="team of two"):
        _visit(world, team_user_ids=[me, me])
    with pytest.raises(ValidationError, match="subject_ref"):
        _visit(world, subject_ref="Jane Smith")


def test_other_organisations_cannot_record_or_read(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["housing_a"])
    with pytest.raises(PermissionDeniedError):  # sees its homes, has no visits class
        record_visit(app_conn, _visit(world))
    set_actor(app_conn, world.actors["lapsed"])
    with pytest.raises(PermissionDeniedError):  # its agreement has expired
        record_visit(app_conn, _visit(world))
    assert list_visits(app_conn, reason="looking") == []
    with pytest.raises(UserInputError, match="reason"):
        list_visits(app_conn, reason=" ")


def test_team_from_another_organisation_is_refused(app_conn: Connection, world: World) -> None:
    set_actor(app_conn, world.actors["visit_team"])
    others = [world.actors["housing_a"].user_id, world.actors["planner"].user_id]
    with pytest.raises(UserInputError, match="team members not found"):
        record_visit(app_conn, _visit(world, team_user_ids=others))


def _score(conn: Connection, uprn: int) -> float:
    set_actor(conn, Actor.system())
    value: float = conn.execute(
        text("SELECT score FROM risk_scores WHERE uprn = :u AND model_version = :m"),
        {"u": uprn, "m": load(conn).version},
    ).scalar_one()
    return value


def test_a_visit_the_risk_model_reads_rescores_its_address(
    app_conn: Connection, world: World
) -> None:
    set_actor(app_conn, Actor.system())
    score(app_conn, area_id=NORTH)  # a full run of the default model: scores to keep fresh
    home, other = world.homes_a[5], world.homes_a[8]
    before = _score(app_conn, home)
    bare: dict[str, Any] = {"marker": None, "protection_plan": None, "referrals": [], "kit": {}}
    # Signs and a SAFE marker feed no risk factor: nothing to re-score, and indeed a re-score
    # would not move the score.
    set_actor(app_conn, world.actors["visit_team"])
    plain = {"subject_type": "other", "occupant_vulnerable": False, "protection_plan": None}
    quiet = record_visit(app_conn, _visit(world, uprn=home, referrals=[], kit={}, **plain))
    assert quiet.rescore == "not_needed" and quiet.marker_id is not None
    set_actor(app_conn, Actor.system())
    assert rescore_visit(app_conn, quiet.visit_id)[0] == "done"
    assert _score(app_conn, home) == pytest.approx(before)
    # A vulnerable, cuckooed occupant: the visit team may not write scores, so it is deferred
    # to the system, which raises the score.
    set_actor(app_conn, world.actors["visit_team"])
    out = record_visit(app_conn, _visit(world, uprn=home, **bare))
    assert (out.rescore, out.rescored) == ("deferred", None)
    assert _score(app_conn, home) == pytest.approx(before)
    # ... as a request the system worker (`hardening risk drain`) does.
    done_now = {(d.cause, d.object_id): d.outcome for d in queue.drain(app_conn)}
    assert done_now[("visit", out.visit_id)].startswith("re-scored")  # (others' may wait too)
    assert queue.drain(app_conn) == []
    raised = _score(app_conn, home)
    assert raised > before + 5
    # An admin's visit is re-scored in its own transaction, and the run names its cause.
    was = _score(app_conn, other)
    set_actor(app_conn, world.actors["admin"])
    done = record_visit(app_conn, _visit(world, uprn=other, **bare))
    assert done.rescore == "done" and done.rescored == 1
    assert _score(app_conn, other) > was + 5
    assert (
        app_conn.execute(
            text("SELECT count(*) FROM risk_runs WHERE mode = 'incremental' AND cause = :c"),
            {"c": json.dumps({"visit": done.visit_id})},
        ).scalar_one()
        == 1
    )
