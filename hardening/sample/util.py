"""Small vectorised helpers shared by the generator modules: text forms, choices, dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from hardening.geo import BNG

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]
LONDON = ZoneInfo("Europe/London")
T = TypeVar("T")


def points_ewkt(x: FloatArray, y: FloatArray) -> ObjArray:
    """EWKT of BNG points at centimetre precision, the text COPY and CSV both carry."""
    return np.array(
        [f"SRID={BNG};POINT({a:.2f} {b:.2f})" for a, b in zip(x.tolist(), y.tolist(), strict=True)],
        dtype=object,
    )


def line_ewkt(coords: Sequence[tuple[float, float]]) -> str:
    return f"SRID={BNG};LINESTRING(" + ",".join(f"{a:.2f} {b:.2f}" for a, b in coords) + ")"


def pg_array(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal of simple tokens (no quoting needed for our values)."""
    return "{" + ",".join(str(v) for v in values) + "}"


def choose(
    rng: np.random.Generator, options: Sequence[T], probs: Sequence[float], n: int
) -> ObjArray:
    """n picks from options with the given (unnormalised) weights, as an object array."""
    p = np.asarray(probs, dtype=float)
    idx = rng.choice(len(options), size=n, p=p / p.sum())
    table = np.empty(len(options), dtype=object)
    table[:] = list(options)
    return table[idx]


def nullable(values: ObjArray | Sequence[Any], keep: npt.NDArray[np.bool_]) -> ObjArray:
    """values where keep, None elsewhere."""
    out = np.asarray(values, dtype=object).copy()
    out[~keep] = None
    return out


def day_text(days: IntArray, origin: date) -> ObjArray:
    """ISO dates origin + days."""
    base = np.datetime64(origin, "D")
    return np.datetime_as_string(base + days.astype("timedelta64[D]"), unit="D").astype(object)


def utc_text(seconds: IntArray, origin: date) -> ObjArray:
    """ISO UTC timestamps origin (midnight UTC) + seconds."""
    base = np.datetime64(origin, "s")
    text = np.datetime_as_string(base + seconds.astype("timedelta64[s]"), unit="s")
    return np.char.add(text, "+00:00").astype(object)


def local_text(moments: Sequence[datetime | None]) -> ObjArray:
    """Naive Europe/London wall-clock times as ISO text with their offset (BST or GMT)."""
    out = [
        None if m is None else m.replace(tzinfo=LONDON).isoformat(timespec="seconds")
        for m in moments
    ]
    return np.array(out, dtype=object)


def local_moment(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=int(minutes))


def prefixed(prefix: ObjArray, sep: str, text: ObjArray) -> ObjArray:
    """prefix + sep + text where prefix is not None, text alone elsewhere."""
    out = text.astype(object).copy()
    has = np.array([p is not None for p in prefix.tolist()], dtype=bool)
    out[has] = prefix[has] + sep + text[has]
    return out
