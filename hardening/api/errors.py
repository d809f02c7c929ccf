"""One map from domain errors to HTTP statuses, and one JSON error body:
`{"code": "...", "description": "..."}` (after tipg's errors.py).

Handlers are looked up along the exception's MRO, so a new subclass of a domain error gets its
parent's status without touching this file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from hardening.errors import (
    AuthenticationError,
    ConflictError,
    DatabaseUnavailableError,
    HardeningError,
    NotFoundError,
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


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    response = error_response(exc.status_code, _code_for(exc.status_code), str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only where and why: echoing `input` back could hold NaN, which JSON cannot carry.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return error_response(422, "invalid_request", summary or "invalid request", errors=errors)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", _public_5xx[500])


def add_exception_handlers(app: FastAPI) -> None:
    for cls, (status, code) in STATUS_MAP.items():
        app.add_exception_handler(cls, domain_handler(status, code))
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
