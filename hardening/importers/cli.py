"""`hardening import ...` (filled in by the importers work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import public and partner datasets.", no_args_is_help=True)
