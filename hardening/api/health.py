"""`/healthz`: is the database reachable, is PostGIS there, are all migrations applied?
200 when all is well; 503 with the reason otherwise (after stac-fastapi-pgstac)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from hardening import __version__
from hardening.api.deps import ApiSettingsDep, EngineDep
from hardening.api.models import Health, MigrationState
from hardening.db.migrate import known_versions

router = APIRouter(tags=["health"])


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__


def check_database(engine: Engine) -> Health:
    """Blocking check run in a worker thread."""
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL statement_timeout = '3s'"))
            postgis = conn.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar()
            has_log = conn.execute(
                text("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
            ).scalar()
            applied = (
                set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())
                if has_log
                else set()
            )
    except OperationalError as exc:
        return _unhealthy("unreachable", f"database unreachable: {_first_line(exc)}")
    except DBAPIError as exc:
        return _unhealthy("not_ready", f"database check failed: {_first_line(exc)}")
    known = list(known_versions())
    state = MigrationState(
        applied=sorted(applied),
        pending=[v for v in known if v not in applied],
        unknown=sorted(applied.difference(known)),
    )
    if postgis is None:
        return _unhealthy("not_ready", "PostGIS is not installed in the database", state)
    if state.pending:
        return _unhealthy(
            "not_ready",
            f"migrations pending: {', '.join(state.pending)}; run `hardening db migrate`",
            state,
            postgis,
        )
    return Health(
        status="ok", database="ok", version=__version__, postgis=str(postgis), migrations=state
    )


def _unhealthy(
    database: str,
    reason: str,
    migrations: MigrationState | None = None,
    postgis: str | None = None,
) -> Health:
    return Health.model_validate(
        {
            "status": "unhealthy",
            "database": database,
            "version": __version__,
            "postgis": postgis,
            "migrations": migrations,
            "reason": reason,
        }
    )


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not healthy, with the reason"}},
    summary="Database, PostGIS and migrations check",
)
async def healthz(engine: EngineDep, settings: ApiSettingsDep) -> JSONResponse:
    try:
        with anyio.fail_after(settings.health_timeout_s):
            # A hung connect keeps its thread, but the caller gets an answer in time.
            health = await anyio.to_thread.run_sync(check_database, engine, abandon_on_cancel=True)
    except TimeoutError:
        health = _unhealthy(
            "unreachable", f"no answer from the database within {settings.health_timeout_s:g} s"
        )
    return JSONResponse(
        health.model_dump(exclude_none=True), status_code=200 if health.status == "ok" else 503
    )
