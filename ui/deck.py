"""pydeck for the pages: a Deck whose JSON is compact.

pydeck serialises with `indent=2`; for a map of a million-address town that doubles what the
browser downloads and parses (about 5 MB instead of 2.4 MB) for nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Final

import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from hardening.layers import DensityCell

TOWN_KM: Final = 5.0  # the opening view gathers the squares this close to the fullest one


class CompactDeck(pdk.Deck):  # type: ignore[misc]  # pydeck is untyped
    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def busiest_view(cells: Sequence[DensityCell], fallback: dict[str, Any]) -> pdk.ViewState:
    """The user's busiest place at the fallback's zoom: the count-weighted centre of the squares
    within TOWN_KM of the fullest one they may see (a Carlisle planner opens on Carlisle, and a
    county-wide one on its biggest town, not on the empty fells between towns)."""
    if not cells:
        return pdk.ViewState(**fallback)
    top = max(cells, key=lambda c: c.count)
    dlat = TOWN_KM / 111.2
    dlon = dlat / math.cos(math.radians(top.lat))
    near = [c for c in cells if abs(c.lat - top.lat) <= dlat and abs(c.lon - top.lon) <= dlon]
    weights = [max(c.count, 1) for c in near]
    return pdk.ViewState(
        longitude=sum(c.lon * w for c, w in zip(near, weights, strict=True)) / sum(weights),
        latitude=sum(c.lat * w for c, w in zip(near, weights, strict=True)) / sum(weights),
        zoom=fallback["zoom"],
    )
