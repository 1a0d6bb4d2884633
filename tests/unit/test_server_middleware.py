"""The server's ASGI middleware over tiny ASGI apps: body limits and the last-resort 500."""

from __future__ import annotations

import logging

import anyio
import orjson
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.errors import ShipyardError
from shipyard.server._middleware import BodyLimitMiddleware, ErrorMiddleware, send_error
from shipyard.testing.asgi import asgi_client


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the request body."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def crash(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("secret internals")


async def handle_errors(scope: Scope, receive: Receive, send: Send) -> None:
    """``echo``, sending a ShipyardError raised while reading as its error response."""
    try:
        await echo(scope, receive, send)
    except ShipyardError as exc:
        await send_error(send, exc)


def test_unhandled_exceptions_become_a_500_without_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="shipyard.server"):
        response = asgi_client(ErrorMiddleware(crash)).get("/api/v1/x")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "secret" not in response.text
    assert "secret internals" in caplog.text


def test_bodies_up_to_the_limit_pass_unchanged() -> None:
    client = asgi_client(BodyLimitMiddleware(echo, max_body_bytes=10))
    assert client.post("/api/v1/x", content=b"0123456789").content == b"0123456789"
    assert client.get("/api/v1/x").content == b""


def test_bodies_over_the_limit_are_a_413() -> None:
    client = asgi_client(BodyLimitMiddleware(echo, max_body_bytes=10))
    response = client.post("/api/v1/x", content=b"01234567890")
    assert response.status_code == 413
    error = orjson.loads(response.content)["error"]
    assert error["code"] == "payload_too_large"
    assert "10 bytes" in error["message"]


def test_streamed_uploads_are_counted_as_they_are_read() -> None:
    app = BodyLimitMiddleware(handle_errors, max_body_bytes=1, max_stream_bytes=5)
    client = asgi_client(app)
    blob = "/api/v1/runs/r/blobs/" + "0" * 64
    assert client.put(blob, content=b"12345").content == b"12345"
    assert client.put(blob, content=b"123456").status_code == 413  # declared length
    assert client.post("/api/v1/x", content=b"12").status_code == 413


def test_unlimited_streamed_uploads() -> None:
    client = asgi_client(BodyLimitMiddleware(echo, max_body_bytes=1))
    blob = "/api/v1/runs/r/blobs/" + "0" * 64
    assert client.put(blob, content=b"x" * 100).content == b"x" * 100


def test_chunked_bodies_without_a_declared_length_are_counted() -> None:
    blob = {"type": "http", "method": "PUT", "path": "/api/v1/runs/r/blobs/x", "headers": []}
    plain = {**blob, "method": "POST", "path": "/api/v1/x"}
    app = BodyLimitMiddleware(handle_errors, max_body_bytes=5, max_stream_bytes=5)
    for scope in (blob, plain):
        sent = anyio.run(_call, app, scope, [b"123", b"456"])
        assert sent[0]["status"] == 413, scope["path"]
        assert b"payload_too_large" in sent[1]["body"]
        ok = anyio.run(_call, app, scope, [b"12", b"345"])
        assert (ok[0]["status"], ok[1]["body"]) == (200, b"12345")


async def _call(app: ASGIApp, scope: Scope, chunks: list[bytes]) -> list[Message]:
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent
