"""Request dependencies as `Annotated` aliases: the engine, the acting user, and the one
transaction a request runs in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from hardening.api.settings import ApiSettings
from hardening.db.engine import NOBODY, Actor, authenticate, transaction
from hardening.errors import AuthenticationError
from hardening.security import audit


def get_engine(request: Request) -> Engine:
    """The application-role engine the lifespan created."""
    engine: Engine = request.app.state.engine
    return engine


def get_api_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]


_bearer = HTTPBearer(auto_error=False, description="An API token from `hardening users token`.")
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: CredentialsDep) -> str:
    """The request's bearer token; none is a 401 without asking the database."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("a bearer token is required (Authorization: Bearer <token>)")
    return credentials.credentials


TokenDep = Annotated[str, Depends(bearer_token)]


def db_connection(request: Request, engine: EngineDep, token: TokenDep) -> Iterator[Connection]:
    """One transaction per request, acting as the token's user (the database checks the token;
    a dead one is a 401): committed when the route returns, rolled back when it raises. The
    request keeps who it is (`ActorDep`). Its audit rows are appended just before the commit
    (`audit.deferred`)."""
    with transaction(engine, NOBODY) as conn, audit.deferred(conn):
        request.state.actor = authenticate(conn, token)
        yield conn


# scope="function": the transaction ends when the route returns, before the response is sent,
# so a failed commit becomes an error response instead of a 200 for work that was lost.
ConnDep = Annotated[Connection, Depends(db_connection, scope="function")]


def current_actor(request: Request, conn: ConnDep) -> Actor:
    """Who the request acts as (the connection's dependency authenticated it)."""
    actor: Actor = request.state.actor
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
