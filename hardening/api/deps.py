"""Request dependencies as `Annotated` aliases: the engine, the acting user, and the one
transaction a request runs in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from hardening.api.settings import ApiSettings
from hardening.db.engine import Actor, transaction
from hardening.errors import AuthenticationError
from hardening.security.users import authenticate_token


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


def current_actor(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Who the request acts as: the user behind a live bearer token, else 401.

    The token is checked in its own short transaction (no actor exists yet); the request's
    work then runs in another, as that actor.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("a bearer token is required (Authorization: Bearer <token>)")
    with transaction(engine, Actor(user_id=None, org_id=None)) as conn:
        return authenticate_token(conn, credentials.credentials)


ActorDep = Annotated[Actor, Depends(current_actor)]


def db_connection(engine: EngineDep, actor: ActorDep) -> Iterator[Connection]:
    """One transaction per request, opened as the actor: committed when the route returns,
    rolled back when it raises."""
    with transaction(engine, actor) as conn:
        yield conn


# scope="function": the transaction ends when the route returns, before the response is sent,
# so a failed commit becomes an error response instead of a 200 for work that was lost.
ConnDep = Annotated[Connection, Depends(db_connection, scope="function")]
