"""Awareness training delivered to partners (sessions and attendees), for the yearly report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hardening.errors import UserInputError
from hardening.known import require_area, require_organisation
from hardening.models import Result
from hardening.security import audit

PartnerType = Literal[
    "nhs",
    "fire",
    "school",
    "housing",
    "probation",
    "council",
    "substance_misuse",
    "voluntary",
    "police",
    "other",
]
PARTNER_TYPES: tuple[str, ...] = get_args(PartnerType)
# An organisation's kind decides its partner type when the type is not given.
KIND_TO_TYPE = {
    "health": "nhs",
    "fire": "fire",
    "school": "school",
    "housing_provider": "housing",
    "probation": "probation",
    "council": "council",
    "substance_misuse": "substance_misuse",
    "voluntary": "voluntary",
    "police": "police",
    "other": "other",
}


def add_session(
    conn: Connection,
    area: str,
    delivered_on: date,
    topic: str,
    attendees: int,
    partner_org_id: str | None = None,
    partner_type: str | None = None,
    today: date | None = None,
) -> int:
    if not 3 <= len(topic.strip()) <= 200:
        raise UserInputError("the topic must be 3 to 200 characters")
    if not 1 <= attendees <= 1000:
        raise UserInputError("attendees must be between 1 and 1000")
    if delivered_on > (today or date.today()):
        raise UserInputError("a training session cannot be recorded before it is delivered")
    require_area(conn, area)
    if partner_org_id is not None:
        require_organisation(conn, partner_org_id)
        kind = conn.execute(
            text("SELECT kind FROM organisations WHERE org_id = :o"), {"o": partner_org_id}
        ).scalar_one()
        partner_type = partner_type or KIND_TO_TYPE[kind]
    if partner_type not in PARTNER_TYPES:
        raise UserInputError(
            f"give --partner-org or --partner-type (one of {', '.join(PARTNER_TYPES)})"
        )
    try:
        with conn.begin_nested():
            session_id: int = conn.execute(
                text(
                    "INSERT INTO training_sessions (area_id, delivered_on, partner_org_id, "
                    "partner_type, topic, attendees, created_by) VALUES (:a, :d, :o, :t, :topic, "
                    ":n, app_user_id()) RETURNING session_id"
                ),
                {
                    "a": area,
                    "d": delivered_on,
                    "o": partner_org_id,
                    "t": partner_type,
                    "topic": topic.strip(),
                    "n": attendees,
                },
            ).scalar_one()
    except IntegrityError as exc:
        raise UserInputError(f"cannot record the session: {exc.orig}") from exc
    audit.record(conn, "collection", "training_session", session_id, details={"area": area})
    return session_id


@dataclass(frozen=True)
class TrainingSession(Result):
    session_id: int
    area_id: str
    delivered_on: date
    partner_org_id: str | None
    partner_type: str
    topic: str
    attendees: int


def list_sessions(
    conn: Connection, year: int | None = None, area: str | None = None
) -> list[TrainingSession]:
    require_area(conn, area)
    rows = conn.execute(
        text(
            "SELECT session_id, area_id, delivered_on, partner_org_id, partner_type, topic, "
            "attendees FROM training_sessions WHERE (CAST(:y AS int) IS NULL OR "
            "extract(year FROM delivered_on) = :y) AND (CAST(:a AS text) IS NULL OR area_id = :a) "
            "ORDER BY delivered_on, session_id"
        ),
        {"y": year, "a": area},
    )
    return [TrainingSession(**r._mapping) for r in rows]
