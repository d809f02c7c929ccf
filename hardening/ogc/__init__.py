"""OGC API - Features under /ogc (see api.py)."""
