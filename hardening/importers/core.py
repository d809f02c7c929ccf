"""The validate / report / load pattern every importer follows.

A parser turns each input row into a `Record` or a `RowError` (1-based line as the user sees it:
the header is line 1 of a CSV; OGR files count features from 1). Nothing is written while any
row is bad unless the caller asks to skip bad rows; then one upsert per table writes the rest.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from hardening.db.bulk import UpsertCounts, upsert_rows
from hardening.errors import UserInputError

Progress = Callable[[str], None]
SHOWN_REASONS = 5  # reasons quoted in the one-line error; --json carries all of them


class RowRejected(Exception):
    """Raised by a row parser: the message is the reason shown to the user."""


@dataclass(frozen=True)
class Origin:
    file: str
    line: int
    unit: str = "line"  # "feature" for OGR files


@dataclass(frozen=True)
class RowError:
    origin: Origin
    reason: str

    def describe(self, with_file: bool = False) -> str:
        where = f"{self.origin.unit} {self.origin.line}: {self.reason}"
        return f"{self.origin.file}: {where}" if with_file else where

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.origin.file, "line": self.origin.line, "reason": self.reason}


@dataclass(slots=True)
class Record:
    """One good input row: column values for the target table, plus its BNG anchor point
    (used to find the containing area) once coordinates are validated."""

    origin: Origin
    values: dict[str, Any]
    xy: tuple[float, float] | None = None  # coordinates as given, in the source CRS
    anchor: tuple[float, float] | None = None  # BNG easting, northing


@dataclass
class Batch:
    kind: str
    files: list[str]
    records: list[Record] = field(default_factory=list)
    rejects: list[RowError] = field(default_factory=list)
    skips: list[RowError] = field(default_factory=list)
    read: int = 0

    def reject(self, origin: Origin, reason: str) -> None:
        self.rejects.append(RowError(origin, reason))

    def drop(self, bad: dict[int, str]) -> None:
        """Move records (by index) to the rejects with the given reasons."""
        if not bad:
            return
        kept = []
        for i, record in enumerate(self.records):
            if i in bad:
                self.reject(record.origin, bad[i])
            else:
                kept.append(record)
        self.records = kept

    def sorted_rejects(self) -> list[RowError]:
        return sorted(self.rejects, key=lambda e: (e.origin.file, e.origin.line))


@dataclass
class ImportReport:
    kind: str
    files: list[str]
    read: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[RowError] = field(default_factory=list)
    skips: list[RowError] = field(default_factory=list)
    related: dict[str, dict[str, int]] = field(default_factory=dict)
    committed: bool = True
    # Importers that place rows in the partnership's areas (see AreaSplit): None elsewhere.
    areas: AreaSplit | None = None

    @classmethod
    def of(cls, batch: Batch, counts: UpsertCounts | None, committed: bool = True) -> ImportReport:
        counts = counts or UpsertCounts(0, 0, 0)
        return cls(
            kind=batch.kind,
            files=batch.files,
            read=batch.read,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
            rejects=batch.sorted_rejects(),
            skips=batch.skips,
            committed=committed,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "files": self.files,
            "read": self.read,
            "loaded": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejects),
            "skipped": len(self.skips),
            "committed": self.committed,
            "rejects": [e.to_dict() for e in self.rejects],
            "skips": [e.to_dict() for e in self.skips],
            "related": self.related,
            **({} if self.areas is None else self.areas.to_dict()),
        }

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.read} row(s) read from {len(self.files)} file(s): "
            f"{self.inserted} loaded, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejects)} rejected"
        )
        if self.skips:
            text += f", {len(self.skips)} skipped ({self.skips[0].reason})"
        for name, counts in self.related.items():
            text += f"; {name}: " + ", ".join(f"{v} {k}" for k, v in counts.items())
        if self.areas is not None:
            text += "\n" + self.areas.summary(self.kind.replace("-", " "))
        return text


@dataclass(frozen=True)
class AreaSplit:
    """How many loaded rows lie in the partnership's areas and how many outside them. Rows
    outside are kept for reference with area_id NULL: they count in no area's figures and the
    map does not draw them as an area's."""

    in_areas: int
    outside_areas: int
    areas_defined: int  # areas in the database when the rows were placed

    def to_dict(self) -> dict[str, int]:
        return {
            "in_areas": self.in_areas,
            "outside_areas": self.outside_areas,
            "areas_defined": self.areas_defined,
        }

    def summary(self, noun: str) -> str:
        total = self.in_areas + self.outside_areas
        if not self.areas_defined:
            return (
                f"{total:,} {noun} loaded with no area: no areas are defined yet (`hardening "
                "import lsoa` or `hardening area add`, then import again to place them)"
            )
        return (
            f"{total:,} {noun} read: {self.in_areas:,} in the partnership's areas, "
            f"{self.outside_areas:,} outside kept for reference (no area: in no area's figures, "
            "not on the map)"
        )


