"""Operations over many blobs at once, for datasets of thousands of files.

Remote stores (S3) answer each blob in one round trip, so these run the per-blob calls on a small
thread pool (stores are thread safe by contract); a local folder is fast enough one by one.

Example::

    todo = missing_blobs(artifacts, [entry.sha256 for entry in manifest])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from shipyard.artifacts.base import ArtifactStore, BlobInfo
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.errors import IntegrityError, NotFound

DEFAULT_WORKERS = 16
"""Concurrent requests to a remote store."""

_T = TypeVar("_T")
_R = TypeVar("_R")


def parallel_map(fn: Callable[[_T], _R], items: Sequence[_T], workers: int) -> list[_R]:
    """``[fn(item) for item in items]`` on up to ``workers`` threads, results in order.

    The first exception raised by ``fn`` is raised here.
    """
    if len(items) <= 1 or workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def lookup_workers(store: ArtifactStore, workers: int) -> int:
    """Threads worth using for metadata look-ups: one for a local folder (a ``stat`` is cheaper
    than a hand-off to a thread), ``workers`` for a remote store."""
    return 1 if isinstance(store, LocalArtifactStore) else workers


def unique(sha256s: Iterable[str]) -> list[str]:
    """The addresses without repeats, in first-seen order."""
    return list(dict.fromkeys(sha256s))


def missing_blobs(
    store: ArtifactStore, sha256s: Iterable[str], *, workers: int = DEFAULT_WORKERS
) -> list[str]:
    """The addresses among ``sha256s`` that ``store`` does not hold (each once, in order).

    Raises ``InvalidArgument`` for a malformed address.
    """
    wanted = unique(sha256s)
    present = parallel_map(store.exists, wanted, lookup_workers(store, workers))
    return [sha for sha, found in zip(wanted, present, strict=True) if not found]


def blob_sizes(
    store: ArtifactStore, sha256s: Iterable[str], *, workers: int = DEFAULT_WORKERS
) -> dict[str, int | None]:
    """The size of each blob, ``None`` for a blob the store does not hold."""

    def size_or_none(sha256: str) -> int | None:
        try:
            return store.size(sha256)
        except NotFound:
            return None

    wanted = unique(sha256s)
    sizes = parallel_map(size_or_none, wanted, lookup_workers(store, workers))
    return dict(zip(wanted, sizes, strict=True))


def put_blobs(
    store: ArtifactStore,
    blobs: Sequence[tuple[str, bytes]],
    *,
    workers: int = DEFAULT_WORKERS,
) -> list[BlobInfo]:
    """Store in-memory blobs, each checked against its address (``IntegrityError`` otherwise)."""
    return parallel_map(
        lambda blob: store.put_stream([blob[1]], expected_sha256=blob[0]), blobs, workers
    )


def put_files(
    store: ArtifactStore,
    files: Sequence[tuple[Path, str]],
    *,
    workers: int = DEFAULT_WORKERS,
    on_stored: Callable[[BlobInfo], None] | None = None,
) -> list[BlobInfo]:
    """Store local files expected to have the given addresses.

    A file whose content no longer has its expected address (it changed after it was hashed)
    raises ``IntegrityError``. ``on_stored`` is called (from worker threads) after each file.
    """

    def put(item: tuple[Path, str]) -> BlobInfo:
        path, expected = item
        info = store.put_file(path)
        if info.sha256 != expected:
            raise IntegrityError(
                f"file {str(path)!r} changed while it was being stored (sha256 {info.sha256}, "
                f"expected {expected})",
                hint="do not modify files while they are added; add them again",
            )
        if on_stored is not None:
            on_stored(info)
        return info

    return parallel_map(put, files, workers)
