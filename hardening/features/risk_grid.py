"""The `risk-cells` collection: dwellings and high-risk dwellings per 250 m BNG square, for
planners, after disclosure control; never a household's band.

Counts come from the SECURITY DEFINER `risk_grid_counts` (sql/011_risk_grid.sql) and each is
published by `hardening.security.disclosure.publishable`: under 10 withheld, the rest rounded to
the nearest 5. A square is always counted whole, whatever part of it a bbox covers, so moving a
bbox edge across a square cannot single out the homes on one side of it; a square's value is
the same in every request. The layer publishes no totals (numberMatched counts squares), so
`publish_grid`'s secondary suppression, which protects published row and column totals, has
nothing to protect here; the vector tiles' risk squares (sql/012) follow the same rule. A
square is listed when its dwelling count is published; `high` (and `high_share`) are null when
withheld.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from sqlalchemy import Connection, text

from hardening import geo
from hardening.bbox import BBOX_BNG_SQL, BBox
from hardening.errors import NotFoundError, UserInputError
from hardening.features.source import GEOJSON_DECIMALS, Field, Page, Rows, geojson_feature
from hardening.security.disclosure import publishable

CELL_M: Final = 250
MAX_CELLS: Final = 100_000

FIELDS: Final = (
    Field("cell_id", "", "text"),
    Field("cell_m", "", "int"),
    Field("ix", "", "int"),
    Field("iy", "", "int"),
    Field("dwellings", "", "int"),
    Field("high", "", "int"),
    Field("high_share", "", "float"),
)


@dataclass(frozen=True)
class RiskCell:
    ix: int
    iy: int
    dwellings: int
    high: int | None

    @property
    def cell_id(self) -> str:
        return f"{self.ix}-{self.iy}"

    @property
    def high_share(self) -> float | None:
        return None if self.high is None else round(self.high / self.dwellings, 3)

    def properties(self) -> dict[str, Any]:
        return {
            "cell_id": self.cell_id,
            "cell_m": CELL_M,
            "ix": self.ix,
            "iy": self.iy,
            "dwellings": self.dwellings,
            "high": self.high,
            "high_share": self.high_share,
        }

    def square(self) -> Any:
        """The square in BNG (a shapely Polygon)."""
        x, y = self.ix * CELL_M, self.iy * CELL_M
        return shapely.box(x, y, x + CELL_M, y + CELL_M)


def _published(counts: list[Any]) -> list[RiskCell]:
    """Each square's counts as published; squares whose dwelling count is withheld left out."""
    cells = [
        RiskCell(r.ix, r.iy, shown, publishable(r.high))
        for r in counts
        if (shown := publishable(r.dwellings)) is not None
    ]
    return sorted(cells, key=lambda c: (c.iy, c.ix))


CellRange = tuple[int, int, int, int]  # first and last column, first and last row


def _counts(conn: Connection, cells: CellRange | None) -> list[Any]:
    """Raw counts of whole squares in the range (all the actor may count without one)."""
    within, params = "NULL::geometry", {}
    if cells is not None:
        ix0, ix1, iy0, iy1 = cells
        within = "ST_MakeEnvelope(:ex0, :ey0, :ex1, :ey1, 27700)"
        params = {"ex0": ix0 * CELL_M, "ey0": iy0 * CELL_M}
        params |= {"ex1": (ix1 + 1) * CELL_M, "ey1": (iy1 + 1) * CELL_M}
    rows = conn.execute(
        text(f"SELECT ix, iy, dwellings, high FROM risk_grid_counts(:cell, {within}) LIMIT :n"),
        {**params, "cell": CELL_M, "n": MAX_CELLS + 1},
    ).all()
    if len(rows) > MAX_CELLS:
        raise UserInputError(
            f"more than {MAX_CELLS} risk cells selected: narrow the request with a bbox"
        )
    if cells is None:
        return list(rows)
    # The envelope's far edges touch the next squares (partly counted): keep whole ones only.
    return [r for r in rows if cells[0] <= r.ix <= cells[1] and cells[2] <= r.iy <= cells[3]]