class ImportRejectedError(UserInputError):
    """Bad rows and no --skip-bad: nothing was written. Carries the full report."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        bad = report.rejects
        many = len(report.files) > 1
        good = report.read - len(bad) - len(report.skips)
        lines = [
            f"{len(bad)} bad row(s) in {', '.join(Path(f).name for f in report.files)}; "
            f"nothing was loaded (--skip-bad would load the other {max(good, 0)} row(s))"
        ]
        lines += [f"  {e.describe(many)}" for e in bad[:SHOWN_REASONS]]
        if len(bad) > SHOWN_REASONS:
            lines.append(f"  ... and {len(bad) - SHOWN_REASONS} more (--json lists them all)")
        super().__init__("\n".join(lines))


def ensure_acceptable(batch: Batch, skip_bad: bool) -> None:
    """All-or-nothing: any bad row stops the import unless the user asked to skip them."""
    if batch.rejects and not skip_bad:
        raise ImportRejectedError(ImportReport.of(batch, None, committed=False))


def write(
    conn: Connection,
    batch: Batch,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
) -> UpsertCounts:
    """One COPY + upsert of the batch's good records on the table's natural key."""
    rows = (tuple(r.values.get(c) for c in columns) for r in batch.records)
    return upsert_rows(conn, table, columns, rows, key)


def check_organisations(conn: Connection, batch: Batch, column: str, label: str) -> None:
    """Reject records whose organisation id (in column) does not exist, in one query."""
    wanted = sorted({r.values[column] for r in batch.records} - {None})
    if not wanted:
        return
    known = set(
        conn.execute(
            text("SELECT org_id FROM organisations WHERE org_id = ANY(:ids)"), {"ids": wanted}
        ).scalars()
    )
    batch.drop(
        {
            i: f"{label} organisation {r.values[column]!r} is unknown"
            for i, r in enumerate(batch.records)
            if r.values[column] is not None and r.values[column] not in known
        }
    )


# -- reading files -----------------------------------------------------------------------------


def require_file(path: Path) -> Path:
    if not path.exists():
        raise UserInputError(f"{path}: no such file")
    if not path.is_file():
        raise UserInputError(f"{path}: not a file")
    return path


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, fields) for every non-blank record of a CSV."""
    require_file(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            start = 1
            for fields in reader:
                if any(f.strip() for f in fields):
                    yield start, fields
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise UserInputError(f"{path}: unreadable CSV ({exc})") from exc


def csv_with_header(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the data records of a CSV that must have a header."""
    rows = csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise UserInputError(f"{path}: the file is empty")
    return first[1], rows


def header_index(
    path: Path, header: Sequence[str], wanted: Mapping[str, Sequence[str]], required: Sequence[str]
) -> dict[str, int]:
    """Column positions of the wanted fields, each found by any of its (case-insensitive)
    names; a clear error naming what is missing."""
    positions = {name.strip().lower(): i for i, name in enumerate(header)}
    found: dict[str, int] = {}
    for target, names in wanted.items():
        for name in names:
            if name.lower() in positions:
                found[target] = positions[name.lower()]
                break
    missing = [" / ".join(wanted[t]) for t in required if t not in found]
    if missing:
        raise UserInputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(h for h in header if h) or 'nothing'}"
        )
    return found


# -- cell values -----------------------------------------------------------------------------


def text_value(value: Any) -> str | None:
    """A cell as stripped text; None for empty cells and missing values."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():  # OGR integer fields with nulls arrive as floats: 1.0 -> "1"
            return str(int(value))
    if isinstance(value, np.datetime64):  # OGR date/datetime fields; null arrives as NaT
        return None if np.isnat(value) else str(value)
    text = str(value).strip()
    return text or None


def number(value: Any, label: str) -> float:
    """A required finite number; the reason names the column and what was wrong."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        text = text_value(value)
        if text is None:
            raise RowRejected(f"{label} is empty")
        try:
            result = float(text)
        except ValueError:
            raise RowRejected(f"{label} {text!r} is not a number") from None
    if math.isnan(result):
        raise RowRejected(f"{label} is NaN")
    if math.isinf(result):
        raise RowRejected(f"{label} is infinite")
    return result


def optional_number(value: Any, label: str) -> float | None:
    if isinstance(value, float) and math.isnan(value):
        raise RowRejected(f"{label} is NaN")
    return None if text_value(value) is None else number(value, label)


def integer(value: Any, label: str) -> int:
    result = number(value, label)
    if not result.is_integer():
        raise RowRejected(f"{label} {value!r} is not a whole number")
    return int(result)


def each_row(batch: Batch, origin: Origin, parse: Callable[..., Record | None], *args: Any) -> None:
    """Run one row's parser on args, filing its record or its reason."""
    batch.read += 1
    try:
        record = parse(*args)
    except RowRejected as exc:
        batch.reject(origin, str(exc))
        return
    if record is not None:
        batch.records.append(record)


def first_seen(keys: dict[str, Origin], key: str, origin: Origin, label: str) -> None:
    """Reject a repeated natural key, naming where it first appeared."""
    seen = keys.get(key)
    if seen is not None:
        where = f"{seen.unit} {seen.line}" + (
            "" if seen.file == origin.file else f" of {seen.file}"
        )
        raise RowRejected(f"{label} {key} repeats {where}")
    keys[key] = origin


def progress_every(progress: Progress | None, path: Path, count: int, step: int = 100_000) -> None:
    if progress is not None and count and count % step == 0:
        progress(f"{path.name}: {count} rows read")
