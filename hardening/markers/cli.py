"""`hardening markers add|review|revoke|list|show|lookup`, as the system actor on the server."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer

from hardening.clikit import JsonOption, emit, system_connection
from hardening.markers import service
from hardening.markers.lookup import lookup

app = typer.Typer(help="SAFE alert markers and the control-room look-up.", no_args_is_help=True)

Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]
Reason = Annotated[str, typer.Option(help="Why (recorded in the audit log).")]
Version = Annotated[int, typer.Option(min=1, help="The version you read (see `show`).")]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _marker_text(m: dict[str, Any]) -> str:
    return (
        f"marker {m['marker_id']} v{m['version']}  {m['state']:<10} {m['scope']:<7} "
        f"{m['reason_category']:<19} uprn {m['uprn']}  review {m['review_due']}  "
        f"{m['full_address'] or ''}"
    )


@app.command("add")
def add(
    uprn: Annotated[
        int, typer.Argument(min=1, help="The address (or a flat, with --scope block).")
    ],
    reason_category: Annotated[
        str, typer.Option("--reason-category", help=", ".join(service.REASONS))
    ],
    advice: Annotated[str, typer.Option(help="Grading advice for the control room.")],
    scope: Annotated[str, typer.Option(help="address, or block (the whole block)")] = "address",
    org: Annotated[str | None, typer.Option(help="Organisation the marker is for.")] = None,
    review_due: Day = None,
    expires_on: Day = None,
    visit: Annotated[int | None, typer.Option(min=1, help="The visit that led to it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Put a SAFE marker on an address or a whole block."""
    with system_connection() as conn:
        marker = service.create_marker(
            conn,
            uprn=uprn,
            scope=scope,
            reason_category=reason_category,
            grading_advice=advice,
            review_due=_day(review_due),
            expires_on=_day(expires_on),
            visit_id=visit,
            org_id=org,
        )
    emit(marker.as_dict(), as_json, _marker_text)


@app.command("review")
def review(
    marker_id: int,
    version: Version,
    reason: Reason,
    next_review: Day = None,
    expires_on: Day = None,
    as_json: JsonOption = False,
) -> None:
    """Retain a marker: a reason and a new review date (and expiry, if it has expired)."""
    with system_connection() as conn:
        marker = service.review_marker(
            conn,
            marker_id,
            version=version,
            reason=reason,
            next_review=_day(next_review),
            expires_on=_day(expires_on),
        )
    emit(marker.as_dict(), as_json, _marker_text)


@app.command("revoke")
def revoke(marker_id: int, version: Version, reason: Reason, as_json: JsonOption = False) -> None:
    """Revoke a marker."""
    with system_connection() as conn:
        marker = service.revoke_marker(conn, marker_id, version=version, reason=reason)
    emit(marker.as_dict(), as_json, _marker_text)


@app.command("list")
def list_command(
    reason: Reason,
    uprn: Annotated[int | None, typer.Option(min=1)] = None,
    state: Annotated[str | None, typer.Option(help=", ".join(service.STATES))] = None,
    area: Annotated[str | None, typer.Option(help="Area id.")] = None,
    due_by: Day = None,
    limit: Annotated[int, typer.Option(min=1, max=service.MAX_LIST)] = 100,
    as_json: JsonOption = False,
) -> None:
    """List markers (filtered); the listing is audited with its reason."""
    with system_connection() as conn:
        markers = service.list_markers(
            conn,
            reason=reason,
            uprn=uprn,
            state=state,
            area_id=area,
            review_due_by=_day(due_by),
            limit=limit,
        )
    emit(
        [m.as_dict() for m in markers],
        as_json,
        lambda d: "\n".join(_marker_text(m) for m in d) or "no markers",
    )


@app.command("show")
def show(marker_id: int, reason: Reason, as_json: JsonOption = False) -> None:
    """One marker with its review history (audited)."""
    with system_connection() as conn:
        marker, reviews = service.get_marker(conn, marker_id, reason=reason)
    emit(
        {"marker": marker.as_dict(), "reviews": [r.as_dict() for r in reviews]},
        as_json,
        lambda d: "\n".join(
            [_marker_text(d["marker"]), d["marker"]["grading_advice"]]
            + [f"  {r['reviewed_at']}  {r['decision']}: {r['reason']}" for r in d["reviews"]]
        ),
    )


def _lookup_text(d: dict[str, Any]) -> str:
    address = d["address"]
    lines = [f"STATUS: {d['status'].upper().replace('_', ' ')}"]
    if d["match"]:
        lines.append(f"match: {d['match']['status']} ({d['match']['confidence']:.2f})")
    lines.append(f"address: {address['full_address'] if address else 'none found'}")
    if d["status"] == "not_checked":
        lines.append("NOT CHECKED: confirm the address with the caller")
        for c in (d["match"] or {}).get("candidates", []):
            flag = "  SAFE MARKER" if c.get("has_marker") else ""
            lines.append(f"  fits {c['confidence']:.0%}: {c['full_address']} ({c['uprn']}){flag}")
        for s in (d.get("street") or {}).get("streets", []):
            lines.append(
                f"  {s['marked']} of {s['addresses']} addresses on {s['street']}, "
                f"{s['town'] or 'no town'} have a SAFE marker"
            )
    lines += [f"advice: {a}" for a in d["grading_advice"]]
    lines += [
        f"  marker {m['marker_id']} ({m['relation']}, {m['state']}) {m['reason_category']}"
        for m in d["markers"]
    ]
    if d["risk"]:
        lines.append(f"risk band: {d['risk']['band']}")
    events = d["incidents"]
    lines.append(
        f"incidents within {events['radius_m']:.0f} m / {events['days']} days: {events['count']}"
    )
    return "\n".join(lines)


@app.command("lookup")
def lookup_command(
    text_value: Annotated[
        str | None, typer.Argument(metavar="[TEXT]", help="The address as the caller said it.")
    ] = None,
    reason: Reason = "",
    uprn: Annotated[int | None, typer.Option(min=1)] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS84)")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS84)")] = None,
    x: Annotated[float | None, typer.Option(help="Easting (BNG)")] = None,
    y: Annotated[float | None, typer.Option(help="Northing (BNG)")] = None,
    radius: Annotated[float | None, typer.Option(help="Metres around a point")] = None,
    history: Annotated[bool, typer.Option(help="Include review history.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Markers, advice, risk and recent incidents at an address (TEXT, --uprn or a point)."""
    with system_connection() as conn:
        answer = lookup(
            conn,
            reason=reason,
            uprn=uprn,
            q=text_value,
            lon=lon,
            lat=lat,
            x=x,
            y=y,
            radius_m=radius,
            history=history,
        )
    emit(answer, as_json, _lookup_text)
