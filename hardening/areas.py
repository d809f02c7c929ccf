"""The force areas the partnership works in; every large table carries one of these ids."""

from __future__ import annotations

from typing import Final

AREAS: Final[dict[str, str]] = {
    "south-cumbria": "South Cumbria",
    "carlisle": "Carlisle",
    "west-cumbria": "West Cumbria",
}

# Local authority districts (as named in ONS LSOA names and Code-Point admin codes) per area.
AREA_DISTRICTS: Final[dict[str, tuple[str, ...]]] = {
    "south-cumbria": ("Barrow-in-Furness", "South Lakeland"),
    "carlisle": ("Carlisle",),
    "west-cumbria": ("Allerdale", "Copeland"),
}
DISTRICT_CODES: Final[dict[str, str]] = {
    "E07000027": "Barrow-in-Furness",
    "E07000031": "South Lakeland",
    "E07000028": "Carlisle",
    "E07000026": "Allerdale",
    "E07000029": "Copeland",
}
