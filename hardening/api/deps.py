"""Request dependencies as `Annotated` aliases: the engine, the acting user, and the one
transaction a request runs in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from hardening.api.settings import ApiSettings
from hardening.db.engine import Actor, transaction


def get_engine(request: Request) -> Engine:
    """The application-role engine the lifespan created."""
    engine: Engine = request.app.state.engine
    return engine


def get_api_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]


def current_actor() -> Actor:
    """Who the request acts as.

    AUTH SEAM: until bearer tokens arrive with the security work, every request acts as the
    system admin. Replace this one function (token -> user -> Actor, 401 when missing); every
    route already receives its actor through `ActorDep`.
    """
    return Actor.system()


ActorDep = Annotated[Actor, Depends(current_actor)]


def db_connection(engine: EngineDep, actor: ActorDep) -> Iterator[Connection]:
    """One transaction per request, opened as the actor: committed when the route returns,
    rolled back when it raises."""
    with transaction(engine, actor) as conn:
        yield conn


# scope="function": the transaction ends when the route returns, before the response is sent,
# so a failed commit becomes an error response instead of a 200 for work that was lost.
ConnDep = Annotated[Connection, Depends(db_connection, scope="function")]
