"""Refuse an unknown id or name instead of answering empty: one helper per kind of id that
entry points (CLI options, API parameters, service functions) take. Each raises NotFoundError
(CLI: `error: ...` and exit 1; API: 404) with a message that names what is known, and says
which id a display name belongs to when the caller gave the name.

Areas and organisations are readable by every actor (no row-level filter), so listing their ids
discloses nothing a caller could not already read.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError

_SHOWN = 8  # ids named in a message; more are summarised


def _some(ids: list[str]) -> str:
    if not ids:
        return "none yet"
    more = f", ... ({len(ids)} in all)" if len(ids) > _SHOWN else ""
    return ", ".join(ids[:_SHOWN]) + more


def _by_name(rows: list[tuple[str, str]], value: str) -> str | None:
    """The id whose display name is `value`, exactly or else case-insensitively."""
    for key, name in rows:
        if name == value:
            return key
    folded = value.strip().casefold()
    for key, name in rows:
        if name.casefold() == folded or key == folded:
            return key
    return None


def require_area(conn: Connection, area_id: str | None) -> None:
    """Refuse an area id that no area has (None: every area, accepted)."""
    if area_id is None:
        return
    rows = [
        (str(r[0]), str(r[1]))
        for r in conn.execute(text("SELECT area_id, name FROM areas ORDER BY area_id"))
    ]
    if any(key == area_id for key, _ in rows):
        return
    if not rows:
        raise NotFoundError(
            f"unknown area {area_id!r}: no areas are defined yet "
            "(hardening import lsoa, hardening area add or hardening sample load)"
        )
    match = _by_name(rows, area_id)
    if match is not None:
        raise NotFoundError(f"unknown area {area_id!r}: that is area {match}; use its id {match}")
    raise NotFoundError(
        f"unknown area {area_id!r}: use an area id such as {rows[0][0]} "
        f"(areas: {_some([k for k, _ in rows])})"
    )


# How a message calls the organisations of a kind an entry point needs.
_KIND_NOUN = {"housing_provider": "provider"}


def require_organisation(conn: Connection, org_id: str | None, kind: str | None = None) -> None:
    """Refuse an organisation id that no organisation has, or one of another kind (for example
    a police force given as a housing provider). None: no filter, accepted."""
    if org_id is None:
        return
    noun = _KIND_NOUN.get(kind or "", kind or "organisation")
    rows = conn.execute(text("SELECT org_id, name, kind FROM organisations ORDER BY org_id")).all()
    fit = [(str(r[0]), str(r[1])) for r in rows if kind is None or r[2] == kind]
    ids = [key for key, _ in fit]
    found = next((r for r in rows if r[0] == org_id), None)
    if found is not None and (kind is None or found[2] == kind):
        return
    if found is not None:
        what = str(kind).replace("_", " ")
        raise NotFoundError(
            f"organisation {org_id!r} is not a {what} (its kind is {found[2]}): "
            f"use one of {_some(ids)}"
        )
    match = _by_name(fit, org_id)
    if match is not None:
        raise NotFoundError(
            f"unknown {noun} {org_id!r}: that is the name of organisation {match}; "
            f"use its id {match}"
        )
    if not ids:
        raise NotFoundError(f"unknown {noun} {org_id!r}: no {noun} is registered yet")
    raise NotFoundError(
        f"unknown {noun} {org_id!r}: use an organisation id such as {ids[0]} ({noun}s: "
        f"{_some(ids)})"
    )


def require_provider(conn: Connection, org_id: str | None) -> None:
    """Refuse anything but a housing provider's organisation id."""
    require_organisation(conn, org_id, "housing_provider")
