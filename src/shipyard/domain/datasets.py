"""Datasets: immutable, content-addressed versions of a tree of files, and their lineage.

A dataset version *is* its manifest: the files' relative paths, sizes and sha256s. Its ``digest``
is the sha256 of the canonical manifest, a UTF-8 text with one line per file, sorted by path::

    <sha256> <size> <path>\\n

so the same files give the same digest on every machine and every store. Versions are numbered
1, 2, 3... per dataset and never change once created.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shipyard.errors import InvalidArgument

DATASET_KIND = "dataset"
"""The ``RunInput.kind`` of dataset lineage records."""

MAX_DATASET_NAME = 128
MAX_MANIFEST_PATH = 1024
MAX_MESSAGE = 10_000

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of a dataset version: its relative POSIX path, size in bytes and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One immutable version of a dataset. Times are milliseconds since the epoch (UTC)."""

    name: str
    version: int
    digest: str
    file_count: int
    total_size: int
    message: str = ""
    created_at: int = 0
    created_by: str = ""

    @property
    def ref(self) -> str:
        """``name@version``, the form the CLI takes."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named dataset and its newest version."""

    name: str
    created_at: int
    latest: DatasetVersion


@dataclass(frozen=True, slots=True)
class DatasetUsage:
    """A run that consumed (``direction="input"``) or produced (``"output"``) a dataset version."""

    run_id: str
    direction: str
    version: int


def validate_dataset_name(name: str) -> str:
    """A dataset name: letters, digits, ``_ . -``, starting with a letter or digit (<= 128).

    >>> validate_dataset_name("mnist-small")
    'mnist-small'
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgument("dataset name is empty", hint="pass a name such as 'mnist'")
    if len(name) > MAX_DATASET_NAME or not _NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"invalid dataset name {name!r}",
            hint="use letters, digits, '_', '.' and '-' (at most 128), starting with a letter "
            "or digit, e.g. 'mnist-v2'",
        )
    return name


def validate_dataset_version(version: object) -> int:
    """A version number: an integer from 1."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidArgument(
            f"invalid dataset version {version!r}",
            hint="versions are numbered 1, 2, 3...; leave it out for the latest",
        )
    return version


def validate_message(message: str) -> str:
    """A version message: text of at most 10,000 characters."""
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise InvalidArgument(
            "invalid dataset version message",
            hint=f"use text of at most {MAX_MESSAGE} characters",
        )
    return message


def validate_manifest_path(path: str) -> str:
    """A file path inside a dataset: relative POSIX, no ``.``/``..``/empty segments, no
    backslash or control character, at most 1024 characters.

    >>> validate_manifest_path("train/images/0001.png")
    'train/images/0001.png'
    """
    hint = "use a relative path inside the dataset, such as 'train/0001.png'"
    if not isinstance(path, str) or not path:
        raise InvalidArgument(f"invalid dataset file path {path!r}", hint=hint)
    if len(path) > MAX_MANIFEST_PATH or "\\" in path or _CONTROL_RE.search(path):
        raise InvalidArgument(f"invalid dataset file path {path!r}", hint=hint)
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidArgument(
            f"dataset file path {path!r} is absolute or leaves the dataset's folder", hint=hint
        )
    return path


def validate_entry(entry: ManifestEntry) -> ManifestEntry:
    """Check one manifest entry's path, size and sha256."""
    path = validate_manifest_path(entry.path)
    if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size < 0:
        raise InvalidArgument(
            f"dataset file {path!r} has an invalid size {entry.size!r}",
            hint="give the size in bytes (0 or more)",
        )
    if not isinstance(entry.sha256, str) or not _SHA256_RE.fullmatch(entry.sha256):
        raise InvalidArgument(
            f"dataset file {path!r} has an invalid sha256 {entry.sha256!r}",
            hint="give the content's sha256 as 64 lowercase hex characters",
        )
    return entry


def normalize_manifest(entries: Iterable[ManifestEntry]) -> tuple[ManifestEntry, ...]:
    """Validate a manifest and return it sorted by path.

    Refuses an empty manifest, a path given twice, and a path that is both a file and a folder
    (``a`` and ``a/b``), since such a version could not be written to disk.
    """
    ordered = tuple(sorted((validate_entry(e) for e in entries), key=lambda e: e.path))
    if not ordered:
        raise InvalidArgument(
            "a dataset version needs at least one file", hint="add a folder that has files"
        )
    paths = {entry.path for entry in ordered}
    if len(paths) != len(ordered):
        twice = next(a.path for a, b in itertools.pairwise(ordered) if a.path == b.path)
        raise InvalidArgument(f"dataset file {twice!r} is listed twice", hint="list each path once")
    for entry in ordered:
        _check_parents(entry.path, paths)
    return ordered


def _check_parents(path: str, paths: set[str]) -> None:
    parent = path
    while "/" in parent:
        parent = parent.rsplit("/", 1)[0]
        if parent in paths:
            raise InvalidArgument(
                f"dataset path {parent!r} is both a file and the folder of {path!r}",
                hint="rename one of them",
            )


def canonical_manifest(entries: Sequence[ManifestEntry]) -> bytes:
    """The canonical text of a manifest already sorted by :func:`normalize_manifest`."""
    return "".join(f"{e.sha256} {e.size} {e.path}\n" for e in entries).encode("utf-8")


def parse_canonical_manifest(text: bytes) -> list[ManifestEntry]:
    """The entries of a canonical manifest (the inverse of :func:`canonical_manifest`)."""
    entries = []
    for line in text.decode("utf-8").split("\n")[:-1]:  # every line ends with "\n"
        sha256, size, path = line.split(" ", 2)
        entries.append(ManifestEntry(path, int(size), sha256))
    return entries


def manifest_digest(entries: Sequence[ManifestEntry]) -> str:
    """The digest of a sorted, validated manifest: the sha256 of its canonical text."""
    return hashlib.sha256(canonical_manifest(entries)).hexdigest()


def parse_dataset_ref(ref: str) -> tuple[str, int | None]:
    """Split ``name`` or ``name@version`` (the CLI's form) into a checked name and version.

    >>> parse_dataset_ref("mnist@3")
    ('mnist', 3)
    """
    name, sep, version = ref.partition("@")
    if not sep:
        return validate_dataset_name(name), None
    if not version.isdigit() or int(version) < 1:
        raise InvalidArgument(
            f"invalid dataset version in {ref!r}",
            hint="write NAME or NAME@VERSION with a version number from 1, e.g. 'mnist@2'",
        )
    return validate_dataset_name(name), int(version)
