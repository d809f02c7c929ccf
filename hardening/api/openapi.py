"""The OpenAPI document as the clients see the API: every error is `ErrorBody` JSON.

FastAPI files a declared error model under the route's own media type (GeoJSON for layers)
and documents its default `HTTPValidationError` for 422; the error handlers answer neither
way, so the document is corrected in one place here.
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
    503: {"description": "Database unavailable"},
}


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
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if status[0] in "45" and _is_error_body(response):
                        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        schemas = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    replacement: Callable[[], dict[str, Any]] = openapi
    app.openapi = replacement  # type: ignore[method-assign]
