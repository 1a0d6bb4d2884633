"""Moving dataset files' bytes: the :class:`BlobTransfer` seam and its embedded implementation.

The embedded transfer talks to an :class:`~shipyard.artifacts.ArtifactStore` directly; the HTTP
one (``_http_blobs.py``) to a server. Both upload only blobs the store lacks and write downloads
through :func:`write_verified`: a temporary file beside the destination, checked against the
sha256, then renamed, so a destination file is either absent or complete and correct.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shipyard.artifacts.base import ArtifactStore, BlobInfo
from shipyard.artifacts.batch import missing_blobs, parallel_map, put_files
from shipyard.errors import IntegrityError

Progress = Callable[[int], None]
"""Called with byte counts as files are sent or written."""

WORKERS = 4
"""Files stored or written at once by the embedded transfer."""


@dataclass(frozen=True, slots=True)
class LocalBlob:
    """A local file and its content address: the source of an upload, or a download's target."""

    path: Path
    sha256: str
    size: int


class BlobTransfer(Protocol):
    """Moves blobs between local files and where a backend keeps them."""

    def missing(self, sha256s: Sequence[str]) -> list[str]:
        """The addresses the backend does not store (each once, in order)."""
        ...

    def upload(self, blobs: Sequence[LocalBlob], progress: Progress | None = None) -> None:
        """Store local files under their addresses. Raises ``IntegrityError`` when a file no
        longer has its address (it changed after it was hashed)."""
        ...

    def download(self, blobs: Sequence[LocalBlob], progress: Progress | None = None) -> None:
        """Write blobs to their ``path`` (atomically, verified). Raises ``NotFound`` or
        ``IntegrityError``."""
        ...


def write_verified(dest: Path, chunks: Iterable[bytes], sha256: str) -> int:
    """Write ``chunks`` to ``dest`` through a temporary file; rename only if they hash to
    ``sha256`` (``IntegrityError`` otherwise, leaving ``dest`` untouched). Returns the size.

    No ``fsync``: downloads can be fetched again, and a dataset cache folder is only marked
    complete after all its files are written.
    """
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("xb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if digest.hexdigest() != sha256:
            raise IntegrityError(
                f"downloaded content for {str(dest)!r} has sha256 {digest.hexdigest()}, "
                f"expected {sha256}",
                hint="download it again; if it persists the stored blob is damaged",
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return size


class EmbeddedBlobs:
    """A :class:`BlobTransfer` straight to an artifact store (local folder or S3)."""

    def __init__(self, artifacts: ArtifactStore, workers: int = WORKERS) -> None:
        self._artifacts = artifacts
        self._workers = workers

    def missing(self, sha256s: Sequence[str]) -> list[str]:
        """The addresses the artifact store lacks."""
        return missing_blobs(self._artifacts, sha256s)

    def upload(self, blobs: Sequence[LocalBlob], progress: Progress | None = None) -> None:
        """Store files on a few threads, each checked against its expected address."""

        def stored(info: BlobInfo) -> None:
            if progress is not None:
                progress(info.size)

        files = [(blob.path, blob.sha256) for blob in blobs]
        put_files(self._artifacts, files, workers=self._workers, on_stored=stored)

    def download(self, blobs: Sequence[LocalBlob], progress: Progress | None = None) -> None:
        """Write blobs to their paths on a few threads (verified while streamed)."""

        def fetch(blob: LocalBlob) -> None:
            size = write_verified(blob.path, self._artifacts.open(blob.sha256), blob.sha256)
            if progress is not None:
                progress(size)

        parallel_map(fetch, blobs, self._workers)
