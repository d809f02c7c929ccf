"""Render one vector tile of one layer as the acting user, in the caller's transaction.

Tiles outside Great Britain are empty without a query. Tiles of an audited registry entry
(markers) need a reason and append one audit row each through the entry's `record_read` (the
tile and the number of markers in it: with the time, that says exactly which markers were
shown, since markers keep their history).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError
from hardening.security import audit
from hardening.tiles.grid import TileId
from hardening.tiles.layers import LAYERS, Access, Shape, Statement, statement

MEDIA_TYPE: Final = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class Tile:
    data: bytes
    features: int
    shape: Shape | None  # None: nothing to draw for this actor here
    cell_m: int | None = None

    @property
    def empty(self) -> bool:
        return self.features == 0

    @property
    def etag(self) -> str:
        """A strong validator: the tile's own bytes (per user: tiles differ by actor)."""
        return '"' + hashlib.sha256(self.data).hexdigest()[:32] + '"'


def check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise NotFoundError(f"no tile layer {layer!r}: layers are {', '.join(LAYERS)}")


def tile_statement(conn: Connection, layer: str, tile: TileId) -> Statement | None:
    """The statement `render` would run (benchmarks run it bare as their reference)."""
    check_layer(layer)
    box = tile.bng_box()
    if box is None:
        return None
    # A registry layer's form does not depend on the actor (its rows do, through RLS).
    access = Access.of(conn) if LAYERS[layer].collection is None else None
    return statement(layer, tile, box, access)


def render(conn: Connection, layer: str, tile: TileId, reason: str | None = None) -> Tile:
    """The tile as the transaction's actor sees it."""
    check_layer(layer)
    info = LAYERS[layer]
    why = audit.reason_for(conn, reason) if info.needs_reason else None
    found = tile_statement(conn, layer, tile)
    if found is None:
        result = Tile(b"", 0, None)
    else:
        data, features = conn.execute(text(found.sql), found.params).one()
        result = Tile(bytes(data), int(features), found.shape, found.cell_m)
    if why is not None and info.collection is not None:
        where = f"{layer}/{tile.z}/{tile.x}/{tile.y}"
        info.collection.record_read(conn, why, [], {"tile": where, layer: result.features})
    return result
