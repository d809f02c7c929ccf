"""`hardening qgis-project --user NAME --server URL --out FILE.qgz`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hardening.clikit import JsonOption, emit, system_engine_scope
from hardening.db.engine import Actor, transaction
from hardening.errors import UserInputError
from hardening.qgisproject.project import AUTHCFG, build, check_authcfg, check_server, layers
from hardening.security.users import actor_for


def write_project(username: str, server: str, out: Path, authcfg: str = AUTHCFG) -> list[str]:
    """Write the user's project to out; returns its layers' names. The user's own view: built
    in a transaction acting as them (row-level security and their agreement decide)."""
    server, authcfg = check_server(server), check_authcfg(authcfg)
    with system_engine_scope() as engine:
        with transaction(engine, Actor.system()) as conn:
            actor = actor_for(conn, username)
        with transaction(engine, actor) as conn:
            data = build(conn, server, username, authcfg)
            names = [layer.name for layer in layers(conn, server, authcfg)]
    out.write_bytes(data)
    return names


def register(app: typer.Typer) -> None:
    @app.command("qgis-project")
    def qgis_project(
        user: Annotated[str, typer.Option("--user", help="Whose layers (their view only).")],
        server: Annotated[
            str, typer.Option("--server", help="The API's address as QGIS reaches it.")
        ],
        out: Annotated[Path, typer.Option("--out", help="The .qgz file to write (replaced).")],
        authcfg: Annotated[
            str,
            typer.Option(
                "--authcfg",
                help="Id of the QGIS authentication configuration (Basic: the username and "
                "an API token as the password) the layers name; no secret goes in the file.",
            ),
        ] = AUTHCFG,
        as_json: JsonOption = False,
    ) -> None:
        """A ready QGIS project: every layer the user may see, styled like the web map."""
        if out.suffix.lower() != ".qgz":
            raise UserInputError(f"--out must name a .qgz file, not {out.name!r}")
        names = write_project(user, server, out, authcfg)
        emit(
            {"out": str(out), "user": user, "layers": names, "authcfg": authcfg},
            as_json,
            lambda d: (
                f"{d['out']}: {len(d['layers'])} layer(s) for {d['user']}: "
                f"{', '.join(d['layers'])}. In QGIS, store your username and an API token as "
                f"Basic authentication with id {d['authcfg']}."
            ),
        )
