"""`hardening match`: free text to UPRN, one address or a CSV file of them.

    hardening match "flat 3, 12 ramsden st, barrow" --json
    hardening match --input calls.csv --column address --output matched.csv

Registered on the root app with `register(app)` (a command, not a group, so the text is its
argument). Runs as the system actor, on the server.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hardening.addresses import vocabulary
from hardening.addresses.match import MatchResult, match, match_many
from hardening.addresses.parse import MAX_QUERY_CHARS
from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.errors import UserInputError

CHUNK = 20_000  # queries per database round trip in a batch
OUTPUT_COLUMNS = (
    "id",
    "address",
    "status",
    "uprn",
    "confidence",
    "matched_address",
    "runner_up_uprn",
    "runner_up_confidence",
    "runner_up_address",
)


def _human(result: dict[str, Any]) -> str:
    lines = [f"{result['status']}  confidence {result['confidence']:.3f}"]
    for c in result["candidates"]:
        lines.append(f"  {c['uprn']:>13}  {c['confidence']:.3f}  {c['full_address']}")
    return "\n".join(lines)


def _row(identifier: str, text_value: str, result: MatchResult | None) -> list[Any]:
    if result is None:
        return [identifier, text_value, "no_match", "", "", "", "", "", ""]
    best, second = result.best, result.runner_up
    return [
        identifier,
        text_value,
        result.status,
        best.uprn if best else "",
        f"{best.confidence:.4f}" if best else "",
        best.full_address if best else "",
        second.uprn if second else "",
        f"{second.confidence:.4f}" if second else "",
        second.full_address if second else "",
    ]


def _read(path: Path, column: str, id_column: str | None) -> list[tuple[str, str]]:
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if column not in fields:
            raise UserInputError(
                f"{path}: no column {column!r} (columns: {', '.join(fields) or 'none'})"
            )
        if id_column is not None and id_column not in fields:
            raise UserInputError(f"{path}: no id column {id_column!r}")
        ids = id_column or ("id" if "id" in fields else None)
        return [
            (str(row[ids]) if ids else str(n), (row[column] or "").strip())
            for n, row in enumerate(reader, start=1)
        ]


def _batch(input_path: Path, column: str, id_column: str | None, output: Path) -> dict[str, Any]:
    rows = _read(input_path, column, id_column)
    usable = [i for i, (_, t) in enumerate(rows) if t and len(t) <= MAX_QUERY_CHARS]
    results: dict[int, MatchResult] = {}
    started = time.perf_counter()
    with system_connection() as conn:
        for start in range(0, len(usable), CHUNK):
            chunk = usable[start : start + CHUNK]
            for i, result in zip(chunk, match_many(conn, [rows[i][1] for i in chunk]), strict=True):
                results[i] = result
            info(f"matched {min(start + CHUNK, len(usable)):,} of {len(usable):,}")
    seconds = time.perf_counter() - started
    counts: dict[str, int] = {}
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        for i, (identifier, text_value) in enumerate(rows):
            found = results.get(i)
            writer.writerow(_row(identifier, text_value, found))
            status = found.status if found else "no_match"
            counts[status] = counts.get(status, 0) + 1
    return {
        "input": str(input_path),
        "output": str(output),
        "rows": len(rows),
        "skipped_empty_or_long": len(rows) - len(usable),
        "statuses": counts,
        "seconds": round(seconds, 2),
    }


def register(app: typer.Typer) -> None:
    @app.command("match")
    def match_command(
        text_value: Annotated[
            str | None, typer.Argument(metavar="TEXT", help="An address as a caller said it.")
        ] = None,
        input_path: Annotated[
            Path | None, typer.Option("--input", help="CSV file of addresses to match.")
        ] = None,
        column: Annotated[str, typer.Option(help="Column holding the address text.")] = "address",
        id_column: Annotated[
            str | None, typer.Option(help="Column with row ids [default: 'id' if present].")
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", help="CSV file to write (with --input).")
        ] = None,
        top: Annotated[int, typer.Option(min=1, max=20, help="Candidates shown.")] = 5,
        rebuild: Annotated[
            bool,
            typer.Option("--rebuild-vocabulary", help="Rebuild the street vocabulary and exit."),
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Match free-text addresses to UPRNs (one TEXT, or --input FILE --output FILE)."""
        if rebuild:
            with system_connection() as conn:
                count = vocabulary.rebuild(conn)
            emit({"vocabulary_rows": count}, as_json, lambda d: f"{d['vocabulary_rows']} rows")
            return
        if (text_value is None) == (input_path is None):
            raise UserInputError("give an address TEXT or --input FILE (one of the two)")
        if input_path is not None:
            if output is None:
                raise UserInputError("--input needs --output FILE for the results")
            report = _batch(input_path, column, id_column, output)
            emit(report, as_json, lambda d: f"wrote {d['rows']} rows to {d['output']}")
            return
        assert text_value is not None
        with system_connection() as conn:
            result = match(conn, text_value, top)
        emit(result.as_dict(), as_json, _human)
        if result.status == "no_match" and not as_json:
            sys.stderr.write("no address matched\n")
