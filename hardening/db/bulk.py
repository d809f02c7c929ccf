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
) -> UpsertCounts:
    """Load rows into table; geometry columns take EWKT text (e.g. 'SRID=27700;POINT(x y)').

    With update=False existing keys are left as they are (counted unchanged).
    """
    raw = driver_connection(conn)
    stage = sql.Identifier(f"stage_{table}")
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    key_cols = sql.SQL(", ").join(map(sql.Identifier, key))
    values = [c for c in columns if c not in key]
    with raw.cursor() as cur:
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) "
                "ON COMMIT DROP"
            ).format(stage=stage, table=sql.Identifier(table))
        )
        cur.execute(sql.SQL("TRUNCATE {stage}").format(stage=stage))
        with cur.copy(
            sql.SQL("COPY {stage} ({cols}) FROM STDIN").format(stage=stage, cols=cols)
        ) as copy:
            staged = 0
            for row in rows:
                copy.write_row(row)
                staged += 1
        if staged == 0:
            return UpsertCounts(0, 0, 0)
        if update and values:
            target = sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in values
            )
            current = sql.SQL(", ").join(
                sql.SQL("{t}.{c}").format(t=sql.Identifier(table), c=sql.Identifier(c))
                for c in values
            )
            incoming = sql.SQL(", ").join(
                sql.SQL("EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in values
            )
            conflict: sql.Composable = sql.SQL(
                "DO UPDATE SET {target} WHERE ROW({current}) IS DISTINCT FROM ROW({incoming})"
            ).format(target=target, current=current, incoming=incoming)
        else:
            conflict = sql.SQL("DO NOTHING")
        cur.execute(
            sql.SQL(
                "WITH written AS ("
                " INSERT INTO {table} ({cols})"
                " SELECT DISTINCT ON ({key_cols}) {cols} FROM {stage}"
                " ON CONFLICT ({key_cols}) {conflict}"
                " RETURNING (xmax = 0) AS inserted)"
                " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
                " FROM written"
            ).format(
                table=sql.Identifier(table),
                cols=cols,
                key_cols=key_cols,
                stage=stage,
                conflict=conflict,
            )
        )
        result = cur.fetchone()
        assert result is not None
        inserted, updated = int(result[0]), int(result[1])
        cur.execute(
            sql.SQL("SELECT count(DISTINCT ({key_cols})) FROM {stage}").format(
                key_cols=key_cols, stage=stage
            )
        )
        distinct = cur.fetchone()
        assert distinct is not None
        return UpsertCounts(inserted, updated, int(distinct[0]) - inserted - updated)
