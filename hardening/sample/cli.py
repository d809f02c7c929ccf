"""`hardening sample ...` (filled in by the sample work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate and load the synthetic sample town.", no_args_is_help=True)
