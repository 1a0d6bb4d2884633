"""Blob routes for datasets: which blobs are missing, one blob up or down (streamed), and packs of
many small blobs up or down in one request."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard.api import datasets as api
from shipyard.api import routes
from shipyard.api.datasets import BlobsMissing, BlobsQuery, PackStored
from shipyard.api.packs import HEADER, coalesce, iter_frames, read_pack
from shipyard.api.schemas import BlobOut
from shipyard.artifacts.batch import blob_sizes, missing_blobs, put_blobs, unique
from shipyard.errors import NotFound
from shipyard.server._deps import Artifacts, errors, json_response
from shipyard.server.access import Need, rule
from shipyard.server.routes.artifacts import _sync_chunks, check_sha256

router = APIRouter(tags=["blobs"])


def _body(media_type: str) -> dict[str, object]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": {media_type: binary}}}


def _not_stored(sha256: str) -> NotFound:
    return NotFound(
        f"blob {sha256} is not stored",
        hint="check the sha256; a dataset version's manifest lists its files' blobs",
    )


@router.post(
    api.BLOBS_MISSING,
    response_model=BlobsMissing,
    summary="Find missing blobs",
    description="Which of up to 10,000 sha256s the server does not store (in the order asked, "
    "each once): upload only those.",
    dependencies=[rule(Need.USER, reads=True)],
)
def find_missing(body: BlobsQuery, blobs: Artifacts) -> Response:
    """The blobs among the given ones that are not stored."""
    return json_response(BlobsMissing(missing=missing_blobs(blobs, body.sha256s)))


@router.put(
    api.BLOB,
    response_model=BlobOut,
    responses=errors(413, 422),
    openapi_extra=_body(routes.OCTET_STREAM),
    summary="Upload a blob",
    description="Store the request body (streamed) under its sha256; 422 `integrity_error` when "
    "the bytes do not hash to it, and nothing is stored.",
    dependencies=[rule(Need.USER)],
)
async def put_blob(sha256: str, request: Request, blobs: Artifacts) -> Response:
    """Stream the body into the artifact store."""
    check_sha256(sha256)
    info = await run_in_threadpool(blobs.put_stream, _sync_chunks(request.stream()), sha256)
    return json_response(BlobOut(sha256=info.sha256, size=info.size))


@router.get(
    api.BLOB,
    response_class=StreamingResponse,
    responses={200: {"content": {routes.OCTET_STREAM: {}}}, **errors(404)},
    summary="Download a blob",
    description=f"Stream a blob's bytes, with `Content-Length` and `{routes.SHA256_HEADER}`.",
    dependencies=[rule(Need.USER)],
)
def get_blob(sha256: str, blobs: Artifacts) -> Response:
    """Stream one blob."""
    check_sha256(sha256)
    size = blob_sizes(blobs, [sha256])[sha256]
    if size is None:
        raise _not_stored(sha256)
    headers = {"Content-Length": str(size), routes.SHA256_HEADER: sha256}
    return StreamingResponse(blobs.open(sha256), media_type=routes.OCTET_STREAM, headers=headers)


@router.post(
    api.BLOBS_PACK,
    response_model=PackStored,
    responses=errors(413, 422),
    openapi_extra=_body(api.PACK),
    summary="Upload a pack of blobs",
    description="Store every blob of a pack (frames of a 32-byte raw sha256, a big-endian "
    "uint64 size and the bytes). Each is checked against its sha256: 422 `integrity_error` "
    "names the first that is not. Bodies are limited like every non-streamed request.",
    dependencies=[rule(Need.USER)],
)
async def put_pack(request: Request, blobs: Artifacts) -> Response:
    """Store many small blobs sent in one body."""
    pack = read_pack(await request.body())
    await run_in_threadpool(put_blobs, blobs, pack)
    return json_response(PackStored(blobs=len(pack), bytes=sum(len(data) for _, data in pack)))


@router.post(
    api.BLOBS_FETCH,
    response_class=StreamingResponse,
    responses={200: {"content": {api.PACK: {}}}, **errors(404)},
    summary="Download a pack of blobs",
    description="Stream the named blobs (each once, in the order asked) as a pack; 404 names "
    "the first that is not stored. Readers check every blob against its sha256.",
    dependencies=[rule(Need.USER, reads=True)],
)
def fetch_pack(body: BlobsQuery, blobs: Artifacts) -> Response:
    """Stream many small blobs in one response."""
    wanted = unique(body.sha256s)
    sizes = blob_sizes(blobs, wanted)
    for sha256 in wanted:
        if sizes[sha256] is None:
            raise _not_stored(sha256)
    frames = coalesce(iter_frames((sha, sizes[sha] or 0, blobs.open(sha)) for sha in wanted))
    total = sum(size or 0 for size in sizes.values()) + len(wanted) * HEADER.size
    return StreamingResponse(frames, media_type=api.PACK, headers={"Content-Length": str(total)})
