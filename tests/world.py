"""A small hand-built partnership for access-control tests, committed once per test session.

Two areas (north, south); police with every class in both; two housing providers with their
own homes in north; a planner org with aggregates only; a health partner receiving referrals;
and an organisation whose agreement has expired. Ids are chosen far from the sample's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, text

from hardening.db.engine import Actor
from hardening.risk.model import DEFAULT_VERSION

NORTH, SOUTH = "test-north", "test-south"
POLICE, HOUSING_A, HOUSING_B = "t-police", "t-housing-a", "t-housing-b"
PLANNERS, HEALTH, LAPSED = "t-planners", "t-health", "t-lapsed"
UPRN_BASE = 5_000_000_000


@dataclass(frozen=True)
class World:
    actors: dict[str, Actor]
    homes_a: list[int]
    homes_b: list[int]
    south_homes: list[int]


def _square(x: int, y: int, size: int) -> str:
    return (
        f"SRID=27700;MULTIPOLYGON((({x} {y},{x + size} {y},{x + size} {y + size},"
        f"{x} {y + size},{x} {y})))"
    )


def build(conn: Connection) -> World:
    """Insert the world (as the system actor) and return actors for each role."""
    today = date.today()
    x0, y0 = 420_000, 520_000  # an empty stretch of the grid, away from the sample town
    conn.execute(
        text("INSERT INTO areas VALUES (:a, 'Test North', :gn), (:b, 'Test South', :gs)"),
        {"a": NORTH, "b": SOUTH, "gn": _square(x0, y0, 5000), "gs": _square(x0, y0 - 5000, 5000)},
    )
    conn.execute(
        text(
            "INSERT INTO organisations VALUES (:p, 'T Police', 'police'), "
            "(:ha, 'T Housing A', 'housing_provider'), (:hb, 'T Housing B', 'housing_provider'), "
            "(:pl, 'T Planners', 'council'), (:h, 'T Health', 'health'), (:l, 'T Lapsed', 'other')"
        ),
        {"p": POLICE, "ha": HOUSING_A, "hb": HOUSING_B, "pl": PLANNERS, "h": HEALTH, "l": LAPSED},
    )
    agreements = [
        (
            POLICE,
            [
                "own_properties",
                "risk_band",
                "risk_factors",
                "markers",
                "visits",
                "referrals",
                "intelligence",
                "works",
                "sites",
            ],
            [NORTH, SOUTH],
            0,
        ),
        (HOUSING_A, ["own_properties", "risk_band", "works"], [NORTH], 0),
        (HOUSING_B, ["own_properties", "risk_band", "works"], [NORTH], 0),
        (PLANNERS, ["aggregates_only", "sites"], [NORTH, SOUTH], 0),
        (HEALTH, ["referrals"], [NORTH], 0),
        (
            LAPSED,
            ["own_properties", "risk_band", "markers", "visits", "intelligence"],
            [NORTH],
            -400,
        ),
    ]
    for org, classes, areas, offset in agreements:
        starts = today + timedelta(days=offset - 30)
        agreement_id = conn.execute(
            text(
                "INSERT INTO sharing_agreements (org_id, title, data_classes, starts_on, ends_on, "
                "review_on) VALUES (:o, 'test', :c, :s, :e, :e) RETURNING agreement_id"
            ),
            {"o": org, "c": classes, "s": starts, "e": starts + timedelta(days=365)},
        ).scalar_one()
        for area in areas:
            conn.execute(
                text("INSERT INTO agreement_areas VALUES (:a, :area)"),
                {"a": agreement_id, "area": area},
            )
    users = {
        "control_room": (POLICE, ["control_room"]),
        "visit_team": (POLICE, ["visit_team"]),
        "analyst": (POLICE, ["analyst"]),
        "admin": (POLICE, ["admin"]),
        "housing_a": (HOUSING_A, ["housing"]),
        "housing_b": (HOUSING_B, ["housing"]),
        "planner": (PLANNERS, ["planner"]),
        "health": (HEALTH, ["visit_team"]),
        "lapsed": (LAPSED, ["control_room", "visit_team", "housing"]),
    }
    actors: dict[str, Actor] = {}
    for name, (org, roles) in users.items():
        user_id = conn.execute(
            text(
                "INSERT INTO users (org_id, username, display_name, password_hash, roles) "
                "VALUES (:o, :u, :u, 'x', :r) RETURNING user_id"
            ),
            {"o": org, "u": f"t.{name.replace('_', '-')}", "r": roles},
        ).scalar_one()
        actors[name] = Actor(user_id, org, tuple(roles), f"t.{name}")
    homes: dict[str, list[int]] = {"a": [], "b": [], "south": []}
    for i in range(30):
        group = "a" if i < 10 else "b" if i < 20 else "south"
        provider = {"a": HOUSING_A, "b": HOUSING_B, "south": None}[group]
        uprn = UPRN_BASE + i
        y = y0 + 100 + i * 50 if group != "south" else y0 - 2000 - i * 20
        conn.execute(
            text(
                "INSERT INTO addresses (uprn, area_id, full_address, property_type, tenure, "
                "provider_org_id, geom) VALUES (:u, :area, :addr, 'house', :tenure, :p, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
            ),
            {
                "u": uprn,
                "area": SOUTH if group == "south" else NORTH,
                "addr": f"{i + 1} Test Street",
                "p": provider,
                "tenure": "social_rented" if provider else "owner_occupied",
                "x": x0 + 1000 + (i % 5) * 30,
                "y": y,
            },
        )
        homes[group].append(uprn)
    _events(conn, homes, today, actors)
    return World(actors, homes["a"], homes["b"], homes["south"])


def _events(
    conn: Connection, homes: dict[str, list[int]], today: date, actors: dict[str, Actor]
) -> None:
    conn.execute(text("INSERT INTO risk_models (model_version, params) VALUES ('t-1', '{}')"))
    for uprn in homes["a"] + homes["b"] + homes["south"]:
        area = SOUTH if uprn in homes["south"] else NORTH
        conn.execute(
            text(
                "INSERT INTO risk_scores (uprn, model_version, score, band, area_id) "
                "VALUES (:u, 't-1', 50, 'medium', :a)"
            ),
            {"u": uprn, "a": area},
        )
        conn.execute(
            text("INSERT INTO risk_explanations VALUES (:u, 't-1', '{\"intel\": 1.2}', :a)"),
            {"u": uprn, "a": area},
        )
    for provider, uprn in ((HOUSING_A, homes["a"][0]), (HOUSING_B, homes["b"][0])):
        conn.execute(
            text(
                "INSERT INTO work_orders (provider_org_id, uprn, measure_code, priority, due_at, "
                "area_id) VALUES (:p, :u, 'door_chain', 'urgent', now() + interval '7 days', :a)"
            ),
            {"p": provider, "u": uprn, "a": NORTH},
        )
    for uprn, area in ((homes["a"][1], NORTH), (homes["south"][0], SOUTH)):
        conn.execute(
            text(
                "INSERT INTO incidents (source, source_ref, kind, category, occurred_at, uprn, "
                "area_id, geom) SELECT 'test', :ref, 'intelligence', 'cuckooing', now(), uprn, "
                "area_id, geom FROM addresses WHERE uprn = :u"
            ),
            {"ref": f"t-{uprn}", "u": uprn},
        )
        visit_id = conn.execute(
            text(
                "INSERT INTO visits (area_id, uprn, visited_on, team_org_id, subject_ref, "
                "subject_type, review_due) VALUES (:a, :u, :d, :p, 'SUBJ-0001', "
                "'cuckooed_occupant', :d) RETURNING visit_id"
            ),
            {"a": area, "u": uprn, "d": today, "p": POLICE},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO safe_markers (uprn, scope, reason_category, grading_advice, org_id, "
                "visit_id, review_due, area_id) VALUES (:u, 'address', 'cuckooing', "
                "'Attend in pairs', :p, :v, :d, :a)"
            ),
            {"u": uprn, "p": POLICE, "v": visit_id, "d": today + timedelta(days=90), "a": area},
        )
        conn.execute(
            text(
                "INSERT INTO referrals (visit_id, partner_org_id, service, made_on, area_id) "
                "VALUES (:v, :h, 'mental_health', :d, :a)"
            ),
            {"v": visit_id, "h": HEALTH, "d": today, "a": area},
        )
    conn.execute(
        text(
            "INSERT INTO cctv_sites (source, source_ref, owner_org_id, bearing_deg, fov_deg, "
            "range_m, area_id, geom) VALUES ('test', 'cam-1', :p, 90, 60, 80, :a, "
            "ST_SetSRID(ST_MakePoint(421000, 520500), 27700))"
        ),
        {"p": POLICE, "a": NORTH},
    )


def drop_default_model_if_unused(conn: Connection) -> None:
    """Undo a test's storing of the default risk model, unless scores or runs now use it."""
    conn.execute(
        text(
            "DELETE FROM risk_models WHERE model_version = :v AND NOT EXISTS "
            "(SELECT 1 FROM risk_scores WHERE model_version = :v) AND NOT EXISTS "
            "(SELECT 1 FROM risk_runs WHERE model_version = :v)"
        ),
        {"v": DEFAULT_VERSION},
    )
