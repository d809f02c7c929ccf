"""The sample on disk: one gzipped CSV per table plus manifest.json.

Files are written with gzip mtime 0 and no embedded file name, so the same tables always give
the same bytes (a test regenerates the committed set and compares). NULL is the empty field;
the generator never produces an empty string.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hardening.errors import UserInputError
from hardening.sample.generate import SampleSet
from hardening.sample.spec import GENERATOR_VERSION, REFERENCE_DATE, WINDOW_START
from hardening.sample.table import SPECS, TableSpec

MANIFEST: Final = "manifest.json"
COMPRESS_LEVEL: Final = 6


def file_name(table: str) -> str:
    return f"{table}.csv.gz"


@dataclass(frozen=True)
class TableSource:
    """Rows of one table from somewhere (a generated set or a file), in spec column order."""

    spec: TableSpec
    rows: Iterable[tuple[Any, ...]]
    expected: int | None = None  # rows the manifest promises, checked after loading
    origin: str = "generated"


def manifest(sample: SampleSet) -> dict[str, Any]:
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": sample.seed,
        "addresses": sample.addresses,
        "reference_date": REFERENCE_DATE.isoformat(),
        "window_start": WINDOW_START.isoformat(),
        "tables": sample.counts(),
    }


def write_set(sample: SampleSet, out: Path) -> list[Path]:
    """Write every table and the manifest into out (created if missing); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in sample.tables.items():
        path = out / file_name(name)
        with (
            path.open("wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=COMPRESS_LEVEL
            ) as gz,
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as text,
        ):
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(table.spec.columns)
            writer.writerows(("" if v is None else v for v in row) for row in table.rows())
        written.append(path)
    path = out / MANIFEST
    path.write_text(json.dumps(manifest(sample), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [*written, path]


def generated_sources(sample: SampleSet) -> list[TableSource]:
    return [TableSource(t.spec, t.rows(), len(t)) for t in sample.tables.values()]


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise UserInputError(
            f"no sample in {directory} ({MANIFEST} missing): run `hardening sample generate`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: not a readable manifest ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        raise UserInputError(f"{path}: a manifest needs a 'tables' object of row counts")
    return data


def file_sources(directory: Path) -> list[TableSource]:
    """Every table of the sample in directory, checked against the manifest before loading."""
    counts = read_manifest(directory)["tables"]
    unknown = sorted(set(counts) - {s.name for s in SPECS})
    if unknown:
        raise UserInputError(f"{directory / MANIFEST}: unknown tables {', '.join(unknown)}")
    sources = []
    for spec in SPECS:
        path = directory / file_name(spec.name)
        if spec.name not in counts:
            raise UserInputError(f"{directory / MANIFEST}: no entry for table {spec.name}")
        if not path.is_file():
            raise UserInputError(f"{path} is missing")
        sources.append(TableSource(spec, _read(path, spec), int(counts[spec.name]), str(path)))
    return sources


def _read(path: Path, spec: TableSpec) -> Iterator[tuple[Any, ...]]:
    """Rows of a table file; a bad header or ragged line names the file and line."""
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
            reader = csv.reader(text)
            header = tuple(next(reader, ()))
            if header != spec.columns:
                raise UserInputError(
                    f"{path}: header {','.join(header) or '(empty)'} does not match "
                    f"{spec.name}'s columns {','.join(spec.columns)}"
                )
            width = len(spec.columns)
            for row in reader:
                if len(row) != width:
                    raise UserInputError(
                        f"{path} line {reader.line_num}: {len(row)} fields, expected {width}"
                    )
                yield tuple(v if v != "" else None for v in row)
    except (OSError, EOFError, csv.Error, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: cannot read it as gzipped CSV ({exc})") from exc
