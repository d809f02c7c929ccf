"""Choices the visit and referral forms offer, read as the signed-in user (RLS applies)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class FormOptions:
    team: dict[int, str]  # user_id -> display name: the actor's organisation's visit team
    partners: dict[str, str]  # org_id -> name
    areas: dict[str, str]  # area_id -> name


def form_options(conn: Connection) -> FormOptions:
    team = conn.execute(
        text(
            "SELECT user_id, display_name FROM users WHERE active AND 'visit_team' = ANY(roles) "
            "AND (app_org_id() IS NULL OR org_id = app_org_id()) ORDER BY display_name"
        )
    ).all()
    partners = conn.execute(
        text("SELECT org_id, name FROM organisations WHERE kind <> 'police' ORDER BY name")
    ).all()
    areas = conn.execute(
        text(
            "SELECT area_id, name FROM areas WHERE app_is_system() "
            "OR area_id = ANY(app_areas()) ORDER BY name"
        )
    ).all()
    return FormOptions(
        team={r.user_id: r.display_name for r in team},
        partners={r.org_id: r.name for r in partners},
        areas={r.area_id: r.name for r in areas},
    )
