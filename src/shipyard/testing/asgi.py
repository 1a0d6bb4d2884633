"""An ``httpx.Client`` that calls an ASGI app in-process: HTTP-level tests without sockets.

``starlette.testclient`` does the same, but (in the installed Starlette) warns that it wants the
``httpx2`` package; this small transport keeps the SDK's own ``httpx`` types::

    client = asgi_client(create_app(store, artifacts))
    store = HttpRunStore("http://shipyard.test", client=client)
"""

from __future__ import annotations

import anyio
import httpx
from starlette.types import ASGIApp

_HOP_HEADERS = frozenset({"content-length", "transfer-encoding"})


class SyncASGITransport(httpx.BaseTransport):
    """Run each request through the app on a fresh event loop; bodies are buffered both ways."""

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request to the app and return its complete response."""
        headers = [(k, v) for k, v in request.headers.multi_items() if k not in _HOP_HEADERS]
        buffered = httpx.Request(
            request.method, request.url, headers=headers, content=request.read()
        )
        return anyio.run(self._send, buffered)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)


def asgi_client(app: ASGIApp, base_url: str = "http://shipyard.test") -> httpx.Client:
    """A sync ``httpx.Client`` whose requests go to ``app`` in-process."""
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url)
