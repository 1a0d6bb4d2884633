"""The ``DatasetStore`` contract suite: one set of tests every dataset store must pass.

Subclass :class:`DatasetStoreContract` and provide three fixtures: ``datasets`` (the store under
test), ``runs`` (a :class:`~shipyard.store.RunStore` over the same data, for lineage) and
``blob`` (stores content where the backend expects it and returns its sha256; a plain SQL store
needs no bytes, a server refuses versions whose blobs it lacks)::

    class TestSqlDatasets(DatasetStoreContract):
        @pytest.fixture
        def datasets(self, sql_store):
            return sql_store
        ...
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator

import pytest

from shipyard.domain.datasets import (
    DATASET_KIND,
    DatasetUsage,
    ManifestEntry,
    manifest_digest,
)
from shipyard.domain.entities import RunInput
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store.base import RunStore
from shipyard.store.datasets import DatasetStore

BlobMaker = Callable[[bytes], str]
"""Stores content (where the backend needs it) and returns its sha256."""

BAD_NAMES = ["", "../x", "a/b", "a b", "@x", ".hidden", "-x", "x" * 129, "a\nb", "a@1"]
BAD_PATHS = [
    "../x",
    "/etc/passwd",
    "a/../../b",
    "a/../b",
    "./a",
    "a//b",
    "a/",
    "",
    "a\\b",
    "a\nb",
    "a\x00b",
    "x" * 1025,
]


def sha256_of(data: bytes) -> str:
    """The sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class DatasetStoreContract:
    """Tests of every ``DatasetStore`` method. Subclasses provide the three fixtures."""

    @pytest.fixture
    def datasets(self) -> Iterator[DatasetStore]:
        """An empty dataset store (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `datasets` fixture")

    @pytest.fixture
    def runs(self) -> RunStore:
        """The run store over the same data (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `runs` fixture")

    @pytest.fixture
    def blob(self) -> BlobMaker:
        """Makes a blob available; by default only hashes (metadata stores need no bytes)."""
        return sha256_of

    def files(self, blob: BlobMaker, **contents: bytes) -> list[ManifestEntry]:
        """Manifest entries for ``path=content`` pairs (``__`` in a name stands for ``/``)."""
        return [
            ManifestEntry(path.replace("__", "/"), len(data), blob(data))
            for path, data in contents.items()
        ]

    # -- creating versions ------------------------------------------------------------------
    def test_is_a_dataset_store(self, datasets: DatasetStore) -> None:
        assert isinstance(datasets, DatasetStore)

    def test_first_version_creates_the_dataset(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        entries = self.files(blob, b__two=b"22", a=b"1", c=b"")
        version = datasets.create_dataset_version("mnist", entries, "first cut", "ada")
        assert (version.name, version.version, version.ref) == ("mnist", 1, "mnist@1")
        assert (version.file_count, version.total_size) == (3, 3)
        assert (version.message, version.created_by) == ("first cut", "ada")
        assert version.created_at > 1_600_000_000_000
        assert version.digest == manifest_digest(sorted(entries, key=lambda e: e.path))
        assert datasets.get_dataset_version("mnist") == version
        assert datasets.get_dataset_version("mnist", 1) == version

    def test_digest_is_the_sha256_of_the_canonical_manifest(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        hello, empty = blob(b"hello"), blob(b"")
        entries = [ManifestEntry("dir/b.bin", 0, empty), ManifestEntry("a.txt", 5, hello)]
        canonical = f"{hello} 5 a.txt\n{empty} 0 dir/b.bin\n".encode()
        version = datasets.create_dataset_version("canon", entries)
        assert version.digest == sha256_of(canonical)

    def test_same_content_returns_the_latest_version(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        entries = self.files(blob, a=b"1", b=b"2")
        first = datasets.create_dataset_version("d", entries, "one")
        again = datasets.create_dataset_version("d", list(reversed(entries)), "other message")
        assert again == first
        assert [v.version for v in datasets.list_dataset_versions("d")] == [1]

    def test_changed_content_gets_the_next_number(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        one = self.files(blob, a=b"1", b=b"2")
        two = self.files(blob, a=b"1", b=b"changed")
        assert datasets.create_dataset_version("d", one).version == 1
        assert datasets.create_dataset_version("d", two).version == 2
        # Only the latest is compared: going back to v1's files is a new version.
        back = datasets.create_dataset_version("d", one)
        assert back.version == 3
        assert back.digest == datasets.get_dataset_version("d", 1).digest

    def test_versions_of_different_datasets_are_numbered_apart(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        entries = self.files(blob, a=b"1")
        assert datasets.create_dataset_version("x", entries).version == 1
        assert datasets.create_dataset_version("y", entries).version == 1

    def test_concurrent_writers_number_versions_without_gaps(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        manifests = [self.files(blob, f=str(i).encode()) for i in range(6)]
        errors: list[BaseException] = []

        def add(entries: list[ManifestEntry]) -> None:
            try:
                datasets.create_dataset_version("busy", entries)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=add, args=(m,)) for m in manifests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        versions = datasets.list_dataset_versions("busy")
        assert [v.version for v in versions] == [1, 2, 3, 4, 5, 6]
        assert len({v.digest for v in versions}) == 6

    # -- reading ----------------------------------------------------------------------------
    def test_manifest_round_trips_sorted_by_path(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        entries = self.files(blob, z=b"z", a__b__c=b"abc", a__a=b"aa")
        entries.append(ManifestEntry("données/été 1.csv", 2, blob(b"\xc3\xa9")))
        datasets.create_dataset_version("m", entries)
        manifest = list(datasets.get_manifest("m", 1))
        assert manifest == sorted(entries, key=lambda e: e.path)
        assert list(datasets.get_manifest("m")) == manifest

    def test_each_version_keeps_its_own_manifest(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        one, two = self.files(blob, a=b"1"), self.files(blob, a=b"2", b=b"3")
        datasets.create_dataset_version("m", one)
        datasets.create_dataset_version("m", two)
        assert list(datasets.get_manifest("m", 1)) == one
        assert list(datasets.get_manifest("m", 2)) == two
        assert list(datasets.get_manifest("m")) == two

    def test_a_big_manifest_round_trips(self, datasets: DatasetStore, blob: BlobMaker) -> None:
        shas = [blob(str(i).encode()) for i in range(50)]
        entries = [
            ManifestEntry(f"part-{i % 7}/file-{i:05d}.bin", len(str(i % 50)), shas[i % 50])
            for i in range(10_000)
        ]
        version = datasets.create_dataset_version("big", entries)
        assert (version.file_count, version.total_size) == (10_000, sum(e.size for e in entries))
        assert list(datasets.get_manifest("big", 1)) == sorted(entries, key=lambda e: e.path)

    def test_list_datasets_by_name_with_their_latest_version(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        assert list(datasets.list_datasets()) == []
        datasets.create_dataset_version("zeta", self.files(blob, a=b"1"))
        datasets.create_dataset_version("alpha", self.files(blob, a=b"1"))
        latest = datasets.create_dataset_version("alpha", self.files(blob, a=b"2"), "v2")
        listed = list(datasets.list_datasets())
        assert [d.name for d in listed] == ["alpha", "zeta"]
        assert listed[0].latest == latest
        assert listed[1].latest.version == 1
        assert listed[0].created_at > 0

    def test_list_versions_oldest_first(self, datasets: DatasetStore, blob: BlobMaker) -> None:
        made = [
            datasets.create_dataset_version("v", self.files(blob, a=str(i).encode()), f"m{i}")
            for i in range(3)
        ]
        assert list(datasets.list_dataset_versions("v")) == made

    def test_unknown_dataset_or_version_is_not_found(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        for read in (
            lambda: datasets.get_dataset_version("nope"),
            lambda: datasets.get_manifest("nope", 1),
            lambda: datasets.list_dataset_versions("nope"),
            lambda: datasets.runs_using_dataset("nope"),
        ):
            with pytest.raises(NotFound, match="'nope'"):
                read()
        datasets.create_dataset_version("d", self.files(blob, a=b"1"))
        with pytest.raises(NotFound, match="no version 7") as caught:
            datasets.get_dataset_version("d", 7)
        assert caught.value.hint is not None
        with pytest.raises(NotFound, match="no version 7"):
            datasets.get_manifest("d", 7)

    # -- refusing bad input -----------------------------------------------------------------
    def test_bad_dataset_names_are_refused(self, datasets: DatasetStore, blob: BlobMaker) -> None:
        entries = self.files(blob, a=b"1")
        for name in BAD_NAMES:
            with pytest.raises(InvalidArgument, match="dataset name") as caught:
                datasets.create_dataset_version(name, entries)
            assert caught.value.hint, name
        assert list(datasets.list_datasets()) == []

    def test_paths_that_leave_the_dataset_are_refused(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        ok, x = self.files(blob, ok=b"1"), blob(b"x")
        for path in BAD_PATHS:
            with pytest.raises(InvalidArgument, match="path") as caught:
                datasets.create_dataset_version("d", [*ok, ManifestEntry(path, 1, x)])
            assert caught.value.hint, path
        assert list(datasets.list_datasets()) == []

    def test_inconsistent_manifests_are_refused(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        one = blob(b"1")
        cases = {
            "listed twice": [ManifestEntry("a", 1, one), ManifestEntry("a", 1, one)],
            "both a file and the folder": [
                ManifestEntry("a", 1, one),
                ManifestEntry("a/b", 1, one),
            ],
            "at least one file": [],
            "invalid size": [ManifestEntry("a", -1, one)],
            "invalid sha256": [ManifestEntry("a", 1, "A" * 64)],
        }
        for fragment, entries in cases.items():
            with pytest.raises(InvalidArgument, match=fragment):
                datasets.create_dataset_version("d", entries)
        with pytest.raises(InvalidArgument, match="message"):
            datasets.create_dataset_version("d", [ManifestEntry("a", 1, one)], "m" * 10_001)
        assert list(datasets.list_datasets()) == []

    def test_bad_version_numbers_are_refused(self, datasets: DatasetStore, blob: BlobMaker) -> None:
        datasets.create_dataset_version("d", self.files(blob, a=b"1"))
        for bad in (0, -1):
            with pytest.raises(InvalidArgument, match="version"):
                datasets.get_dataset_version("d", bad)

    # -- lineage ----------------------------------------------------------------------------
    def test_runs_using_a_dataset(
        self, datasets: DatasetStore, runs: RunStore, blob: BlobMaker
    ) -> None:
        v1 = datasets.create_dataset_version("d", self.files(blob, a=b"1"))
        v2 = datasets.create_dataset_version("d", self.files(blob, a=b"2"))
        datasets.create_dataset_version("other", self.files(blob, a=b"1"))
        reader, writer = runs.create_run("p"), runs.create_run("p")
        runs.add_run_inputs(reader.id, [_used(v1.version, "input", v1.digest)])
        runs.add_run_inputs(
            writer.id,
            [
                _used(v1.version, "input", v1.digest),
                _used(v2.version, "output", v2.digest),
                RunInput(kind="model", name="d", version="1"),
                RunInput(kind=DATASET_KIND, name="other", version="1"),
            ],
        )
        assert list(datasets.runs_using_dataset("d")) == [
            DatasetUsage(reader.id, "input", 1),
            DatasetUsage(writer.id, "input", 1),
            DatasetUsage(writer.id, "output", 2),
        ]
        assert list(datasets.runs_using_dataset("d", 2)) == [DatasetUsage(writer.id, "output", 2)]
        assert list(datasets.runs_using_dataset("other", 1)) == [
            DatasetUsage(writer.id, "input", 1)
        ]
        with pytest.raises(NotFound, match="no version 3"):
            datasets.runs_using_dataset("d", 3)

    def test_a_dataset_nobody_used_has_no_lineage(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        datasets.create_dataset_version("d", self.files(blob, a=b"1"))
        assert list(datasets.runs_using_dataset("d")) == []


def _used(version: int, direction: str, digest: str) -> RunInput:
    return RunInput(
        kind=DATASET_KIND, name="d", version=str(version), direction=direction, digest=digest
    )
