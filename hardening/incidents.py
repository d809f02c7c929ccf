"""Incident categories: the values of incidents.category (sql/001_core.sql CHECK), in that order."""

from __future__ import annotations

from typing import Final

INCIDENT_CATEGORIES: Final = (
    "cuckooing",
    "exploitation",
    "drug_dealing",
    "drug_possession",
    "threat_to_life",
    "violence",
    "weapons",
    "asb",
    "burglary",
    "robbery",
    "other_crime",
)
