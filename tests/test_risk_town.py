"""A hand-built street for the risk engine's tests: known distances and ages give known factor
values (the expected values are worked out beside the data). Imported by the other
test_risk_* modules; inserted as the system actor inside the test's rolled-back transaction.

Far from everything else any test loads (the world fixture, the Cumbrian open data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

AREA = "risk-town"
X0, Y0 = 150_000.0, 950_000.0
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
HOUSING, POLICE = "rt-housing", "rt-police"
UPRN = {
    "A": 7_000_000_001,  # house, social, west LSOA (decile 1), door measures, CCTV, prior report
    "B": 7_000_000_002,  # 300 m east of A, vulnerable occupant, warning notice
    "C": 7_000_000_003,  # 500 m east of A, faulty door chain, camera facing away
    "D": 7_000_000_004,  # 2 km east, east LSOA (decile 10), drug intelligence 150 m away
    "K": 7_000_000_010,  # a block (not scored) with entry system and lighting
    "F1": 7_000_000_011,  # flats of K: F1 had a cuckooing report
    "F2": 7_000_000_012,
    "F3": 7_000_000_013,
    "H": 7_000_000_020,  # HMO
    "S": 7_000_000_021,  # supported housing
}
XY = {
    "A": (X0, Y0),
    "B": (X0 + 300, Y0),
    "C": (X0 + 500, Y0),
    "D": (X0 + 2000, Y0),
    "K": (X0 - 500, Y0 + 500),
    "F1": (X0 - 500, Y0 + 500),
    "F2": (X0 - 500, Y0 + 500),
    "F3": (X0 - 500, Y0 + 500),
    "H": (X0 + 100, Y0 - 300),
    "S": (X0 - 300, Y0 - 300),
}
DWELLINGS = [name for name in UPRN if name != "K"]
DRUG_POINT = (X0, Y0 + 100)  # a drug-dealing report 30 days before AS_OF
HUB = (X0, Y0 + 250)

EXPECTED: dict[str, dict[str, float]] = {
    "prior_here": {"A": math.log(1.5), "F1": math.log(1 + 0.5**0.5)},
    "prior_block": {"F2": math.log(1 + 0.5**0.5), "F3": math.log(1 + 0.5**0.5)},
    "incidents_here": {"A": math.log(1 + 0.5 ** (365 / 180))},
    "near_repeat": {
        "A": math.log(1 + (1 - 100 / 400) * (1 - 30 / 60)),
        "B": math.log(1 + (1 - math.hypot(300, 100) / 400) * (1 - 30 / 60)),
    },
    "drug_market": {"A": math.log(1 + (1 - 0.25) ** 2), "D": math.log(1 + (1 - 0.75**2) ** 2)},
    "transport": {
        "A": 0.75,
        "B": 1 - math.hypot(300, 250) / 1000,
        "C": 1 - math.hypot(500, 250) / 1000,
        "F1": 1 - math.hypot(500, 250) / 1000,
        "F2": 1 - math.hypot(500, 250) / 1000,
        "F3": 1 - math.hypot(500, 250) / 1000,
        "H": 1 - math.hypot(100, 550) / 1000,
        "S": 1 - math.hypot(300, 550) / 1000,
    },
    "deprivation": {**{n: 1.0 for n in DWELLINGS if n != "D"}, "D": -1.0},
    "vulnerability": {"B": 1.0},
    "social_housing": {"A": 1.0, "F1": 1.0, "F2": 1.0, "F3": 1.0, "S": 1.0},
    "flat_in_block": {"F1": 1.0, "F2": 1.0, "F3": 1.0},
    "hmo": {"H": 1.0},
    "protection_door": {"A": 0.75},
    "protection_entry": {"F1": 1.0, "F2": 1.0, "F3": 1.0},
    "protection_cctv": {"A": 1.0},
    "protection_lighting": {"F1": 1.0, "F2": 1.0, "F3": 1.0},
    "protection_notice": {"B": 1.0},
}


@dataclass(frozen=True)
class Town:
    uprn: dict[str, int]
    incidents: dict[str, int]

    def name_of(self, uprn: int) -> str:
        return next(n for n, u in self.uprn.items() if u == uprn)


def _pt(x: float, y: float) -> str:
    return f"SRID=27700;POINT({x} {y})"


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=27700;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def build_town(conn: Connection, visits: bool = True, measures: bool = True) -> Town:
    run = conn.execute
    run(
        text("INSERT INTO areas VALUES (:a, 'Risk Town', CAST(:g AS geometry))"),
        {"a": AREA, "g": _square(X0 - 3000, Y0 - 3000, X0 + 3000, Y0 + 3000)},
    )
    run(
        text(
            "INSERT INTO organisations VALUES (:h, 'RT Housing', 'housing_provider'), "
            "(:p, 'RT Police', 'police')"
        ),
        {"h": HOUSING, "p": POLICE},
    )
    for code, decile, (x0, x1) in (
        ("E01990001", 1, (X0 - 3000, X0 + 1000)),
        ("E01990002", 10, (X0 + 1000, X0 + 3000)),
    ):
        run(
            text("INSERT INTO lsoas VALUES (:c, :c, :d, :a, CAST(:g AS geometry))"),
            {"c": code, "d": decile, "a": AREA, "g": _square(x0, Y0 - 3000, x1, Y0 + 3000)},
        )
    homes = {
        "A": ("house", "social_rented", None, None),
        "B": ("house", "owner_occupied", None, "E01990001"),
        "C": ("house", "private_rented", None, None),
        "D": ("house", "owner_occupied", None, None),
        "K": ("block", "social_rented", None, None),
        "F1": ("flat", "social_rented", "K", None),
        "F2": ("flat", "social_rented", "K", None),
        "F3": ("flat", "social_rented", "K", None),
        "H": ("hmo", "private_rented", None, None),
        "S": ("supported", "supported", None, None),
    }
    for name, (kind, tenure, parent, lsoa) in homes.items():
        run(
            text(
                "INSERT INTO addresses (uprn, parent_uprn, area_id, full_address, property_type, "
                "tenure, provider_org_id, lsoa_code, geom) VALUES (:u, :p, :a, :t, :k, :tn, :o, "
                ":l, CAST(:g AS geometry))"
            ),
            {
                "u": UPRN[name],
                "p": UPRN[parent] if parent else None,
                "a": AREA,
                "t": f"{name} Risk Street",
                "k": kind,
                "tn": tenure,
                "o": HOUSING if tenure in ("social_rented", "supported") else None,
                "l": lsoa,
                "g": _pt(*XY[name]),
            },
        )
    run(
        text("INSERT INTO transport_hubs (hub_key, kind, name, geom) VALUES ('rail:RTT', "
             "'rail_station', 'Risk Town', CAST(:g AS geometry))"),
        {"g": _pt(*HUB)},
    )  # fmt: skip
    incidents = {
        "cuck_A": ("cuckooing", "incident", "A", None, 180),
        "drug_N": ("drug_dealing", "incident", None, DRUG_POINT, 30),
        "asb_A": ("asb", "incident", "A", None, 365),
        "old_A": ("cuckooing", "incident", "A", None, 800),  # beyond the 730-day window
        "future_A": ("cuckooing", "incident", "A", None, -1),  # after AS_OF
        "cuck_F1": ("cuckooing", "incident", "F1", None, 90),
        "intel_D": ("drug_dealing", "intelligence", None, (X0 + 2000, Y0 + 150), 200),
    }
    ids = {}
    for ref, (category, kind, at, point, days) in incidents.items():
        ids[ref] = insert_incident(conn, ref, category, kind, at, point, days)
    if visits:
        for name, days in (("B", 100), ("C", 800)):
            run(
                text(
                    "INSERT INTO visits (area_id, uprn, visited_on, team_org_id, subject_ref, "
                    "subject_type, occupant_vulnerable) VALUES (:a, :u, :d, :p, 'SUBJ-0001', "
                    "'other', true)"
                ),
                {
                    "a": AREA,
                    "u": UPRN[name],
                    "d": (AS_OF - timedelta(days=days)).date(),
                    "p": POLICE,
                },
            )
    if measures:
        for name, code, status in (
            ("A", "spy_hole", "working"),
            ("A", "door_chain", "working"),
            ("C", "door_chain", "faulty"),
            ("K", "entry_system_fit", "working"),
            ("K", "lighting", "working"),
            ("B", "warning_notice", "working"),
        ):
            install(conn, UPRN[name], code, status)
        for ref, (x, y), bearing in (
            ("cam1", (X0, Y0 - 50), 0.0),
            ("cam2", (X0 + 500, Y0 - 50), 180.0),
        ):
            run(
                text(
                    "INSERT INTO cctv_sites (source, source_ref, bearing_deg, fov_deg, range_m, "
                    "area_id, geom) VALUES ('rt', :r, :b, 90, 80, :a, CAST(:g AS geometry))"
                ),
                {"r": ref, "b": bearing, "a": AREA, "g": _pt(x, y)},
            )
    return Town(dict(UPRN), ids)


def insert_incident(
    conn: Connection,
    ref: str,
    category: str,
    kind: str = "incident",
    at: str | None = None,
    point: tuple[float, float] | None = None,
    days: float = 1,
) -> int:
    """An incident `days` before AS_OF, at a named address (its UPRN and point) or a point."""
    x, y = point if point is not None else XY[at or "A"]
    return int(
        conn.execute(
            text(
                "INSERT INTO incidents (source, source_ref, kind, category, occurred_at, uprn, "
                "area_id, geom) VALUES ('rt', :r, :k, :c, :t, :u, :a, CAST(:g AS geometry)) "
                "RETURNING incident_id"
            ),
            {
                "r": ref,
                "k": kind,
                "c": category,
                "t": AS_OF - timedelta(days=days),
                "u": UPRN[at] if at else None,
                "a": AREA,
                "g": _pt(x, y),
            },
        ).scalar_one()
    )


def install(conn: Connection, uprn: int, code: str, status: str = "working") -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO installed_measures (uprn, measure_code, installed_on, status, "
                "area_id) VALUES (:u, :c, :d, :s, :a) RETURNING installed_id"
            ),
            {
                "u": uprn,
                "c": code,
                "d": (AS_OF - timedelta(days=10)).date(),
                "s": status,
                "a": AREA,
            },
        ).scalar_one()
    )


def test_the_town_is_where_the_expected_values_say(app_conn: Connection) -> None:
    build_town(app_conn)
    rows = app_conn.execute(
        text(
            "SELECT a.uprn, ST_Distance(a.geom, h.geom) FROM addresses a, transport_hubs h "
            "WHERE a.area_id = :a AND h.hub_key = 'rail:RTT'"
        ),
        {"a": AREA},
    ).all()
    distance = {UPRN_NAME[int(u)]: float(d) for u, d in rows}
    assert distance["A"] == 250.0
    assert math.isclose(distance["B"], math.hypot(300, 250))
    assert distance["D"] > 1000  # beyond the transport factor's reach


UPRN_NAME = {u: n for n, u in UPRN.items()}
