"""Feature collections: the layers each user may see, read under row-level security, for the
OGC API Features router (`hardening.ogc`) and the exports (GeoPackage, GeoJSON, CSV)."""
