"""HTTP API (FastAPI): app factory, routers per capability, the error map."""
