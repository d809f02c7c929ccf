"""JSON input as its JSON Schema says: what pydantic's lax mode would coerce, refused.

Lax pydantic reads `true` as 1, `"5"` as 5, `1` as `true` and `0` or `"0"` as the date
1970-01-01; the OpenAPI document promises clients (and schemathesis checks) that such input
is a 422. Strict mode goes too far the other way: it refuses `5.0` for an integer (JSON Schema
calls that an integer) and ISO strings for dates in Python-mode validation, which FastAPI uses.
"""

from __future__ import annotations

import re
import types
from datetime import date, datetime, time
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})?"
_ISO_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?" + _OFFSET, re.IGNORECASE)
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?" + _OFFSET, re.IGNORECASE
)


def type_error(message: str) -> PydanticCustomError:
    """A type error (422), not a `value_error`, which the API keeps for rules (400)."""
    return PydanticCustomError("json_type", message)


def iso_date(value: object) -> object:
    """A date, or `YYYY-MM-DD` for pydantic to parse."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise type_error("expected a date as YYYY-MM-DD")


def iso_time(value: object) -> object:
    """A time, or `HH:MM[:SS[.ffffff]][offset]` for pydantic to parse."""
    if isinstance(value, time) or (isinstance(value, str) and _ISO_TIME.fullmatch(value)):
        return value
    raise type_error("expected a time as HH:MM or HH:MM:SS")


def iso_datetime(value: object) -> object:
    """A datetime, or `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][offset]` for pydantic to parse."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATETIME.fullmatch(value)):
        return value
    raise type_error("expected a date and time as YYYY-MM-DDTHH:MM:SS")


def has_nul(value: object) -> bool:
    """Any text (or key) inside value holds a NUL character, which PostgreSQL text cannot
    store: valid JSON, so the request is refused as breaking a rule (400), not its schema."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


_SCALARS = {date: iso_date, time: iso_time, datetime: iso_datetime}
_NUMBERS = (int, float)
_UNIONS = (Union, types.UnionType)


def json_mismatch(annotation: Any, value: object) -> str | None:
    """Why `value` does not have the JSON type of `annotation` (None when it does, or when the
    annotation is one pydantic already checks strictly enough: str, Literal, models)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return json_mismatch(args[0], value)
    if origin in _UNIONS:
        if value is None and type(None) in args:
            return None
        reasons = [json_mismatch(arg, value) for arg in args if arg is not type(None)]
        return None if any(r is None for r in reasons) else reasons[0]
    if origin in (list, tuple, set, frozenset) and isinstance(value, list | tuple) and args:
        return next((r for v in value if (r := json_mismatch(args[0], v))), None)
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return next((r for v in value.values() if (r := json_mismatch(args[1], v))), None)
    if origin is not None:  # Literal, and containers of other shapes: pydantic's own check
        return None
    if annotation is bool:
        return None if isinstance(value, bool) else "expected true or false"
    if annotation in _NUMBERS:
        return "expected a number" if isinstance(value, bool | str | bytes) else None
    if annotation in _SCALARS:
        try:
            _SCALARS[annotation](value)
        except PydanticCustomError as exc:
            return exc.message()
    return None
