"""Request body size limit whose 413 carries the API's JSON error body.

Starlette's own limiter answers a declared oversized body with a plain-text 413 after the
route has run; clients of this API always get `{"code", "description"}`, and an oversized body
is refused before any route (or database work) starts.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hardening.api.errors import error_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, "content_too_large", self._message())
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            # A chunked body has no declared length: count it as the route reads it; the
            # HTTPException reaches the JSON handler through the exception middleware.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)
