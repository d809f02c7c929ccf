"""A hand-built pair of towns for the control-room tests (matching, markers, look-up), and tests
of the database side that keeps the street vocabulary current.

Testbury and Otherton both have a Ramsden Street with a number 12; Testbury's 12 is a block of
three flats with a 12A beside it and a 21 further along; Cedar Avenue and Cedar Road share a
number. Everything is inserted as the system actor inside the test's rolled-back transaction,
in the test world's north area, so the world's police actors see it and housing ones do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text
from world import NORTH, World

from hardening.addresses import vocabulary
from hardening.geo import to_lon_lat

UPRN = 6_200_000_000
BLOCK_XY = (423_000.0, 523_000.0)
ROWS = (
    # key, uprn offset, parent key, sub_building, number, street, town, postcode, type, dx, dy
    ("block", 1, None, None, "12", "Ramsden Street", "Testbury", "TB1 1AA", "block", 0, 0),
    ("flat1", 2, "block", "Flat 1", "12", "Ramsden Street", "Testbury", "TB1 1AA", "flat", 0, 0),
    ("flat2", 3, "block", "Flat 2", "12", "Ramsden Street", "Testbury", "TB1 1AA", "flat", 0, 0),
    ("flat3", 4, "block", "Flat 3", "12", "Ramsden Street", "Testbury", "TB1 1AA", "flat", 0, 0),
    ("rs12a", 5, None, None, "12A", "Ramsden Street", "Testbury", "TB1 1AA", "house", 3, 0),
    ("rs21", 6, None, None, "21", "Ramsden Street", "Testbury", "TB1 1AB", "house", 30, 20),
    ("other12", 7, None, None, "12", "Ramsden Street", "Otherton", "OT2 2BB", "house", 1500, 1500),
    ("cedar_ave", 8, None, None, "5", "Cedar Avenue", "Testbury", "TB1 2CD", "house", 500, 500),
    ("cedar_rd", 9, None, None, "5", "Cedar Road", "Testbury", "TB1 2CE", "house", 600, 600),
    ("far40", 10, None, None, "40", "Ramsden Street", "Testbury", "TB1 1AB", "house", 800, 900),
)


@dataclass(frozen=True)
class Town:
    uprns: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.uprns[key]


def full_address(sub: str | None, number: str, street: str, town: str, postcode: str) -> str:
    return ", ".join(p for p in (sub, f"{number} {street}", town, postcode) if p)


def block_lon_lat() -> tuple[float, float]:
    return to_lon_lat(*BLOCK_XY)


def build_town(conn: Connection, world: World) -> Town:
    """Insert the two towns (one statement, so the vocabulary trigger fires once) and three
    incidents: one recent and near the block, one old, one far away."""
    uprns = {key: UPRN + offset for key, offset, *_ in ROWS}
    values = []
    params: dict[str, object] = {"area": NORTH}
    for i, (key, _, parent, sub, number, street, town, postcode, kind, dx, dy) in enumerate(ROWS):
        values.append(
            f"(:u{i}, :p{i}, :area, :full{i}, :sub{i}, :num{i}, :street{i}, :town{i}, :pc{i}, "
            f":kind{i}, ST_SetSRID(ST_MakePoint(:x{i}, :y{i}), 27700))"
        )
        params |= {
            f"u{i}": uprns[key],
            f"p{i}": uprns[parent] if parent else None,
            f"full{i}": full_address(sub, number, street, town, postcode),
            f"sub{i}": sub,
            f"num{i}": number,
            f"street{i}": street,
            f"town{i}": town,
            f"pc{i}": postcode,
            f"kind{i}": kind,
            f"x{i}": BLOCK_XY[0] + dx,
            f"y{i}": BLOCK_XY[1] + dy,
        }
    conn.execute(
        text(
            "INSERT INTO addresses (uprn, parent_uprn, area_id, full_address, sub_building, "
            "house_number, street, town, postcode, property_type, geom) VALUES " + ", ".join(values)
        ),
        params,
    )
    now = datetime.now(UTC)
    for ref, days, dx in (("near-recent", 3, 150), ("near-old", 100, 150), ("far-recent", 2, 900)):
        conn.execute(
            text(
                "INSERT INTO incidents (source, source_ref, kind, category, occurred_at, area_id, "
                "geom) VALUES ('cr-test', :ref, 'incident', 'drug_dealing', :at, :area, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 27700))"
            ),
            {
                "ref": ref,
                "at": now - timedelta(days=days),
                "area": NORTH,
                "x": BLOCK_XY[0] + dx,
                "y": BLOCK_XY[1],
            },
        )
    return Town(uprns)


# -- the vocabulary the database keeps ---------------------------------------------------------
def test_new_streets_enter_the_vocabulary_and_change_its_stamp(
    app_conn: Connection, world: World
) -> None:
    build_town(app_conn, world)
    before = app_conn.execute(text("SELECT stamp FROM address_vocabulary_state")).scalar_one()
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, house_number, street, town, "
            "property_type, geom) VALUES (:u, 'test-north', '1 Stampede Lane, Testbury', '1', "
            "'Stampede Lane', 'Testbury', 'house', ST_SetSRID(ST_MakePoint(423000, 523000), 27700))"
        ),
        {"u": UPRN + 50},
    )
    after = app_conn.execute(text("SELECT stamp FROM address_vocabulary_state")).scalar_one()
    assert after != before  # a street the vocabulary did not have
    rows = set(
        app_conn.execute(
            text("SELECT street, town, postcode FROM address_vocabulary WHERE street LIKE 'R%'")
        ).all()
    )
    assert {
        ("Ramsden Street", "Testbury", "TB1 1AA"),
        ("Ramsden Street", "Testbury", "TB1 1AB"),
        ("Ramsden Street", "Otherton", "OT2 2BB"),
    } <= rows
    vocab = vocabulary.current(app_conn)
    assert vocab.stamp == after
    assert {("Stampede Lane", "Testbury"), ("Ramsden Street", "Otherton")} <= {
        (s.name, s.town) for s in vocab.streets
    }
    # A re-import that changes nothing adds nothing and keeps the stamp (and the cache).
    app_conn.execute(text("UPDATE addresses SET tenure = tenure WHERE uprn = :u"), {"u": UPRN + 1})
    assert (
        app_conn.execute(text("SELECT stamp FROM address_vocabulary_state")).scalar_one() == after
    )
    assert vocabulary.current(app_conn) is vocab


def test_the_application_cannot_write_the_vocabulary(app_conn: Connection) -> None:
    privileges = app_conn.execute(
        text(
            "SELECT has_table_privilege('hardening_app', 'address_vocabulary', 'INSERT'), "
            "has_table_privilege('hardening_app', 'address_vocabulary_state', 'UPDATE'), "
            "has_table_privilege('hardening_app', 'address_vocabulary', 'SELECT')"
        )
    ).one()
    assert tuple(privileges) == (False, False, True)


def test_rebuild_forgets_streets_no_address_uses(app_conn: Connection, world: World) -> None:
    town = build_town(app_conn, world)
    app_conn.execute(text("DELETE FROM incidents WHERE source = 'cr-test'"))
    app_conn.execute(text("DELETE FROM addresses WHERE uprn = :u"), {"u": town["cedar_rd"]})
    assert vocabulary.rebuild(app_conn) > 0
    streets = app_conn.execute(text("SELECT street FROM address_vocabulary")).scalars().all()
    assert "Cedar Road" not in streets and "Cedar Avenue" in streets


def test_a_marker_takes_its_address_point(app_conn: Connection, world: World) -> None:
    town = build_town(app_conn, world)
    app_conn.execute(
        text(
            "INSERT INTO safe_markers (uprn, scope, reason_category, grading_advice, org_id, "
            "review_due, area_id, geom) VALUES (:u, 'address', 'other', 'Check plan', 't-police', "
            "current_date + 30, :area, ST_SetSRID(ST_MakePoint(400000, 500000), 27700))"
        ),
        {"u": town["rs21"], "area": NORTH},
    )
    point = app_conn.execute(
        text(
            "SELECT ST_X(m.geom) - ST_X(a.geom), ST_Y(m.geom) - ST_Y(a.geom) FROM safe_markers m "
            "JOIN addresses a USING (uprn) WHERE m.uprn = :u"
        ),
        {"u": town["rs21"]},
    ).one()
    assert tuple(point) == (0.0, 0.0)  # the client's point is ignored
    app_conn.execute(
        text("UPDATE addresses SET geom = ST_Translate(geom, 10, 0) WHERE uprn = :u"),
        {"u": town["rs21"]},
    )
    moved = app_conn.execute(
        text("SELECT ST_X(geom) FROM safe_markers WHERE uprn = :u"), {"u": town["rs21"]}
    ).scalar_one()
    assert moved == BLOCK_XY[0] + 40


def test_the_audit_chain_head_is_one_index_probe(owner_conn: Connection) -> None:
    """Each look-up appends an audit row; the chain trigger's read of its chain's newest row
    (sql/032) must not sort the whole log."""
    owner_conn.execute(text("SET LOCAL enable_seqscan = off"))  # as on a large log
    plan = "\n".join(
        owner_conn.execute(
            text("EXPLAIN SELECT * FROM audit_log WHERE chain = 3 ORDER BY chain_seq DESC LIMIT 1")
        ).scalars()
    )
    assert "audit_log_chain_head" in plan and "Sort" not in plan, plan


def test_text_only_rows_switch_on_the_trigram_fallback(app_conn: Connection) -> None:
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) VALUES "
            "(:u, 'test-north', '3 Nameless Row', 'house', "
            "ST_SetSRID(ST_MakePoint(423000, 523000), 27700))"
        ),
        {"u": UPRN + 60},
    )
    assert app_conn.execute(text("SELECT text_only FROM address_vocabulary_state")).scalar_one()
    assert vocabulary.current(app_conn).text_only
