"""Datasets in the SDK: add a file or folder as a version, write a version to a folder, the local
cache that ``Run.use_dataset`` reads from, and the lineage records of runs.

Adding hashes every file, asks the backend which blobs it lacks, uploads only those (one copy per
distinct content), then records the version. Writing a version downloads each distinct blob once
(verified) and copies it to the other paths that share it. The cache keeps one folder per version,
``<home>/datasets/<name>/<version>/``, marked complete by ``.<version>.digest`` beside it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shipyard.artifacts.base import hash_file, read_chunks
from shipyard.artifacts.batch import parallel_map
from shipyard.domain.datasets import (
    DATASET_KIND,
    DatasetVersion,
    ManifestEntry,
    normalize_manifest,
    validate_dataset_name,
    validate_message,
)
from shipyard.domain.entities import RunInput
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk._blobs import WORKERS, BlobTransfer, EmbeddedBlobs, LocalBlob, write_verified
from shipyard.sdk.backend import Backend
from shipyard.settings import Settings
from shipyard.store.datasets import DatasetStore

HASH_WORKERS = 4
_PART_RE = re.compile(r"^\..+\.[0-9a-f]{12}\.part$")


class DatasetProgress(Protocol):
    """What long dataset transfers report to (the CLI draws progress bars with it)."""

    def phase(self, name: str, total: int) -> None:
        """A phase (``hashing``, ``uploading``, ``downloading``) of ``total`` bytes starts."""
        ...

    def advance(self, amount: int) -> None:
        """``amount`` more bytes of the current phase are done (called from worker threads)."""
        ...


@dataclass(frozen=True, slots=True)
class DatasetAccess:
    """What a backend offers for datasets: the metadata store and the blob transfer."""

    store: DatasetStore
    blobs: BlobTransfer


def open_datasets(backend: Backend) -> DatasetAccess:
    """The dataset store and blob transfer of an SDK backend (embedded or HTTP)."""
    from shipyard.sdk._embedded import EmbeddedBackend
    from shipyard.sdk._http import HttpBackend

    if isinstance(backend, HttpBackend):
        from shipyard.sdk._http_blobs import HttpBlobs
        from shipyard.sdk._http_datasets import HttpDatasetStore

        return DatasetAccess(HttpDatasetStore(backend.store), HttpBlobs(backend.store))
    store = backend.store
    if isinstance(backend, EmbeddedBackend) and isinstance(store, DatasetStore):
        return DatasetAccess(store, EmbeddedBlobs(backend.artifacts))
    raise InvalidArgument(
        f"the {type(backend).__name__} backend does not support datasets",
        hint="use the embedded store, a SQL store or a Shipyard server",
    )


# -- adding ---------------------------------------------------------------------------------


def scan_files(path: Path) -> list[tuple[Path, str]]:
    """The files to add and their paths inside the dataset: a file alone keeps its name; a
    folder's files are taken recursively (linked folders are not followed), sorted."""
    if not path.exists():
        raise NotFound(f"no file or folder at {path}", hint="check the path you passed")
    if not path.is_dir():
        return [(path, path.name)]
    found: list[tuple[Path, str]] = []
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            file = Path(folder, name)
            if file.is_file():
                found.append((file, file.relative_to(path).as_posix()))
    if not found:
        raise InvalidArgument(f"folder {path} has no files", hint="add a folder that has files")
    return found


def hash_files(
    files: Sequence[tuple[Path, str]], progress: DatasetProgress | None = None
) -> list[tuple[Path, ManifestEntry]]:
    """Each file with its manifest entry (content hashed on a few threads)."""

    def entry(item: tuple[Path, str]) -> tuple[Path, ManifestEntry]:
        info = hash_file(item[0])
        if progress is not None:
            progress.advance(info.size)
        return item[0], ManifestEntry(item[1], info.size, info.sha256)

    if progress is not None:
        progress.phase("hashing", sum(file.stat().st_size for file, _ in files))
    return parallel_map(entry, files, HASH_WORKERS)


def add_dataset(
    access: DatasetAccess,
    name: str,
    path: Path,
    *,
    message: str = "",
    user: str = "",
    progress: DatasetProgress | None = None,
) -> DatasetVersion:
    """Add a file or folder as a version of ``name``, uploading only content the backend lacks.

    Unchanged content returns the latest version. Raises ``NotFound`` for a missing path and
    ``InvalidArgument`` for a bad name or an empty folder.
    """
    validate_dataset_name(name)
    validate_message(message)
    hashed = hash_files(scan_files(Path(path)), progress)
    entries = normalize_manifest(entry for _, entry in hashed)
    todo = set(access.blobs.missing([entry.sha256 for entry in entries]))
    uploads: dict[str, LocalBlob] = {}
    for local, entry in hashed:
        if entry.sha256 in todo and entry.sha256 not in uploads:
            uploads[entry.sha256] = LocalBlob(local, entry.sha256, entry.size)
    if progress is not None:
        progress.phase("uploading", sum(blob.size for blob in uploads.values()))
    access.blobs.upload(list(uploads.values()), None if progress is None else progress.advance)
    return access.store.create_dataset_version(name, entries, message, user)


# -- writing a version to disk ---------------------------------------------------------------


