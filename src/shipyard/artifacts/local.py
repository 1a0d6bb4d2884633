"""Content-addressed blobs in a local folder.

Layout under ``root``::

    blobs/sha256/ab/cdef...   one read-only file per blob, named by its sha256
    tmp/                      writes in progress (same filesystem, so the final rename is atomic)

A write streams into ``tmp/`` while hashing, is fsynced, made read-only and renamed into place with
``os.replace``; if the blob already exists the temporary file is dropped instead (dedupe). Two
writers racing on the same content both rename identical bytes, so the result is one good blob.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from shipyard.artifacts.base import (
    BlobInfo,
    atomic_target,
    blob_key,
    check_sha256,
    copy_hashing,
    fsync_path,
    open_source,
    read_chunks,
    verified_chunks,
    verify_stored,
    verify_upload,
)
from shipyard.errors import InvalidArgument, NotFound

_READ_ONLY = 0o444


class LocalArtifactStore:
    """An :class:`~shipyard.artifacts.ArtifactStore` in a local folder (created if missing).

    Example::

        store = LocalArtifactStore(Path(".shipyard/artifacts"))
        info = store.put_file(Path("model.pkl"))
        store.download(info.sha256, Path("restored.pkl"))
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs" / "sha256"
        self._tmp = self.root / "tmp"
        try:
            self._blobs.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(exist_ok=True)
        except OSError as exc:
            raise InvalidArgument(
                f"cannot use {str(self.root)!r} as an artifact folder: {exc.strerror}",
                hint="pass a writable folder path (SHIPYARD_ARTIFACTS)",
            ) from exc

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self.root)!r})"

    def blob_path(self, sha256: str) -> Path:
        """Where the blob with this address lives (whether or not it exists).

        Raises ``InvalidArgument`` for a malformed address.
        """
        return self.root / blob_key(sha256)

    def put_file(self, path: Path) -> BlobInfo:
        """Store a local file, streamed in chunks; dedupes identical content."""
        with open_source(path) as fh:
            return self._write(read_chunks(fh), None)

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        """Store a stream of bytes; ``IntegrityError`` (nothing stored) if the hash mismatches."""
        if expected_sha256 is not None:
            check_sha256(expected_sha256)
        return self._write(chunks, expected_sha256)

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.blob_path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """Size in bytes of a stored blob. Raises ``NotFound``."""
        try:
            return self.blob_path(sha256).stat().st_size
        except FileNotFoundError:
            raise self._not_found(sha256) from None

    def open(self, sha256: str) -> Iterator[bytes]:
        """Stream a blob in chunks, checking its sha256 at the end. Raises ``NotFound``."""
        path = self.blob_path(sha256)
        if not path.is_file():
            raise self._not_found(sha256)
        # The file is opened lazily, so an iterator that is never read holds no descriptor.
        return verified_chunks(self._read(path, sha256), sha256)

    def download(self, sha256: str, dest: Path) -> BlobInfo:
        """Copy a blob to ``dest`` atomically after verifying its sha256."""
        path = self.blob_path(sha256)
        if not path.is_file():
            raise self._not_found(sha256)
        with atomic_target(dest) as tmp, tmp.open("xb") as out:
            info = copy_hashing(self._read(path, sha256), out)
            verify_stored(info, sha256)
        return info

    def stored_bytes(self) -> int:
        """Total size of all stored blobs."""
        total = 0
        with os.scandir(self._blobs) as fanout:
            for folder in fanout:
                if folder.is_dir(follow_symlinks=False):
                    total += _folder_bytes(folder.path)
        return total

    def _write(self, chunks: Iterable[bytes], expected_sha256: str | None) -> BlobInfo:
        tmp = self._tmp / f"{secrets.token_hex(16)}.part"
        try:
            with tmp.open("xb") as out:
                info = copy_hashing(chunks, out)
                out.flush()
                os.fsync(out.fileno())
            verify_upload(info, expected_sha256)
            os.chmod(tmp, _READ_ONLY)
            self._publish(tmp, info.sha256)
        finally:
            tmp.unlink(missing_ok=True)  # already renamed, or dropped as a duplicate or a failure
        return info

    def _publish(self, tmp: Path, sha256: str) -> None:
        dest = self.blob_path(sha256)
        if dest.exists():
            return  # dedupe: the content is already stored
        dest.parent.mkdir(exist_ok=True)
        try:
            os.replace(tmp, dest)
        except PermissionError:
            # Windows refuses to replace a read-only file: a racing writer stored it first.
            if not dest.exists():
                raise
            return
        fsync_path(dest.parent)

    def _read(self, path: Path, sha256: str) -> Iterator[bytes]:
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            raise self._not_found(sha256) from None
        with fh:
            yield from read_chunks(fh)

    def _not_found(self, sha256: str) -> NotFound:
        return NotFound(
            f"artifact blob {sha256} not found in {str(self.root)!r}",
            hint="it was never stored here; check the artifact location (SHIPYARD_ARTIFACTS)",
        )


def _folder_bytes(folder: str) -> int:
    with os.scandir(folder) as entries:
        return sum(e.stat().st_size for e in entries if e.is_file(follow_symlinks=False))
