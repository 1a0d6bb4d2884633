"""Errors cross HTTP as the same class: every ShipyardError round-trips through the wire shape,
and bodies that are not ours (a proxy's HTML) still map by status."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from shipyard.errors import (
    ERROR_CLASSES,
    FilterSyntaxError,
    NotFound,
    ShipyardError,
    Unavailable,
)
from shipyard.sdk._http import HttpRunStore
from shipyard.server._middleware import send_error
from shipyard.testing.asgi import asgi_client


def _make(cls: type[ShipyardError]) -> ShipyardError:
    if cls is FilterSyntaxError:
        return FilterSyntaxError("unexpected '>'", 12, ">", hint="compare with one operator")
    return cls(f"{cls.__name__} happened to run 0193", hint="do the right thing")


def _answering(error: ShipyardError) -> HttpRunStore:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send_error(send, error)

    return HttpRunStore("http://shipyard.test", client=asgi_client(app))


@pytest.mark.parametrize("cls", list(ERROR_CLASSES.values()), ids=lambda c: c.__name__)
def test_every_error_class_round_trips(cls: type[ShipyardError]) -> None:
    sent = _make(cls)
    with pytest.raises(ShipyardError) as caught:
        _answering(sent).get_run("0193")
    got = caught.value
    assert type(got) is cls
    assert (got.message, got.hint) == (sent.message, sent.hint)
    if isinstance(sent, FilterSyntaxError):
        assert isinstance(got, FilterSyntaxError)
        assert (got.position, got.token) == (12, ">")


@pytest.mark.parametrize(
    ("status", "cls"),
    [(404, NotFound), (502, Unavailable), (503, Unavailable), (418, ShipyardError)],
)
def test_foreign_error_bodies_map_by_status(status: int, cls: type[ShipyardError]) -> None:
    async def proxy(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"<html>Bad Gateway</html>"})

    store = HttpRunStore("http://shipyard.test", client=asgi_client(proxy))
    with pytest.raises(cls) as caught:
        store.list_projects()
    assert type(caught.value) is cls
    assert str(status) in caught.value.message
    assert "Bad Gateway" in caught.value.message


def test_token_is_sent_as_a_bearer_header() -> None:
    seen: list[httpx.Request] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"projects": []}'})

    client = asgi_client(app)
    client.event_hooks["request"].append(seen.append)
    assert HttpRunStore("http://shipyard.test", token="s3cret", client=client).list_projects() == []
    assert HttpRunStore("http://shipyard.test", client=client).list_projects() == []
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in seen[1].headers
