"""`hardening serve`: run the HTTP API (filled in by the API skeleton work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve() -> None:
        """Run the HTTP API."""
        raise typer.Exit(2)
