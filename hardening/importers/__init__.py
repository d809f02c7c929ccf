"""Importers of public and partner data (police.uk, Code-Point Open, LSOA/IMD, OSM, sites)."""
