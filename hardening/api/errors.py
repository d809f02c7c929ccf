"""One map from domain errors to HTTP statuses, and one JSON error body:
`{"code": "...", "description": "..."}` (after tipg's errors.py).

Handlers are looked up along the exception's MRO, so a new subclass of a domain error gets its
parent's status without touching this file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from hardening.errors import (
    AuthenticationError,
    ConflictError,
    DatabaseUnavailableError,
    HardeningError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    SetupError,
    UserInputError,
)

logger = logging.getLogger(__name__)

# (status, code) per domain error class.
STATUS_MAP: dict[type[HardeningError], tuple[int, str]] = {
    UserInputError: (400, "invalid_input"),
    AuthenticationError: (401, "unauthenticated"),
    PermissionDeniedError: (403, "forbidden"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    DatabaseUnavailableError: (503, "database_unavailable"),
    SetupError: (503, "setup_error"),
    HardeningError: (500, "internal_error"),
}

Handler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]


def error_response(status: int, code: str, description: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"code": code, "description": description, **extra}, status_code=status, headers=headers
    )


# RFC 9110 names where Python's HTTPStatus phrases are older.
_CODES = {413: "content_too_large", 422: "invalid_request"}


def _code_for(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def domain_handler(status: int, code: str) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if status >= 500:
            # The detail (hosts, SQL) goes to the log, not to the caller.
            logger.error("%s %s: %s", request.method, request.url.path, exc)
            return error_response(status, code, _public_5xx[status])
        return error_response(status, code, str(exc))

    return handle


_public_5xx = {
    500: "internal server error",
    503: "the database is not available; see /healthz for the reason",
}


def _routes(app: Any) -> Iterable[Any]:
    """Every route with its full path; FastAPI >= 0.128 nests included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 names only the first
    route that matched the path, so a path with GET and POST on two routes said `Allow: GET`."""
    methods: set[str] = set()
    for route in _routes(request.app):
        if getattr(route, "methods", None):
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= set(route.methods)
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    response = error_response(exc.status_code, _code_for(exc.status_code), str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405 and (allow := allowed_methods(request)):
        response.headers["Allow"] = allow
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only where and why: echoing `input` back could hold NaN, which JSON cannot carry.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    if errors and all(e["type"] == "value_error" for e in errors):
        # Only a model's own rules failed (`raise ValueError` in a validator: two different
        # team members, ...): input of the documented shape that breaks a rule, like any
        # UserInputError. A type or constraint the schema states is a 422.
        return error_response(400, "invalid_input", summary, errors=errors)
    return error_response(422, "invalid_request", summary or "invalid request", errors=errors)


async def data_error(request: Request, exc: Exception) -> Response:
    """A value the database cannot hold or compare (a NUL character in text, a number out of
    its column's range): the request's fault, refused whole (the transaction rolled back)."""
    assert isinstance(exc, DataError)
    reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "bad value"
    logger.warning("%s %s: data error: %s", request.method, request.url.path, reason)
    return error_response(400, "invalid_input", f"a value cannot be stored or compared: {reason}")


# Retry-After for a pool that ran out of connections (heavy work says its own).
POOL_RETRY_AFTER_S = 5


async def overloaded(request: Request, exc: Exception) -> Response:
    """Saturation, not failure: heavy work over its budget (the caller's share or the
    service's), or no connection free within the pool's timeout. 503 with Retry-After."""
    if isinstance(exc, OverloadedError):
        description, retry = str(exc), exc.retry_after_s
    else:
        logger.warning("%s %s: connection pool exhausted: %s", request.method,
                       request.url.path, exc)  # fmt: skip
        description = "the service is busy: no database connection was free"
        retry = POOL_RETRY_AFTER_S
    response = error_response(503, "overloaded", description)
    response.headers["Retry-After"] = str(retry)
    return response


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", _public_5xx[500])


def add_exception_handlers(app: FastAPI) -> None:
    for cls, (status, code) in STATUS_MAP.items():
        app.add_exception_handler(cls, domain_handler(status, code))
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(OverloadedError, overloaded)
    app.add_exception_handler(PoolTimeoutError, overloaded)
    app.add_exception_handler(Exception, unexpected_error)
