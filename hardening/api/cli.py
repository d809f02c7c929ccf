"""`hardening serve`: run the HTTP API under uvicorn with the app factory."""

from __future__ import annotations

from typing import Annotated

import typer

from hardening.clikit import info
from hardening.settings import get_settings

APP_FACTORY = "hardening.api.app:create_app"
# uvicorn's compiled HTTP parser and event loop (uvicorn[standard]), named rather than left to
# "auto" so that a missing one stops the server instead of silently serving on the pure-Python
# ones (measured in docs/capacity.md: about 10% more CPU per look-up). The Dockerfile,
# docker-compose.yml and benchmarks/serving.py name the same.
HTTP = "httptools"
LOOP = "uvloop"


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[
            str | None,
            typer.Option(help="Interface to listen on (default: HARDENING_API_HOST, 127.0.0.1)."),
        ] = None,
        port: Annotated[
            int | None,
            typer.Option(min=1, max=65535, help="Port (default: HARDENING_API_PORT, 8000)."),
        ] = None,
        reload: Annotated[bool, typer.Option(help="Restart when the code changes (dev).")] = False,
    ) -> None:
        """Run the HTTP API under uvicorn on httptools and uvloop (OpenAPI at /openapi.json,
        health at /healthz)."""
        import uvicorn

        settings = get_settings()
        host = host or settings.api_host
        port = port or settings.api_port
        info(f"serving {APP_FACTORY} on http://{host}:{port} ({HTTP}, {LOOP})")
        uvicorn.run(
            APP_FACTORY, factory=True, host=host, port=port, reload=reload, http=HTTP, loop=LOOP
        )
