"""The two inference endpoints, independent of the web framework: read, check, predict, answer.

:class:`Incoming` is all a handler sees of a request (headers, query, body); the app feeds it
either a Starlette request or, on the hot path, the raw ASGI scope and ``receive`` (no routing,
no middleware). Handlers return an :class:`Answer` (status, bytes, content type) and never raise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from shipyard.errors import InvalidArgument, PayloadTooLarge, ShipyardError
from shipyard.serving import invocations, protocol
from shipyard.serving.batching import ModelInput
from shipyard.serving.metrics import ServingMetrics
from shipyard.serving.predlog import PredictionLogger
from shipyard.serving.runtime import ServedModel, ServingState

logger = logging.getLogger("shipyard.serving")

JSON = "application/json"
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Answer:
    """A complete response."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


class Incoming(Protocol):
    """What an inference handler reads from a request."""

    def header(self, name: str) -> str | None:
        """A request header (lower-case name), or None."""
        ...

    def query(self, name: str) -> str | None:
        """A query parameter, or None."""
        ...

    async def body(self, limit: int) -> bytes:
        """The whole body (a disconnect gives what arrived).

        Raises:
            PayloadTooLarge: it is longer than ``limit`` bytes (reading stops there).
        """
        ...


class RawIncoming:
    """An :class:`Incoming` over an ASGI scope and ``receive``."""

    def __init__(self, scope: dict[str, Any], receive: Receive) -> None:
        self._scope = scope
        self._receive = receive
        self._headers: dict[str, str] | None = None

    def header(self, name: str) -> str | None:
        """A request header."""
        if self._headers is None:
            self._headers = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in self._scope["headers"]
            }
        return self._headers.get(name)

    def query(self, name: str) -> str | None:
        """A query parameter."""
        raw = self._scope.get("query_string", b"")
        if not raw:
            return None
        values = parse_qs(raw.decode("latin-1")).get(name)
        return values[0] if values else None

    async def body(self, limit: int) -> bytes:
        """Read every ``http.request`` message, stopping past ``limit`` bytes."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def too_large(limit: int, size: str | None = None) -> PayloadTooLarge:
    """The error for a body over ``limit`` bytes."""
    what = f"has {size} bytes" if size is not None else "is larger"
    return PayloadTooLarge(
        f"the request body {what}; this server accepts {limit} bytes at most",
        hint="send fewer rows per request",
    )


async def send_answer(answer: Answer, send: Send) -> None:
    """Write ``answer`` as an ASGI response."""
    headers = [
        (b"content-type", answer.content_type.encode()),
        (b"content-length", str(len(answer.body)).encode()),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class InferenceHandlers:
    """``/v2/models/{name}[/versions/{v}]/infer`` and ``/invocations`` over a ServingState."""

    def __init__(
        self,
        state: ServingState,
        metrics: ServingMetrics,
        predlog: PredictionLogger | None,
        max_body_bytes: int,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.predlog = predlog
        self.max_body_bytes = max_body_bytes

    async def infer(self, incoming: Incoming, name: str, version: str | None) -> Answer:
        """One Open Inference Protocol request."""
        started = time.perf_counter()
        served: ServedModel | None = None
        self.state.in_flight += 1
        try:
            body = await self._body(incoming)
            parsed = protocol.parse_infer_request(body, incoming.header(protocol.HEADER_LENGTH))
            served = self.state.table.pick(name, version)
            outputs = await self._predict(served, parsed.inputs, "v2")
            content, size = protocol.encode_infer_response(
                served.name, served.version, parsed, served.named_outputs(outputs)
            )
            answer = _v2_answer(content, size)
        except ShipyardError as exc:
            answer = _v2_error(exc)
        except Exception:
            logger.exception("inference failed for model %s", name)
            answer = _v2_error(ShipyardError("the model failed; see the server log"))
        finally:
            self.state.in_flight -= 1
        self._observe(served, name, "v2", answer.status, started)
        return answer

    async def invocations(self, incoming: Incoming) -> Answer:
        """One ``/invocations`` request (MLflow's scoring format)."""
        started = time.perf_counter()
        served: ServedModel | None = None
        self.state.in_flight += 1
        try:
            body = await self._body(incoming)
            inputs = invocations.parse_invocation(body, incoming.header("content-type") or JSON)
            served = self.state.table.pick(self._invocation_model(incoming))
            outputs = await self._predict(served, inputs, "invocations")
            answer = Answer(200, invocations.encode_predictions(outputs))
        except ShipyardError as exc:
            answer = _mlflow_error(exc)
        except Exception:
            logger.exception("inference failed on /invocations")
            answer = _mlflow_error(ShipyardError("the model failed; see the server log"))
        finally:
            self.state.in_flight -= 1
        self._observe(served, "", "invocations", answer.status, started)
        return answer

    def _invocation_model(self, incoming: Incoming) -> str:
        wanted = incoming.query("model")
        if wanted is not None:
            return wanted
        names = self.state.table.names
        if len(names) != 1:
            raise InvalidArgument(
                f"this server serves {len(names)} models ({', '.join(names)}); say which",
                hint="add ?model=NAME, or use /v2/models/NAME/infer",
            )
        return names[0]

    async def _body(self, incoming: Incoming) -> bytes:
        length = incoming.header("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise too_large(self.max_body_bytes, length)
        return await incoming.body(self.max_body_bytes)

    async def _predict(self, served: ServedModel, inputs: ModelInput, protocol_name: str) -> Any:
        data, rows = served.prepare(inputs)
        if rows == 0:
            raise InvalidArgument("the request has no rows", hint="send at least one row")
        outputs = await served.infer(data, rows)
        if self.predlog is not None:
            self.predlog.offer(
                served.name, served.version, protocol_name, served.columns, data, outputs
            )
        return outputs

    def _observe(
        self, served: ServedModel | None, name: str, proto: str, code: int, started: float
    ) -> None:
        model, version = (served.name, served.version) if served else (name, "")
        self.metrics.observe(model, version, proto, code, time.perf_counter() - started)


def _v2_answer(content: bytes, header_size: int | None) -> Answer:
    if header_size is None:
        return Answer(200, content)
    headers = (("Inference-Header-Content-Length", str(header_size)),)
    return Answer(200, content, "application/octet-stream", headers)


def _v2_error(exc: ShipyardError) -> Answer:
    return Answer(exc.http_status, protocol.error_body(str(exc)))


_MLFLOW_CODES = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "BAD_REQUEST"}


def _mlflow_error(exc: ShipyardError) -> Answer:
    code = _MLFLOW_CODES.get(exc.http_status, "TEMPORARILY_UNAVAILABLE")
    if exc.http_status == 500:
        code = "INTERNAL_ERROR"
    doc = {"error_code": code, "message": exc.message, "hint": exc.hint}
    import orjson

    return Answer(exc.http_status, orjson.dumps(doc))
