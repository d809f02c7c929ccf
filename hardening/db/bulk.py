"""Bulk loads: COPY into a staging table, then one INSERT ... ON CONFLICT on the natural key.

Rows are validated before they get here (with line numbers); this layer makes a re-load of the
same rows change nothing and reports what was inserted, updated and left unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Connection


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one (same transaction)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw


def upsert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: Sequence[str],
    *,
    update: bool = True,
    identity: str | None = None,
) -> UpsertCounts:
    """Load rows into table; geometry columns take EWKT text (e.g. 'SRID=27700;POINT(x y)').

    With update=False existing keys are left as they are (counted unchanged). identity names a
    GENERATED ALWAYS column whose values the rows carry (stable ids of a generated data set):
    they are kept, and the column's sequence is moved past them.
    """
    raw = driver_connection(conn)
    target = sql.Identifier(table)
    stage = sql.Identifier(f"stage_{table}")
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    key_cols = sql.SQL(", ").join(map(sql.Identifier, key))
    with raw.cursor() as cur:
        # Same column types as the target, none of its constraints: CHECKs run on the INSERT.
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {stage}").format(stage=stage))
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {target} "
                "WITH NO DATA"
            ).format(stage=stage, cols=cols, target=target)
        )
        staged = 0
        with cur.copy(
            sql.SQL("COPY {stage} ({cols}) FROM STDIN").format(stage=stage, cols=cols)
        ) as copy:
            for row in rows:
                copy.write_row(row)
                staged += 1
        if staged == 0:
            return UpsertCounts(0, 0, 0)
        cur.execute(
            sql.SQL(
                "WITH written AS ("
                " INSERT INTO {target} ({cols}) {overriding}"
                " SELECT DISTINCT ON ({key_cols}) {cols} FROM {stage}"
                " ON CONFLICT ({key_cols}) {conflict}"
                " RETURNING (xmax = 0) AS inserted)"
                " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
                " FROM written"
            ).format(
                target=target,
                cols=cols,
                key_cols=key_cols,
                stage=stage,
                conflict=_on_conflict(
                    table, [c for c in columns if c not in (*key, identity)], update
                ),
                overriding=sql.SQL("OVERRIDING SYSTEM VALUE" if identity else ""),
            )
        )
        inserted, updated = _one(cur)
        if identity:
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), "
                    "GREATEST((SELECT max({col}) FROM {target}), 1))"
                ).format(col=sql.Identifier(identity), target=target),
                (table, identity),
            )
        cur.execute(
            sql.SQL("SELECT count(DISTINCT ({key_cols})), 0 FROM {stage}").format(
                key_cols=key_cols, stage=stage
            )
        )
        distinct, _ = _one(cur)
        return UpsertCounts(inserted, updated, distinct - inserted - updated)


def _on_conflict(table: str, values: Sequence[str], update: bool) -> sql.Composable:
    """Update only rows whose values changed, so a re-load writes (and counts) nothing."""
    if not update or not values:
        return sql.SQL("DO NOTHING")
    ident = [sql.Identifier(c) for c in values]
    return sql.SQL(
        "DO UPDATE SET {assign} WHERE ROW({current}) IS DISTINCT FROM ROW({incoming})"
    ).format(
        assign=sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=c) for c in ident),
        current=sql.SQL(", ").join(
            sql.SQL("{t}.{c}").format(t=sql.Identifier(table), c=c) for c in ident
        ),
        incoming=sql.SQL(", ").join(sql.SQL("EXCLUDED.{c}").format(c=c) for c in ident),
    )


def _one(cur: psycopg.Cursor[Any]) -> tuple[int, int]:
    row = cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
