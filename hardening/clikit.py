"""Shared CLI conventions: `--json` prints one JSON document on stdout and nothing else;
human output and progress go to stderr; domain errors become a one-line message and exit 1;
`system_engine_scope`/`system_connection` are the one way a command reaches the database."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from typer.core import TyperGroup

from hardening.db.engine import Actor, system_engine, transaction
from hardening.errors import HardeningError
from hardening.settings import get_settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2, allow_nan=False)


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print data as JSON on stdout, or its human rendering."""
    if as_json:
        sys.stdout.write(to_json(data) + "\n")
    else:
        typer.echo(human(data) if human else to_json(data))


@contextmanager
def system_engine_scope() -> Iterator[Engine]:
    """The schema owner's engine for one command (CLIs act as the system); disposed after, so
    a command never leaves pooled connections open behind it."""
    engine = system_engine(get_settings())
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def system_connection() -> Iterator[Connection]:
    """One transaction as the system actor, on an engine disposed when it ends."""
    with system_engine_scope() as engine, transaction(engine, Actor.system()) as conn:
        yield conn


def info(message: str) -> None:
    """Progress and notes: always stderr, so `--json` output stays clean."""
    typer.echo(message, err=True)


class DomainErrorGroup(TyperGroup):
    """The root command group: a domain error anywhere below becomes `error: <message>` on
    stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except HardeningError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        except ValidationError as exc:  # settings from the environment
            problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            typer.echo(f"error: {problems}", err=True)
            raise typer.Exit(1) from exc
