"""Artifact routes: records, content-addressed blob upload (streamed), downloads, lineage inputs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard.api import routes
from shipyard.api.schemas import ArtifactList, ArtifactsIn, BlobOut, RunInputList, RunInputsIn
from shipyard.domain.entities import Artifact
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import InvalidArgument, NotFound
from shipyard.server._deps import Artifacts, Store, errors, json_response
from shipyard.server.access import Need, by_run, rule

router = APIRouter(tags=["artifacts"])

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BLOB_BODY = {
    "requestBody": {
        "required": True,
        "content": {routes.OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def check_sha256(sha256: str) -> str:
    """Raise ``InvalidArgument`` unless ``sha256`` is 64 lowercase hex digits."""
    if not _SHA256.match(sha256):
        raise InvalidArgument(
            f"invalid sha256 {sha256!r}", hint="use the 64 lowercase hex digits of the content"
        )
    return sha256


@router.get(
    routes.RUN_ARTIFACTS,
    response_model=ArtifactList,
    responses=errors(404),
    summary="List artifacts",
    description="Artifact records of a run under `path` (a folder or one file), by path.",
    dependencies=[rule(Need.READ, project=by_run())],
)
def list_artifacts(run_id: str, store: Store, path: str | None = None) -> Response:
    """Artifact records under a path."""
    prefix = None if path is None else validate_artifact_path(path)
    return json_response(ArtifactList.listing(store.list_artifacts(run_id, prefix)))


@router.post(
    routes.RUN_ARTIFACTS,
    response_model=ArtifactList,
    responses=errors(404),
    summary="Register artifacts",
    description="Record artifact files (path -> sha256). Each blob must be stored first "
    "(`PUT .../blobs/{sha256}`), else 404 naming it. Re-adding a path replaces it. Returns the "
    "records as stored.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def register_artifacts(run_id: str, body: ArtifactsIn, store: Store, blobs: Artifacts) -> Response:
    """Record uploaded blobs as artifacts of a run."""
    store.get_run(run_id)
    records = [_checked(run_id, a, blobs) for a in body.to_domain()]
    store.add_artifacts(run_id, records)
    paths = {a.path for a in records}
    stored = [a for a in store.list_artifacts(run_id) if a.path in paths]
    return json_response(ArtifactList.listing(stored))


def _checked(run_id: str, artifact: Artifact, blobs: Artifacts) -> Artifact:
    path = validate_artifact_path(artifact.path)
    if not blobs.exists(artifact.sha256):
        blob_url = routes.url(routes.RUN_BLOB, run_id=run_id, sha256=artifact.sha256)
        raise NotFound(
            f"blob {artifact.sha256} of artifact {path!r} is not stored",
            hint=f"upload it first: PUT {blob_url}",
        )
    size = blobs.size(artifact.sha256)
    if size != artifact.size:
        raise InvalidArgument(
            f"artifact {path!r} declares {artifact.size} bytes but its blob "
            f"{artifact.sha256} has {size}",
            hint="send the size of the uploaded file",
        )
    return Artifact(path, artifact.size, artifact.sha256, artifact.media_type)


@router.get(
    routes.RUN_ARTIFACT_CONTENT,
    response_class=StreamingResponse,
    responses={200: {"content": {routes.OCTET_STREAM: {}}}, **errors(404)},
    summary="Download an artifact",
    description="Stream an artifact's bytes, with `Content-Length` and an "
    f"`{routes.SHA256_HEADER}` header to verify them against.",
    dependencies=[rule(Need.READ, project=by_run())],
)
def download_artifact(run_id: str, path: str, store: Store, blobs: Artifacts) -> Response:
    """Stream one artifact's content."""
    record = store.get_artifact(run_id, validate_artifact_path(path))
    size = blobs.size(record.sha256)
    filename = quote(record.path.rsplit("/", 1)[-1], safe="")
    headers = {
        "Content-Length": str(size),
        routes.SHA256_HEADER: record.sha256,
        "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(
        blobs.open(record.sha256), media_type=record.media_type, headers=headers
    )


@router.head(
    routes.RUN_BLOB,
    responses=errors(404),
    summary="Check a blob",
    description="200 when a blob with this sha256 is stored (upload can be skipped), else 404.",
    dependencies=[rule(Need.READ, project=by_run())],
)
def head_blob(run_id: str, sha256: str, store: Store, blobs: Artifacts) -> Response:
    """Whether a blob is stored."""
    check_sha256(sha256)
    store.get_run(run_id)
    if not blobs.exists(sha256):
        raise NotFound(f"blob {sha256} is not stored", hint="upload it with PUT")
    return Response(status_code=200, headers={"Content-Length": str(blobs.size(sha256))})


@router.put(
    routes.RUN_BLOB,
    response_model=BlobOut,
    responses=errors(404, 413, 422),
    openapi_extra=_BLOB_BODY,
    summary="Upload a blob",
    description="Store the request body (streamed, never held in memory) under its sha256; 422 "
    "`integrity_error` when the bytes do not hash to it, and nothing is stored.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
async def put_blob(
    run_id: str, sha256: str, request: Request, store: Store, blobs: Artifacts
) -> Response:
    """Stream the body into the artifact store."""
    check_sha256(sha256)
    await run_in_threadpool(store.get_run, run_id)
    chunks = _sync_chunks(request.stream())
    info = await run_in_threadpool(blobs.put_stream, chunks, sha256)
    return json_response(BlobOut(sha256=info.sha256, size=info.size))


def _sync_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """Bridge the async body stream to the sync artifact store (runs in a worker thread)."""
    while (chunk := anyio.from_thread.run(_next_chunk, stream)) is not None:
        if chunk:
            yield chunk


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None


@router.get(
    routes.RUN_INPUTS,
    response_model=RunInputList,
    responses=errors(404),
    summary="List run inputs",
    description="Lineage records of a run: what it consumed and produced (datasets...).",
    dependencies=[rule(Need.READ, project=by_run())],
)
def list_inputs(run_id: str, store: Store) -> Response:
    """Lineage records of a run."""
    return json_response(RunInputList.listing(store.list_run_inputs(run_id)))


@router.post(
    routes.RUN_INPUTS,
    status_code=204,
    responses=errors(404),
    summary="Add run inputs",
    description="Record lineage inputs/outputs (idempotent per kind, name, version, direction).",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def add_inputs(run_id: str, body: RunInputsIn, store: Store) -> Response:
    """Record lineage."""
    store.add_run_inputs(run_id, body.to_domain())
    return Response(status_code=204)
