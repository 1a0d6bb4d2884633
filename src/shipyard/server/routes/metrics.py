"""Metric routes: batch ingest (JSON or msgpack) and history (JSON or msgpack)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from shipyard.api import codec, routes
from shipyard.api.schemas import IngestIn, IngestResult, MetricSeriesOut, describe_errors
from shipyard.domain.batch import IngestBatch
from shipyard.errors import InvalidArgument
from shipyard.server._deps import Store, errors, json_response
from shipyard.server.access import Need, by_run, rule
from shipyard.store.base import RunStore

router = APIRouter(tags=["metrics"])

_INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/IngestIn"}},
            routes.MSGPACK: {
                "schema": {"type": "string", "format": "binary"},
                "example": "see shipyard.api.codec: columns as little-endian int64/float64 bytes",
            },
        },
    }
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def decode_ingest(content_type: str, body: bytes) -> IngestBatch:
    """The batch in a request body, JSON or msgpack by ``Content-Type``."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == routes.MSGPACK:
        return codec.decode_batch(body)
    if media_type not in ("", "application/json"):
        raise InvalidArgument(
            f"unsupported content type {media_type!r} for a batch",
            hint=f"send application/json or {routes.MSGPACK}",
        )
    try:
        batch = IngestIn.model_validate_json(body).to_domain()
    except ValidationError as exc:
        raise InvalidArgument(describe_errors(exc.errors()), hint="see /docs") from None
    for key, columns in batch.metrics.items():
        codec.check_columns(key, columns)
    return batch


def _ingest(store: RunStore, run_id: str, content_type: str, body: bytes) -> bool:
    return store.ingest(run_id, decode_ingest(content_type, body))


@router.post(
    routes.RUN_INGEST,
    response_model=IngestResult,
    responses=errors(404, 409, 413),
    openapi_extra=_INGEST_BODY,
    summary="Ingest a batch",
    description="Apply one idempotent batch of metric points, params, tags and an optional run "
    'end, atomically. Send JSON (NaN/Infinity as the strings `"NaN"`, `"Infinity"`, '
    f'`"-Infinity"`) or `{routes.MSGPACK}` (the SDK\'s compact format). '
    "`applied` is false when this `batch_id` was applied before.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
async def ingest(run_id: str, request: Request, store: Store) -> Response:
    """Apply one batch (the body is already bounded by the body-limit middleware)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    applied = await run_in_threadpool(_ingest, store, run_id, content_type, body)
    return json_response(IngestResult(applied=applied))


@router.get(
    routes.RUN_METRIC_HISTORY,
    response_model=MetricSeriesOut,
    responses={200: {"content": {routes.MSGPACK: _BINARY}}, **errors(404)},
    summary="Metric history",
    description="Points of one metric ordered by step, or at most `max_points` of them chosen "
    "to keep the shape and the extremes (`total` says how many are stored). The key is a query "
    "parameter because metric keys contain '/'. JSON by default; "
    f"`Accept: {routes.MSGPACK}` gets the compact format.",
    dependencies=[rule(Need.READ, project=by_run())],
)
def metric_history(
    run_id: str, key: str, request: Request, store: Store, max_points: int | None = None
) -> Response:
    """One metric's history."""
    series = store.metric_history(run_id, key, max_points)
    if routes.MSGPACK in request.headers.get("accept", ""):
        return Response(codec.encode_series(series), media_type=routes.MSGPACK)
    return json_response(MetricSeriesOut.of(series))
