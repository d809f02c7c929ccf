"""The FastAPI application factory, served as `uvicorn --factory hardening.api.app:create_app`
(`hardening serve`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hardening import __version__
from hardening.api import health, openapi, v1
from hardening.api.errors import add_exception_handlers
from hardening.api.limits import BodyLimitMiddleware
from hardening.api.models import ErrorBody
from hardening.api.nostore import NoStoreMiddleware
from hardening.api.openapi import COMMON_ERRORS
from hardening.api.settings import ApiSettings
from hardening.db.engine import app_engine
from hardening.ogc import api as ogc
from hardening.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None, api_settings: ApiSettings | None = None
) -> FastAPI:
    settings = settings or get_settings()
    api_settings = api_settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The application role, never the owner. Creating the engine does not connect, so the
        # app starts with the database down and /healthz says so.
        # Long work runs in the worker (hardening/jobs), so this pool serves short requests.
        engine = app_engine(settings)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title=api_settings.title,
        version=__version__,
        description="Cuckooing risk, SAFE markers, security works and camera planning.",
        lifespan=lifespan,
        responses={k: {**v, "model": ErrorBody} for k, v in COMMON_ERRORS.items()},
    )
    app.state.api_settings = api_settings
    app.add_middleware(BodyLimitMiddleware, max_bytes=api_settings.max_body_bytes)
    app.add_middleware(NoStoreMiddleware)  # outermost: its 413s and every error body too
    add_exception_handlers(app)
    app.include_router(health.router)
    app.include_router(v1.router)
    app.include_router(ogc.router)
    openapi.install(app)
    return app
