"""hardening: cuckooing risk, SAFE markers, security works and camera planning on PostGIS."""

__version__ = "0.1.0"
