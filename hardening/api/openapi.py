"""The OpenAPI document as the clients see the API: every error is `ErrorBody` JSON.

FastAPI files a declared error model under the route's own media type (GeoJSON for layers)
and documents its default `HTTPValidationError` for 422; the error handlers answer neither
way, so the document is corrected in one place here. It also adds what every operation of a
kind can answer (413 with a body, 409 for a write) so the document stays a true contract
(tests/test_api_schemathesis.py holds the API to it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = "#/components/schemas/ErrorBody"
_REPLACED = ("/ErrorBody", "/HTTPValidationError")

# Statuses any operation can answer with, besides its own.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid parameters or body"},
    500: {"description": "Internal error"},
    503: {
        "description": "Database unavailable, or busy (heavy work over its budget): see Retry-After"
    },
}
# What any operation that acts as a user (it names a security scheme) can answer: the domain
# error map (api/errors.py) applies to all of them.
ACTING_ERRORS: dict[str, dict[str, Any]] = {
    "400": {"description": "Well-formed input that breaks a rule (e.g. swapped lon/lat)"},
    "401": {"description": "Missing, invalid, expired or revoked API token (Bearer or Basic)"},
    "403": {"description": "Your role or sharing agreement does not allow this"},
    "404": {"description": "No such object, or not one you may see"},
}
WRITE_METHODS = ("post", "put", "patch", "delete")
BODY_TOO_LARGE = {"description": "Request body larger than the server accepts"}
CONFLICT = {"description": "Conflicts with the object's current state (e.g. a stale version)"}


def _is_error_body(response: dict[str, Any]) -> bool:
    refs = [c.get("schema", {}).get("$ref", "") for c in response.get("content", {}).values()]
    return not refs or any(ref.endswith(_REPLACED) for ref in refs)


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    for status, response in ACTING_ERRORS.items():
                        responses.setdefault(status, dict(response))
                if "requestBody" in operation:
                    responses.setdefault("413", dict(BODY_TOO_LARGE))
                if method in WRITE_METHODS:
                    responses.setdefault("409", dict(CONFLICT))
                for status, response in responses.items():
                    if status[0] in "45" and _is_error_body(response):
                        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        schemas = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    replacement: Callable[[], dict[str, Any]] = openapi
    app.openapi = replacement  # type: ignore[method-assign]
