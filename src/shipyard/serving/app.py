"""The model server application: Open Inference Protocol v2, ``/invocations`` and ``/metrics``.

Hot paths are plain Starlette endpoints (no pydantic, no dependency injection): the body is read
once, decoded with orjson, checked by hand, and answered with pre-encoded bytes::

    app = create_serving_app([ModelSlot("iris", "3", Path("model"))])
    app.state.serving.reload([ModelSlot("iris", "3", p3, weight=9), ModelSlot("iris", "4", p4, 1)])
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from shipyard.errors import ShipyardError
from shipyard.serving import protocol
from shipyard.serving.batching import BatchingConfig
from shipyard.serving.inference import (
    Answer,
    InferenceHandlers,
    RawIncoming,
    send_answer,
    too_large,
)
from shipyard.serving.metrics import CONTENT_TYPE, ServingMetrics
from shipyard.serving.predlog import PredictionLogger, PredLogConfig
from shipyard.serving.runtime import (
    Loader,
    ModelSlot,
    ModelTable,
    ServedModel,
    ServingState,
    load_flavor_model,
)

logger = logging.getLogger("shipyard.serving")

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
JSON = "application/json"
SERVER_NAME = "shipyard"
Endpoint = Callable[[Request], Awaitable[Response]]


class ServingApp:
    """The state and handlers of one serving app (``app.state.serving`` is its ServingState)."""

    def __init__(
        self, state: ServingState, metrics: ServingMetrics, handlers: InferenceHandlers
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.handlers = handlers
        self.predlog = handlers.predlog

    # -- health and metadata ---------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        """``GET /v2/health/live``: the process answers."""
        return _json({"live": True})

    async def ready(self, request: Request) -> Response:
        """``GET /v2/health/ready``: 200 when every model loaded, else 503."""
        ready = self.state.table.ready
        return _json({"ready": ready}, 200 if ready else 503)

    async def server_metadata(self, request: Request) -> Response:
        """``GET /v2``: the server's name, version and protocol extensions."""
        return _json({"name": SERVER_NAME, "version": _version(), "extensions": ["binary_tensor"]})

    async def model_metadata(self, request: Request) -> Response:
        """``GET /v2/models/{name}[/versions/{version}]``."""
        return await self._v2(request, self._metadata)

    async def model_ready(self, request: Request) -> Response:
        """``GET /v2/models/{name}[/versions/{version}]/ready``: 200 ready, 503 not."""
        return await self._v2(request, self._model_ready)

    async def metrics_endpoint(self, request: Request) -> Response:
        """``GET /metrics`` in the Prometheus text format."""
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE)

    async def ping(self, request: Request) -> Response:
        """MLflow's ``GET /ping`` and ``/health``: 200 when ready."""
        ready = self.state.table.ready
        return Response(b"\n", status_code=200 if ready else 503, media_type=JSON)

    async def _v2(self, request: Request, handler: Callable[[Request], Response]) -> Response:
        try:
            return handler(request)
        except ShipyardError as exc:
            return _v2_error(exc)

    def _metadata(self, request: Request) -> Response:
        table = self.state.table
        name = request.path_params["name"]
        version = request.path_params.get("version")
        versions = table.versions(name)
        if version is not None and version not in versions:
            table.pick(name, version)  # raises NotFound naming the served versions
        served = self._any_loaded(table, name, version)
        doc: dict[str, Any] = {"name": name, "versions": versions}
        if version is not None:
            doc = {"name": name, "versions": [version]}
        doc["platform"] = f"shipyard-{served.flavor}" if served else "shipyard"
        doc["inputs"] = _tensor_meta(served, inputs=True) if served else []
        doc["outputs"] = _tensor_meta(served, inputs=False) if served else []
        return _json(doc)

    @staticmethod
    def _any_loaded(table: ModelTable, name: str, version: str | None) -> ServedModel | None:
        keys = [(name, version)] if version else [(name, v) for v in table.versions(name)]
        for key in keys:
            if key in table.loaded:
                return table.loaded[key]
        return None

    def _model_ready(self, request: Request) -> Response:
        table = self.state.table
        name = request.path_params["name"]
        version = request.path_params.get("version")
        versions = table.versions(name)
        if version is not None and version not in versions:
            table.pick(name, version)
        keys = [(name, version)] if version else [(name, v) for v in versions]
        ready = any(key in table.loaded for key in keys)
        return _json({"name": name, "ready": ready}, 200 if ready else 503)

    # -- inference (Starlette adapters; the hot path goes through _ServingAPI.__call__) ----

    async def infer(self, request: Request) -> Response:
        """``POST /v2/models/{name}[/versions/{version}]/infer``."""
        incoming = _StarletteIncoming(request)
        params = request.path_params
        return _response(await self.handlers.infer(incoming, params["name"], params.get("version")))

    async def invocations(self, request: Request) -> Response:
        """``POST /invocations`` (MLflow's scoring format)."""
        return _response(await self.handlers.invocations(_StarletteIncoming(request)))


