"""Bulk upsert: re-loading the same rows changes nothing; changed rows are updated."""

from __future__ import annotations

from sqlalchemy import Connection, text

from hardening.db.bulk import upsert_rows

COLUMNS = ("hub_key", "kind", "name", "geom")


def _rows(name: str) -> list[tuple[str, ...]]:
    return [
        ("rail:AAA", "rail_station", "Alpha", "SRID=27700;POINT(320000 470000)"),
        ("rail:BBB", "rail_station", name, "SRID=27700;POINT(321000 471000)"),
    ]


def test_reload_is_unchanged_and_edits_update(app_conn: Connection) -> None:
    first = upsert_rows(app_conn, "transport_hubs", COLUMNS, _rows("Beta"), key=("hub_key",))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = upsert_rows(app_conn, "transport_hubs", COLUMNS, _rows("Beta"), key=("hub_key",))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    edited = upsert_rows(app_conn, "transport_hubs", COLUMNS, _rows("Bravo"), key=("hub_key",))
    assert (edited.inserted, edited.updated, edited.unchanged) == (0, 1, 1)
    names = app_conn.execute(text("SELECT name FROM transport_hubs ORDER BY hub_key")).scalars()
    assert list(names) == ["Alpha", "Bravo"]


def test_explicit_identity_values_move_the_sequence(app_conn: Connection) -> None:
    rows = [(40, "rail:CCC", "rail_station", "Gamma", "SRID=27700;POINT(320000 470000)")]
    counts = upsert_rows(
        app_conn, "transport_hubs", ("hub_id", *COLUMNS), rows, key=("hub_key",), identity="hub_id"
    )
    assert counts.inserted == 1
    next_id = app_conn.execute(
        text(
            "INSERT INTO transport_hubs (hub_key, kind, name, geom) VALUES ('rail:DDD', "
            "'rail_station', 'Delta', 'SRID=27700;POINT(1 1)') RETURNING hub_id"
        )
    ).scalar_one()
    assert next_id == 41
