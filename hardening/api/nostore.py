"""`Cache-Control: no-store` on every response that can carry personal data.

Everything under `/v1` and `/ogc` (JSON, GeoJSON, vector tiles, export files, and their error
bodies) is computed for one caller under row-level security, and any request that sends
credentials is answered for that caller alone: no browser, proxy or disk cache may keep a copy.
The header replaces whatever a route set (tiles used to allow `max-age`). `/healthz` and the
OpenAPI documents, asked without credentials, stay cacheable.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE: Final = "no-store"
PRIVATE_PREFIXES: Final = ("/v1", "/ogc")


def is_private(path: str, headers: Headers) -> bool:
    """A request whose answer is for its caller only."""
    under = any(path == p or path.startswith(p + "/") for p in PRIVATE_PREFIXES)
    return under or "authorization" in headers


class NoStoreMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_private(scope["path"], Headers(scope=scope)):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_no_store)