class RiskGridCollection:
    id = "risk-cells"
    title = "Risk cells (aggregated)"
    description = (
        f"Dwellings and dwellings in the high or very high cuckooing-risk band per {CELL_M} m "
        "square of the British National Grid, from the default risk model. Disclosure "
        "controlled: counts under 10 are withheld (null) and the rest rounded to the nearest 5."
    )
    geometry_type = "Polygon"
    may_read = "risk_grid_allowed()"
    needs_reason = False

    def cells(self, conn: Connection, bbox: BBox | None) -> list[RiskCell]:
        """Published cells intersecting the bbox (all the actor's areas without one)."""
        if bbox is not None and bbox.clipped is None:
            return []
        area = None
        cells: CellRange | None = None
        if bbox is not None:
            wkb = conn.execute(text(f"SELECT ST_AsBinary({BBOX_BNG_SQL})"), bbox.sql_params())
            area = shapely.from_wkb(bytes(wkb.scalar_one()))
            x0, y0, x1, y1 = area.bounds
            cells = (int(x0 // CELL_M), int(x1 // CELL_M), int(y0 // CELL_M), int(y1 // CELL_M))
        counts = _counts(conn, cells)
        published = _published(counts)
        if area is not None:
            shapely.prepare(area)
            published = [c for c in published if area.intersects(c.square())]
        return published

    def page(
        self,
        conn: Connection,
        bbox: BBox | None,
        limit: int,
        offset: int,
        count_cap: int,
        reason: str | None = None,
    ) -> Page:
        cells = self.cells(conn, bbox)
        return Page([_feature(c) for c in cells[offset : offset + limit]], len(cells))

    def item(self, conn: Connection, feature_id: str, reason: str | None = None) -> str:
        ix_text, _, iy_text = feature_id.partition("-")
        if (
            not (feature_id.isascii() and ix_text.isdigit() and iy_text.isdigit())
            or len(feature_id) > 24
        ):
            raise NotFoundError(f"no feature {feature_id!r} in {self.id}")
        ix, iy = int(ix_text), int(iy_text)
        for cell in _published(_counts(conn, (ix, ix, iy, iy))):
            if (cell.ix, cell.iy) == (ix, iy):
                return _feature(cell)
        raise NotFoundError(f"no feature {feature_id!r} in {self.id} (or it is withheld)")

    def rows(
        self,
        conn: Connection,
        bbox: BBox | None,
        srid: int,
        max_rows: int,
        reason: str | None = None,
    ) -> Rows:
        cells = self.cells(conn, bbox)
        if len(cells) > max_rows:
            raise UserInputError(f"more than {max_rows} risk cells selected: narrow the bbox")
        squares = np.array([c.square() for c in cells], dtype=object)
        if srid != geo.BNG and len(squares):
            squares = shapely.transform(squares, _to(srid))
        props = [c.properties() for c in cells]
        return Rows(
            fields=FIELDS,
            columns={f.name: [p[f.name] for p in props] for f in FIELDS},
            wkb=[bytes(w) for w in shapely.to_wkb(squares)] if len(squares) else [],
            srid=srid,
            geometry_type=self.geometry_type,
            ids=[c.cell_id for c in cells],
        )


def _to(srid: int) -> Any:
    transformer = geo.transformer(geo.BNG, srid)

    def transform(xy: Any) -> Any:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return transform


def _feature(cell: RiskCell) -> str:
    ring = shapely.get_coordinates(cell.square().exterior)
    lon, lat = geo.transformer(geo.BNG, geo.WGS84).transform(ring[:, 0], ring[:, 1])
    coords = [
        [round(float(x), GEOJSON_DECIMALS), round(float(y), GEOJSON_DECIMALS)]
        for x, y in zip(lon, lat, strict=True)
    ]
    square = {"type": "Polygon", "coordinates": [coords]}
    return json.dumps(geojson_feature(square, cell.properties(), cell.cell_id))
