"""`hardening users|audit|review ...`: administration run on the server as the system actor."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from hardening.clikit import JsonOption, emit, info, system_connection, to_json
from hardening.errors import UserInputError
from hardening.security import audit, retention
from hardening.security.users import ROLES, add_user, issue_token, revoke_tokens, set_password

users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
review_app = typer.Typer(
    help="Retention reviews of markers, visits and plans.", no_args_is_help=True
)


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    username: str,
    org: Annotated[str, typer.Option(help="Organisation id, e.g. cumbria-police.")],
    role: Annotated[list[str], typer.Option(help=f"One of {', '.join(ROLES)}; repeatable.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Add a user to an organisation with one or more roles."""
    password = _read_password(password_stdin)
    with system_connection() as conn:
        user_id = add_user(conn, username, org, role, password, display_name)
    emit(
        {"user_id": user_id, "username": username, "org_id": org, "roles": role},
        as_json,
        lambda d: f"added {d['username']} (id {d['user_id']})",
    )


@users_app.command("passwd")
def users_passwd(
    username: str, password_stdin: PasswordStdin = False, as_json: JsonOption = False
) -> None:
    """Set a user's password (12 to 72 bytes): ends their open sessions and lifts a lock-out."""
    password = _read_password(password_stdin)
    with system_connection() as conn:
        set_password(conn, username, password)
    emit({"username": username}, as_json, lambda d: f"password set for {d['username']}")


@users_app.command("token")
def users_token(
    username: str,
    days: Annotated[int, typer.Option(help="Lifetime in days (1-365).")] = 30,
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            help='A standing reason, e.g. "Operation X, ref 123": reads of markers and visits '
            "made with this token without a reason of their own are audited with it (for "
            "QGIS and other clients that cannot send one)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue an API token (a bearer token, or the password of HTTP Basic with the user's name);
    it is shown once and stored only as a hash."""
    with system_connection() as conn:
        issued = issue_token(conn, username, days, label, purpose)
    emit(
        {"token": issued.token, "token_id": issued.token_id, "expires_at": issued.expires_at},
        as_json,
        lambda d: str(d["token"]),
    )


@users_app.command("revoke")
def users_revoke(
    username: str,
    token_id: Annotated[int | None, typer.Option(help="Only this token (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a user's API tokens."""
    with system_connection() as conn:
        count = revoke_tokens(conn, username, token_id)
    emit({"revoked": count}, as_json, lambda d: f"revoked {d['revoked']} token(s)")


@audit_app.command("verify")
def audit_verify(
    heads: Annotated[
        Path | None,
        typer.Option(
            "--heads",
            help="A file written by `audit head`: also fail when a chain no longer holds one "
            "of its recorded heads (catches a chain edited and re-hashed from that row on, or "
            "cut short).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute every audit chain; exit 1 when any row was edited, deleted or moved."""
    recorded = audit.read_heads(heads) if heads is not None else []
    with system_connection() as conn:
        report = audit.verify(conn, recorded)
    result: dict[str, Any] = {
        "ok": report.ok,
        "rows": report.rows,
        "problems": report.problems,
        "chains": report.chains,
    }
    if heads is not None:
        result["heads"] = report.heads
    emit(
        result,
        as_json,
        lambda d: (
            f"audit log intact ({d['rows']} rows in {len(d['chains'])} chain(s)"
            + (f", {d['heads']} recorded heads held" if "heads" in d else "")
            + ")"
            if d["ok"]
            else "\n".join(f"BROKEN: {p}" for p in d["problems"])
        ),
    )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head(
    out: Annotated[
        Path,
        typer.Option(
            help="File to append the heads to, one JSON line per chain (`-`: standard output). "
            "Keep it where the database's administrators cannot rewrite it: another machine, "
            "an append-only share, write-once storage."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Append each audit chain's current head (chain, sequence number, hash, time) to a file
    kept elsewhere, one line per chain.

    Run it from cron; `audit verify --heads FILE` then catches a chain re-hashed after an edit
    or cut short."""
    with system_connection() as conn:
        found = audit.heads(conn)
    audit.append_heads(out, found)
    if str(out) == "-":
        return
    newest = max(found, key=lambda h: h.at)
    emit(
        {**newest.as_dict(), "heads": [h.as_dict() for h in found], "out": out},
        as_json,
        lambda d: (
            f"recorded heads of {len(d['heads'])} chain(s) (newest: row {d['chain_seq']} "
            f"of chain {d['chain']}, {d['row_hash'][:16]}...) in {d['out']}"
        ),
    )


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="JSON Lines file to write.")],
    since: Annotated[datetime | None, typer.Option(help="Only rows from this time.")] = None,
) -> None:
    """Write the audit log (with its hashes) for an auditor, one JSON object per line."""
    count = 0
    with system_connection() as conn, out.open("w", encoding="utf-8") as handle:
        for row in audit.export(conn, since):
            handle.write(to_json(row).replace("\n", "") + "\n")
            count += 1
    info(f"wrote {count} audit rows to {out}")


@review_app.command("due")
def review_due(
    on: Annotated[datetime | None, typer.Option(help="Date to check (default today).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List markers, visits and protection plans due or overdue for review."""
    with system_connection() as conn:
        rows = retention.due(conn, (on.date() if on else date.today()))
    emit(
        [r.as_dict() for r in rows],
        as_json,
        lambda _: (
            "\n".join(
                f"{r.review_due}  {r.object_type:<16} {r.object_id:>8}  uprn {r.uprn}" for r in rows
            )
            or "nothing due"
        ),
    )


@review_app.command("decide")
def review_decide(
    object_type: Annotated[str, typer.Argument(help="safe_marker, visit or protection_plan")],
    object_id: int,
    reason: Annotated[str, typer.Option(help="Why (recorded and audited).")],
    retain_until: Annotated[
        datetime | None, typer.Option(help="Retain and review again on this date.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Erase the record.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Record a retention decision: --retain-until DATE, or --delete."""
    if (retain_until is None) == (not delete):
        raise UserInputError("give exactly one of --retain-until DATE or --delete")
    kind: Literal["safe_marker", "visit", "protection_plan"]
    if object_type not in ("safe_marker", "visit", "protection_plan"):
        raise UserInputError("object type must be safe_marker, visit or protection_plan")
    kind = object_type  # type: ignore[assignment]
    with system_connection() as conn:
        result = retention.decide(
            conn, kind, object_id, reason, retain_until.date() if retain_until else None
        )
    emit(result.as_dict(), as_json, lambda _: f"{result.decision} {kind} {object_id}")
