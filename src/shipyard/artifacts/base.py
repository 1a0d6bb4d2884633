"""The artifact (blob) store protocol, and the streaming helpers its backends share.

Contract (checked by ``shipyard.testing.artifact_contract`` over every backend):

* Blobs are addressed by the lowercase hex sha256 of their content; identical content is stored
  once. An address that is not exactly 64 lowercase hex digits raises ``InvalidArgument`` before
  any I/O, so a crafted address can never name anything outside the store.
* Writes are streamed (bounded memory whatever the size) and atomic: a blob is visible under its
  address only once complete and verified; a failed or interrupted write leaves nothing visible.
* ``put_stream`` with an ``expected_sha256`` that does not match raises ``IntegrityError`` and
  stores nothing. Reads are streamed; ``open`` checks the checksum when the stream is read to its
  end and ``download`` verifies it before ``dest`` appears, raising ``IntegrityError`` (and
  removing the partial file) on mismatch.
* Missing blobs raise ``NotFound`` naming the address. Thread safe.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from shipyard.errors import IntegrityError, InvalidArgument, NotFound

CHUNK_SIZE = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob: its address and size in bytes."""

    sha256: str
    size: int


@runtime_checkable
class ArtifactStore(Protocol):
    """Where artifact bytes live, addressed by content."""

    def put_file(self, path: Path) -> BlobInfo:
        """Store a local file (streamed) and return its address. Dedupes identical content.

        Raises ``NotFound`` if ``path`` does not exist.
        """
        ...

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        """Store a stream of bytes. Raises ``IntegrityError`` if ``expected_sha256`` mismatches."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether a complete blob with this address is stored."""
        ...

    def size(self, sha256: str) -> int:
        """Size in bytes of a stored blob. Raises ``NotFound``."""
        ...

    def open(self, sha256: str) -> Iterator[bytes]:
        """Stream a blob's bytes in chunks.

        Raises ``NotFound`` at the call (not at the first chunk), and ``IntegrityError`` at the end
        of the stream if the content does not match its address.
        """
        ...

    def download(self, sha256: str, dest: Path) -> BlobInfo:
        """Write a blob to ``dest`` atomically, verifying its checksum (parent folders are created,
        an existing file is replaced). Raises ``NotFound`` or ``IntegrityError``."""
        ...

    def stored_bytes(self) -> int:
        """Total bytes of all stored blobs (for dedupe accounting)."""
        ...


def open_artifact_store(uri: str) -> ArtifactStore:
    """Open the artifact store for ``uri``: a local folder path / ``file://`` URI, or ``s3://bucket/prefix``.

    The S3 backend reads the endpoint from ``AWS_ENDPOINT_URL`` / ``endpoint_url`` query parameter
    (e.g. ``s3://bucket/prefix?endpoint_url=http://127.0.0.1:5000``) and credentials the boto3 way.
    """
    if uri.startswith("s3://"):
        from shipyard.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore.from_uri(uri)
    if "://" in uri and not uri.startswith("file://"):
        raise InvalidArgument(
            f"unsupported artifact location {uri!r}",
            hint="use a local folder, file:///path or s3://bucket/prefix",
        )
    from shipyard.artifacts.local import LocalArtifactStore

    return LocalArtifactStore(Path(uri.removeprefix("file://")))


# --- helpers shared by the backends -------------------------------------------------------------


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is a well-formed blob address (64 lowercase hex digits).

    Raises ``InvalidArgument`` otherwise.
    Example: ``check_sha256(hashlib.sha256(b"").hexdigest())``.
    """
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        shown = repr(sha256)[:80]
        raise InvalidArgument(
            f"malformed artifact address {shown}: expected 64 lowercase hex digits (a sha256)",
            hint="pass the sha256 that put_file/put_stream returned",
        )
    return sha256


def blob_key(sha256: str) -> str:
    """The relative location of a blob, ``blobs/sha256/ab/cdef...`` (the address is checked)."""
    check_sha256(sha256)
    return f"blobs/sha256/{sha256[:2]}/{sha256[2:]}"


def read_chunks(fh: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the rest of ``fh`` in chunks of at most ``size`` bytes."""
    while chunk := fh.read(size):
        yield chunk


def copy_hashing(chunks: Iterable[bytes], fh: BinaryIO) -> BlobInfo:
    """Write ``chunks`` to ``fh`` while hashing them; returns the address and size written."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        fh.write(chunk)
        size += len(chunk)
    return BlobInfo(digest.hexdigest(), size)


def hash_file(path: Path) -> BlobInfo:
    """The address and size of a local file, read in chunks. Raises ``NotFound`` if missing."""
    with open_source(path) as fh:
        digest = hashlib.sha256()
        size = 0
        for chunk in read_chunks(fh):
            digest.update(chunk)
            size += len(chunk)
    return BlobInfo(digest.hexdigest(), size)


def open_source(path: Path) -> BinaryIO:
    """Open a file to upload, translating "missing" and "is a folder" into Shipyard errors."""
    try:
        return Path(path).open("rb")
    except FileNotFoundError:
        raise NotFound(f"file {str(path)!r} does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise InvalidArgument(
            f"{str(path)!r} is a folder, not a file", hint="store the files inside it one by one"
        ) from None


def verify_upload(info: BlobInfo, expected_sha256: str | None) -> None:
    """Raise ``IntegrityError`` if received content does not have the expected address."""
    if expected_sha256 is not None and info.sha256 != expected_sha256:
        raise IntegrityError(
            f"received content has sha256 {info.sha256} ({info.size} bytes), "
            f"expected {expected_sha256}",
            hint="the data changed or was cut short in transit; send it again",
        )


def verify_stored(info: BlobInfo, sha256: str) -> None:
    """Raise ``IntegrityError`` if content read back from a store does not match its address."""
    if info.sha256 != sha256:
        raise IntegrityError(
            f"stored blob {sha256} is corrupt: its content has sha256 {info.sha256}",
            hint="the stored copy is damaged; store the original file again",
        )


def verified_chunks(chunks: Iterable[bytes], sha256: str) -> Iterator[bytes]:
    """Pass ``chunks`` through, raising ``IntegrityError`` at the end if they do not hash to
    ``sha256``."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        yield chunk
    verify_stored(BlobInfo(digest.hexdigest(), size), sha256)


def fsync_path(path: Path) -> None:
    """Flush a file's (or, on POSIX, a folder's) data to disk."""
    if path.is_dir() and os.name != "posix":
        return  # folders cannot be opened for fsync on Windows
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_target(dest: Path) -> Iterator[Path]:
    """A temporary path beside ``dest`` to fill; moved onto ``dest`` (after fsync) only if the
    block succeeds, removed in every case otherwise.

    Example::

        with atomic_target(dest) as tmp:
            tmp.write_bytes(data)
    """
    dest = Path(dest)
    if dest.is_dir():
        raise InvalidArgument(f"{str(dest)!r} is a folder", hint="pass the path of a file to write")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(8)}.part")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