class _StarletteIncoming:
    """An :class:`~shipyard.serving.inference.Incoming` over a Starlette request."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def header(self, name: str) -> str | None:
        return self._request.headers.get(name)

    def query(self, name: str) -> str | None:
        return self._request.query_params.get(name)

    async def body(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in self._request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
        except ClientDisconnect:
            pass
        return b"".join(chunks)


def _response(answer: Answer) -> Response:
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers=dict(answer.headers),
    )


class _ServingAPI(FastAPI):
    """FastAPI whose inference POSTs skip routing and middleware (measured: about a third of a
    small model's request time); everything else goes through FastAPI as usual."""

    handlers: InferenceHandlers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            answer = await self._fast(scope, receive)
            if answer is not None:
                await send_answer(answer, send)
                return
        await super().__call__(scope, receive, send)

    async def _fast(self, scope: Any, receive: Any) -> Answer | None:
        path: str = scope["path"]
        if path == "/invocations":
            return await self.handlers.invocations(RawIncoming(scope, receive))
        parts = path.split("/")
        # ['', 'v2', 'models', NAME, 'infer'] or [..., NAME, 'versions', V, 'infer']
        if len(parts) not in (5, 7) or parts[1] != "v2" or parts[2] != "models":
            return None
        if parts[-1] != "infer" or not parts[3] or (len(parts) == 7 and parts[4] != "versions"):
            return None
        version = parts[5] if len(parts) == 7 and parts[5] else None
        if len(parts) == 7 and version is None:
            return None
        return await self.handlers.infer(RawIncoming(scope, receive), parts[3], version)


def _tensor_meta(served: ServedModel, *, inputs: bool) -> list[dict[str, Any]]:
    signature = served.signature
    if signature is None:
        return []
    columns = signature.inputs if inputs else (signature.outputs or [])
    result = []
    for index, col in enumerate(columns):
        shape = [-1, *(d if d >= 0 else -1 for d in col.shape[1:])] if col.shape else [-1]
        name = col.name or (f"input-{index}" if inputs else served.output_name)
        result.append({"name": name, "datatype": _dtype_name(col.dtype), "shape": shape})
    return result


_DTYPE_NAMES = {
    "float32": "FP32",
    "float64": "FP64",
    "int32": "INT32",
    "int64": "INT64",
    "bool": "BOOL",
    "string": "BYTES",
}


def _dtype_name(dtype: str) -> str:
    return _DTYPE_NAMES.get(dtype, "BYTES")


def _json(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON)


def _v2_error(exc: ShipyardError) -> Response:
    return Response(protocol.error_body(str(exc)), status_code=exc.http_status, media_type=JSON)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shipyard")
    except PackageNotFoundError:
        return "unknown"


def create_serving_app(
    slots: Sequence[ModelSlot],
    *,
    batching: BatchingConfig | None = None,
    predlog: PredLogConfig | None = None,
    loader: Loader = load_flavor_model,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build a model server for ``slots`` (loaded now; a slot that fails to load is not ready).

    Args:
        slots: the model versions to serve; same-name slots split traffic by weight.
        batching: turn adaptive batching on with these limits (off when None).
        predlog: log sampled inputs and outputs to JSON lines files (off when None).
        loader: how a slot's folder becomes a model (``shipyard.flavors.load_model``).
        max_body_bytes: larger request bodies get 413.

    Returns:
        A FastAPI app; ``app.state.serving`` is its :class:`ServingState` (``reload(slots)``).
    """
    metrics = ServingMetrics()
    plog = _predlog(predlog, metrics)
    state = ServingState(
        slots,
        batching=batching,
        loader=loader,
        on_batch=lambda m, rows: metrics.batch_size.labels(m.name, m.version).observe(rows),
        on_table=lambda table: _publish_ready(metrics, table),
    )
    handlers = InferenceHandlers(state, metrics, plog, max_body_bytes)
    serving = ServingApp(state, metrics, handlers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()
        if plog is not None:
            plog.close()

    app = _ServingAPI(
        title="Shipyard model server",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.handlers = handlers
    app.state.serving = state
    app.state.serving_app = serving
    _add_routes(app, serving)
    return app


def _predlog(config: PredLogConfig | None, metrics: ServingMetrics) -> PredictionLogger | None:
    if config is None:
        return None
    return PredictionLogger(config, on_written=metrics.logged.inc, on_dropped=metrics.dropped.inc)


def _publish_ready(metrics: ServingMetrics, table: ModelTable) -> None:
    metrics.publish_ready([(s.name, s.version, s.key in table.loaded) for s in table.slots])


def _add_routes(app: FastAPI, serving: ServingApp) -> None:
    get: list[tuple[str, Endpoint]] = [
        ("/v2", serving.server_metadata),
        ("/v2/health/live", serving.live),
        ("/v2/health/ready", serving.ready),
        ("/v2/models/{name}", serving.model_metadata),
        ("/v2/models/{name}/versions/{version}", serving.model_metadata),
        ("/v2/models/{name}/ready", serving.model_ready),
        ("/v2/models/{name}/versions/{version}/ready", serving.model_ready),
        ("/metrics", serving.metrics_endpoint),
        ("/ping", serving.ping),
        ("/health", serving.ping),
    ]
    for path, endpoint in get:
        app.add_route(path, endpoint, methods=["GET"], include_in_schema=False)
    post: list[tuple[str, Endpoint]] = [
        ("/v2/models/{name}/infer", serving.infer),
        ("/v2/models/{name}/versions/{version}/infer", serving.infer),
        ("/invocations", serving.invocations),
    ]
    for path, endpoint in post:
        app.add_route(path, endpoint, methods=["POST"], include_in_schema=False)


__all__ = ["BatchingConfig", "ModelSlot", "PredLogConfig", "create_serving_app"]