def materialize(
    access: DatasetAccess,
    version: DatasetVersion,
    dest: Path,
    progress: DatasetProgress | None = None,
) -> Path:
    """Write every file of ``version`` under ``dest`` (created if needed), verified.

    Files already there with the right content are kept (an interrupted download resumes); a
    file that is not part of the version raises ``InvalidArgument``, so ``dest`` ends up holding
    exactly the version.
    """
    manifest = access.store.get_manifest(version.name, version.version)
    _check_folder(dest, {entry.path for entry in manifest}, version)
    targets = _make_folders(dest, manifest)
    todo = [e for e in manifest if not _has_content(targets[e.path], e)]
    firsts: dict[str, LocalBlob] = {}
    copies: list[tuple[LocalBlob, Path]] = []
    for entry in todo:
        target = targets[entry.path]
        first = firsts.setdefault(entry.sha256, LocalBlob(target, entry.sha256, entry.size))
        if first.path != target:
            copies.append((first, target))
    if progress is not None:
        progress.phase("downloading", sum(entry.size for entry in todo))
    advance = None if progress is None else progress.advance
    access.blobs.download(list(firsts.values()), advance)

    def copy(item: tuple[LocalBlob, Path]) -> None:
        source, target = item
        with source.path.open("rb") as handle:
            size = write_verified(target, read_chunks(handle), source.sha256)
        if advance is not None:
            advance(size)

    parallel_map(copy, copies, WORKERS)
    return dest


def _make_folders(root: Path, manifest: Sequence[ManifestEntry]) -> dict[str, Path]:
    """Where each file goes, its folder created. A folder that would lead outside ``root``
    (through a link already inside ``root``) raises ``InvalidArgument`` before anything is
    created; manifest paths themselves never hold ``..`` or a leading ``/``."""
    base = root.resolve()
    targets = {entry.path: root / entry.path for entry in manifest}
    folders = sorted({target.parent for target in targets.values()})
    for folder in folders:
        if not folder.resolve().is_relative_to(base):
            raise InvalidArgument(
                f"dataset folder {folder.relative_to(root).as_posix()!r} leaves the folder {root}",
                hint="write the dataset to a folder without links that point elsewhere",
            )
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return targets


def _check_folder(dest: Path, paths: set[str], version: DatasetVersion) -> None:
    if dest.exists() and not dest.is_dir():
        raise InvalidArgument(f"{dest} is a file", hint="pass a folder to write the dataset to")
    dest.mkdir(parents=True, exist_ok=True)
    for folder, _dirs, names in os.walk(dest):
        for name in names:
            file = Path(folder, name)
            if _PART_RE.match(name):
                file.unlink(missing_ok=True)  # left by an interrupted download
                continue
            relative = file.relative_to(dest).as_posix()
            if relative not in paths:
                raise InvalidArgument(
                    f"{dest} already holds {relative!r}, which is not part of {version.ref}",
                    hint="write the dataset to a new or empty folder",
                )


def _has_content(path: Path, entry: ManifestEntry) -> bool:
    if not path.is_file() or path.stat().st_size != entry.size:
        return False
    return hash_file(path).sha256 == entry.sha256


# -- the local cache -------------------------------------------------------------------------


def cached_version(
    access: DatasetAccess, cache_root: Path, name: str, version: int | None
) -> tuple[Path, DatasetVersion]:
    """The cache folder holding ``name`` at ``version`` (``None``: the latest), downloaded first
    unless a complete copy with the same digest is there."""
    found = access.store.get_dataset_version(validate_dataset_name(name), version)
    root = cache_root / name
    folder, marker = root / str(found.version), root / f".{found.version}.digest"
    if _complete(folder, marker, found):
        return folder, found
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{found.version}.{secrets.token_hex(6)}.tmp"
    try:
        materialize(access, found, staging)
        _install(staging, folder, marker, found)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder, found


def _complete(folder: Path, marker: Path, version: DatasetVersion) -> bool:
    try:
        recorded = marker.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    return recorded == version.digest and _same_shape(folder, version)


def _same_shape(folder: Path, version: DatasetVersion) -> bool:
    """A cheap check (no hashing) that nobody removed or resized files: count and total size."""
    count = size = 0
    for base, _dirs, names in os.walk(folder):
        for name in names:
            count += 1
            size += Path(base, name).stat().st_size
    return count == version.file_count and size == version.total_size


def _install(staging: Path, folder: Path, marker: Path, version: DatasetVersion) -> None:
    marker.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)  # an incomplete or different copy
    try:
        staging.rename(folder)
    except OSError:
        # Another process installed it first; keep theirs if it looks right.
        if not _same_shape(folder, version):
            raise
    tmp = marker.with_name(f"{marker.name}.{secrets.token_hex(6)}")
    tmp.write_text(version.digest + "\n", encoding="ascii")
    os.replace(tmp, marker)


# -- runs ------------------------------------------------------------------------------------


def use_dataset(
    backend: Backend, settings: Settings, run_id: str, name: str, version: int | None
) -> Path:
    """Materialize a version into the cache and record it as an input of the run.

    ``version=None`` takes the version pinned in ``settings.dataset_pins``, else the latest.
    """
    validate_dataset_name(name)
    if version is None:
        version = settings.dataset_pins.get(name)
    cache = (settings.home / "datasets").absolute()
    path, found = cached_version(open_datasets(backend), cache, name, version)
    backend.store.add_run_inputs(run_id, [_lineage(found, "input")])
    return path


def log_dataset(
    backend: Backend, settings: Settings, run_id: str, name: str, path: Path, message: str
) -> DatasetVersion:
    """Add a file or folder as a version and record it as an output of the run."""
    access = open_datasets(backend)
    version = add_dataset(access, name, path, message=message, user=settings.user)
    backend.store.add_run_inputs(run_id, [_lineage(version, "output")])
    return version


def _lineage(version: DatasetVersion, direction: str) -> RunInput:
    return RunInput(
        kind=DATASET_KIND,
        name=version.name,
        version=str(version.version),
        direction=direction,
        digest=version.digest,
    )
