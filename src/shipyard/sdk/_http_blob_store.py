""":class:`HttpArtifactStore`: the :class:`~shipyard.artifacts.base.ArtifactStore` protocol over
a hub's blob routes (``/api/v1/blobs/...``).

For code that writes blobs and then records them through a store, like the workflow engine
storing a job's output log when it runs against a hub: ``put_file`` asks the hub whether it holds
the content and streams it only when it does not. Reads stream and verify the sha256.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from shipyard.api import datasets as api
from shipyard.api import routes
from shipyard.api.routes import url
from shipyard.artifacts.base import (
    CHUNK_SIZE,
    BlobInfo,
    atomic_target,
    check_sha256,
    copy_hashing,
    hash_file,
    open_source,
    read_chunks,
    verified_chunks,
    verify_stored,
    verify_upload,
)
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk._http_blobs import HttpBlobs
from shipyard.sdk._http_store import HttpRunStore


class HttpArtifactStore:
    """Blobs on a Shipyard hub, addressed by sha256.

    Example::

        blobs = HttpArtifactStore(HttpRunStore("http://127.0.0.1:8080"))
        info = blobs.put_file(Path("output.log"))
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http
        self._blobs = HttpBlobs(http)

    def put_file(self, path: Path) -> BlobInfo:
        """Send a local file unless the hub holds its content. Raises ``NotFound``."""
        info = hash_file(path)
        if self.exists(info.sha256):
            return info
        self._http.request(
            "PUT",
            url(api.BLOB, sha256=info.sha256),
            body=_file_chunks(path),
            content_type=routes.OCTET_STREAM,
            headers={"Content-Length": str(info.size)},
        )
        return info

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        """Send a stream of bytes (spooled to a temporary file first)."""
        with tempfile.TemporaryDirectory(prefix="shipyard-blob-") as folder:
            path = Path(folder) / "blob"
            with path.open("wb") as fh:
                info = copy_hashing(chunks, fh)
            verify_upload(info, expected_sha256)
            return self.put_file(path)

    def exists(self, sha256: str) -> bool:
        """Whether the hub stores a blob with this address."""
        check_sha256(sha256)
        return not self._blobs.missing([sha256])

    def size(self, sha256: str) -> int:
        """Size in bytes of a stored blob. Raises ``NotFound``."""
        with self._http.stream("GET", url(api.BLOB, sha256=check_sha256(sha256))) as response:
            return int(response.headers.get("Content-Length", "0"))

    def open(self, sha256: str) -> Iterator[bytes]:
        """Stream a blob's bytes (``NotFound`` at the call, ``IntegrityError`` at the end)."""
        if not self.exists(sha256):
            raise NotFound(f"blob {sha256} is not stored on the hub", hint="check the sha256")
        return verified_chunks(self._chunks(sha256), sha256)

    def download(self, sha256: str, dest: Path) -> BlobInfo:
        """Write a blob to ``dest`` atomically, verifying its checksum."""
        check_sha256(sha256)
        with atomic_target(Path(dest)) as tmp:
            with tmp.open("wb") as fh:
                info = copy_hashing(self._chunks(sha256), fh)
            verify_stored(info, sha256)
        return info

    def stored_bytes(self) -> int:
        """Not known to a client: raises ``InvalidArgument``."""
        raise InvalidArgument(
            "a hub does not report its stored bytes to clients",
            hint="ask the hub's operator, or run the command on the hub",
        )

    def _chunks(self, sha256: str) -> Iterator[bytes]:
        with self._http.stream("GET", url(api.BLOB, sha256=sha256)) as response:
            yield from response.iter_bytes(CHUNK_SIZE)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open_source(path) as fh:
        yield from read_chunks(fh)
