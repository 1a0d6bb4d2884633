"""Pure ASGI middleware: request body limits, and the last-resort 500 handler.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streamed bodies stay streamed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.api.routes import API_PREFIX
from shipyard.errors import PayloadTooLarge, ShipyardError

logger = logging.getLogger("shipyard.server")

StreamedRoute = Callable[[Scope], bool]
"""Whether a request's body is streamed by its route (and so is counted, never buffered)."""

_BLOB_PUT = re.compile(rf"{re.escape(API_PREFIX)}/(runs/[^/]+/)?blobs/[^/]+/?$")
_MLFLOW_ARTIFACT_PUT = re.compile(r"^/(api|ajax-api)/2\.0/mlflow-artifacts/artifacts/.")


def is_blob_upload(scope: Scope) -> bool:
    """Whether the request is a blob upload (``PUT .../blobs/{sha256}``, or an MLflow artifact
    upload through the ``mlflow-artifacts`` proxy), whose body is streamed."""
    path = scope.get("path", "")
    return scope.get("method") == "PUT" and bool(
        _BLOB_PUT.search(path) or _MLFLOW_ARTIFACT_PUT.match(path)
    )


async def send_error(send: Send, error: ShipyardError) -> None:
    """Send ``error`` as a complete JSON error response."""
    body = orjson.dumps({"error": error.to_dict()})
    await send(
        {
            "type": "http.response.start",
            "status": error.http_status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is larger than the server's limit of {limit} bytes",
        hint="send smaller batches (the SDK splits them), or raise the server's body limit",
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuse request bodies over a limit with 413 ``payload_too_large``.

    The declared ``Content-Length`` is checked first; the bytes actually received are counted too
    (chunked uploads declare none). Ordinary bodies are read here, up to the limit, before the app
    sees them. Streamed routes (blob uploads) get their own limit, ``None`` meaning unlimited; there
    the count is checked as the route reads, and ``PayloadTooLarge`` is raised into the route.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        *,
        max_stream_bytes: int | None = None,
        is_streamed: StreamedRoute = is_blob_upload,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_stream_bytes = max_stream_bytes
        self.is_streamed = is_streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streamed = self.is_streamed(scope)
        limit = self.max_stream_bytes if streamed else self.max_body_bytes
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await send_error(send, _too_large(limit))
            return
        if streamed:
            await self.app(scope, _counting(receive, limit), send)
            return
        messages = await _buffer(receive, limit)
        if messages is None:
            await send_error(send, _too_large(limit))
            return
        await self.app(scope, _replay(messages, receive), send)


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return counted


async def _buffer(receive: Receive, limit: int) -> list[Message] | None:
    """Every body message of the request, or ``None`` once more than ``limit`` bytes arrived."""
    messages: list[Message] = []
    received = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        received += len(message.get("body", b""))
        if received > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class ErrorMiddleware:
    """Turn any unhandled exception into a logged 500 ``internal`` error (no traceback sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                error = ShipyardError(
                    "internal server error", hint="the server log has the details; please report"
                )
                await send_error(send, error)
