"""Request dependencies as `Annotated` aliases: the engine, the acting user, and the one
transaction a request runs in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy import Connection, Engine

from hardening.api.settings import ApiSettings
from hardening.db.engine import NOBODY, Actor, authenticate, authenticate_basic, transaction
from hardening.errors import AuthenticationError
from hardening.security import audit


# The dependencies that only read the request are `async def`: FastAPI runs a plain `def` one
# in its thread pool, a hop each (measured as part of the look-up's Python cost, issue 20).
async def get_engine(request: Request) -> Engine:
    """The application-role engine the lifespan created."""
    engine: Engine = request.app.state.engine
    return engine


async def get_api_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]


_bearer = HTTPBearer(auto_error=False, description="An API token from `hardening users token`.")


class _Basic(HTTPBasic):
    """HTTP Basic whose malformed header is no credential (the one 401 below says what is
    wanted) instead of FastAPI's own 401."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        try:
            return await super().__call__(request)
        except HTTPException:
            return None


_basic = _Basic(
    auto_error=False,
    scheme_name="HTTPBasic",
    description="For clients that cannot send a bearer token (QGIS, GDAL): the username and, "
    "as the password, one of that user's API tokens. An account password is never accepted.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
BasicDep = Annotated[HTTPBasicCredentials | None, Depends(_basic)]


@dataclass(frozen=True)
class Credential:
    """What the request presented: an API token or sign-in session's token, and with HTTP
    Basic the username it must belong to."""

    token: str = field(repr=False)
    username: str | None = None


async def request_credential(bearer: BearerDep, basic: BasicDep) -> Credential:
    """The request's credential; none is a 401 without asking the database."""
    if bearer is not None and bearer.scheme.lower() == "bearer":
        return Credential(bearer.credentials)
    if basic is not None:
        return Credential(basic.password, basic.username)
    raise AuthenticationError(
        "a bearer token is required (Authorization: Bearer <token>), or HTTP Basic with your "
        "username and an API token as the password"
    )


CredentialDep = Annotated[Credential, Depends(request_credential)]


def _act(conn: Connection, credential: Credential) -> Actor | str:
    """The actor, or why not: Basic wrong tries count towards the sign-in guard, so the caller
    commits before refusing."""
    if credential.username is None:
        return authenticate(conn, credential.token)
    return authenticate_basic(conn, credential.username, credential.token)


def bearer_token(engine: EngineDep, credential: CredentialDep) -> str:
    """The request's API token, for routes that authenticate each of their own transactions
    (heavy work); a Basic one is checked against its username first."""
    if credential.username is not None:
        with transaction(engine, NOBODY) as conn:
            refused = _act(conn, credential)
        if isinstance(refused, str):
            raise AuthenticationError(refused)
    return credential.token


TokenDep = Annotated[str, Depends(bearer_token)]


def db_connection(
    request: Request, engine: EngineDep, credential: CredentialDep
) -> Iterator[Connection]:
    """One transaction per request, acting as the credential's user (the database checks it;
    a dead one is a 401): committed when the route returns, rolled back when it raises. The
    request keeps who it is (`ActorDep`). Its audit rows are appended with the commit, in one
    round trip (`audit.deferred`)."""
    with transaction(engine, NOBODY) as conn:
        found = _act(conn, credential)
        if isinstance(found, Actor):
            request.state.actor = found
            with audit.deferred(conn, commit=True):
                yield conn
            return
    raise AuthenticationError(found)  # after the commit that counted the wrong try


# scope="function": the transaction ends when the route returns, before the response is sent,
# so a failed commit becomes an error response instead of a 200 for work that was lost.
ConnDep = Annotated[Connection, Depends(db_connection, scope="function")]


async def current_actor(request: Request, conn: ConnDep) -> Actor:
    """Who the request acts as (the connection's dependency authenticated it)."""
    actor: Actor = request.state.actor
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
