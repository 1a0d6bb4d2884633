""":class:`HttpBlobs`: the dataset :class:`~shipyard.sdk._blobs.BlobTransfer` to a Shipyard server.

One ``POST /blobs/missing`` per 10,000 files says what to send. Small files travel in packs
(hundreds per request, see :mod:`shipyard.api.packs`) both ways; big files are streamed one per
request (``PUT``/``GET /blobs/{sha256}``). Every blob is checked against its sha256 on arrival.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from shipyard.api import datasets as api
from shipyard.api import routes
from shipyard.api.datasets import BlobsMissing, BlobsQuery
from shipyard.api.packs import check_blob, encode_pack, read_pack
from shipyard.api.routes import url
from shipyard.artifacts.base import CHUNK_SIZE
from shipyard.artifacts.batch import parallel_map
from shipyard.errors import IntegrityError
from shipyard.sdk._blobs import WORKERS, LocalBlob, Progress, write_verified
from shipyard.sdk._http_store import HttpRunStore, wire

SMALL_BLOB = 1024 * 1024
"""Files up to this size travel in packs; bigger ones alone."""
PACK_BYTES = 8 * 1024 * 1024
"""Content bytes per pack (well under the server's default body limit of 64 MiB)."""
PACK_BLOBS = 4096
"""Blobs per pack."""


def batches(
    blobs: Sequence[LocalBlob], max_bytes: int, max_count: int
) -> Iterator[list[LocalBlob]]:
    """Consecutive groups of ``blobs`` of at most ``max_count`` blobs and (unless one blob alone
    is bigger) ``max_bytes`` bytes."""
    group: list[LocalBlob] = []
    size = 0
    for blob in blobs:
        if group and (size + blob.size > max_bytes or len(group) >= max_count):
            yield group
            group, size = [], 0
        group.append(blob)
        size += blob.size
    if group:
        yield group


def _split(blobs: Sequence[LocalBlob]) -> tuple[list[LocalBlob], list[LocalBlob]]:
    small = [blob for blob in blobs if blob.size <= SMALL_BLOB]
    return small, [blob for blob in blobs if blob.size > SMALL_BLOB]


def _read(blob: LocalBlob) -> bytes:
    data = blob.path.read_bytes()
    try:
        check_blob(blob.sha256, data)
    except IntegrityError:
        raise IntegrityError(
            f"file {str(blob.path)!r} changed after it was hashed",
            hint="do not modify files while they are added; add them again",
        ) from None
    return data


def _file_chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            if progress is not None:
                progress(len(chunk))
            yield chunk


class HttpBlobs:
    """Blob transfer to a Shipyard server over an :class:`HttpRunStore`'s connection."""

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def missing(self, sha256s: Sequence[str]) -> list[str]:
        """The addresses the server does not store (each once, in order)."""
        wanted = list(dict.fromkeys(sha256s))
        found: list[str] = []
        for start in range(0, len(wanted), api.MAX_BLOBS_PER_REQUEST):
            body = wire(BlobsQuery, sha256s=wanted[start : start + api.MAX_BLOBS_PER_REQUEST])
            response = self._http.request("POST", api.BLOBS_MISSING, body=body)
            found += BlobsMissing.model_validate_json(response.content).missing
        return found

    def upload(self, blobs: Sequence[LocalBlob], progress: Progress | None = None) -> None:
        """Send small files in packs and big ones streamed, one request each."""
        small, big = _split(blobs)
        for group in batches(small, PACK_BYTES, PACK_BLOBS):
            body = encode_pack((blob.sha256, _read(blob)) for blob in group)
            self._http.request("POST", api.BLOBS_PACK, body=body, content_type=api.PACK)
            if progress is not None:
                progress(sum(blob.size for blob in group))
        for blob in big:
            self._http.request(
                "PUT",
                url(api.BLOB, sha256=blob.sha256),
                body=_file_chunks(blob.path, progress),
                content_type=routes.OCTET_STREAM,
                headers={"Content-Length": str(blob.size)},
            )

    def download(self, blobs: Sequence[LocalBlob], progress: Progress | None = None) -> None:
        """Fetch small blobs in packs and big ones streamed; write each verified.

        The next pack is requested while the files of the current one are written (at most two
        packs are held in memory).
        """
        small, big = _split(blobs)
        with ThreadPoolExecutor(max_workers=1) as fetcher:
            pending: tuple[list[LocalBlob], Future[bytes]] | None = None
            for group in batches(small, PACK_BYTES, PACK_BLOBS):
                ahead = (group, fetcher.submit(self._fetch_pack, group))
                if pending is not None:
                    _write_pack(pending[0], pending[1].result(), progress)
                pending = ahead
            if pending is not None:
                _write_pack(pending[0], pending[1].result(), progress)
        for blob in big:
            self._fetch_one(blob, progress)

    def _fetch_pack(self, group: Sequence[LocalBlob]) -> bytes:
        """The pack of a group's blobs (at most PACK_BYTES of content, read whole)."""
        body = wire(BlobsQuery, sha256s=list(dict.fromkeys(blob.sha256 for blob in group)))
        return self._http.request("POST", api.BLOBS_FETCH, body=body, accept=api.PACK).content

    def _fetch_one(self, blob: LocalBlob, progress: Progress | None) -> None:
        with self._http.stream("GET", url(api.BLOB, sha256=blob.sha256)) as response:
            chunks = response.iter_bytes(CHUNK_SIZE)
            if progress is not None:
                chunks = _counted(chunks, progress)
            write_verified(blob.path, chunks, blob.sha256)


def _write_pack(group: Sequence[LocalBlob], pack: bytes, progress: Progress | None) -> None:
    """Write each blob of a pack (checked by hash on reading) to the group's paths for it."""
    targets: dict[str, list[Path]] = {}
    for blob in group:
        targets.setdefault(blob.sha256, []).append(blob.path)
    writes = [
        (path, sha256, data) for sha256, data in read_pack(pack) for path in targets.pop(sha256, ())
    ]
    if targets:
        raise IntegrityError(
            f"the server's pack left out {len(targets)} blob(s), e.g. {next(iter(targets))}",
            hint="download again; if it persists check the server's log",
        )

    def write(item: tuple[Path, str, bytes]) -> None:
        write_verified(item[0], [item[2]], item[1])
        if progress is not None:
            progress(len(item[2]))

    parallel_map(write, writes, WORKERS)


def _counted(chunks: Iterator[bytes], progress: Progress) -> Iterator[bytes]:
    for chunk in chunks:
        progress(len(chunk))
        yield chunk
