"""The DatasetStore contract over every backend: SQLite, PostgreSQL, and the HTTP client store
against the app in-process (which refuses versions whose blobs it does not hold, so there the
``blob`` fixture stores the bytes in the server's artifact folder first)."""

from __future__ import annotations

import hashlib

import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.datasets import ManifestEntry
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk._http_datasets import HttpDatasetStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.store.base import RunStore
from shipyard.store.datasets import DatasetStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.dataset_contract import BlobMaker, DatasetStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store, http_runs, server_blobs


class TestSqlDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def datasets(self, sql_store: SqlRunStore) -> DatasetStore:
        return sql_store

    @pytest.fixture
    def runs(self, sql_store: SqlRunStore) -> RunStore:
        return sql_store


class TestHttpDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def datasets(self, http_runs: HttpRunStore) -> DatasetStore:
        return HttpDatasetStore(http_runs)

    @pytest.fixture
    def runs(self, http_runs: HttpRunStore) -> RunStore:
        return http_runs

    @pytest.fixture
    def blob(self, server_blobs: LocalArtifactStore) -> BlobMaker:
        def store(data: bytes) -> str:
            return server_blobs.put_stream([data], hashlib.sha256(data).hexdigest()).sha256

        return store

    def test_a_version_whose_blob_is_not_stored_is_refused(self, datasets: DatasetStore) -> None:
        missing = "c" * 64
        with pytest.raises(NotFound, match="is not stored") as caught:
            datasets.create_dataset_version("d", [ManifestEntry("a.bin", 1, missing)])
        assert missing in caught.value.message
        assert "a.bin" in caught.value.message
        assert caught.value.hint is not None
        assert "PUT /api/v1/blobs/" in caught.value.hint
        assert list(datasets.list_datasets()) == []

    def test_a_size_that_does_not_match_the_blob_is_refused(
        self, datasets: DatasetStore, blob: BlobMaker
    ) -> None:
        sha = blob(b"four")
        with pytest.raises(InvalidArgument, match="declares 9 bytes"):
            datasets.create_dataset_version("d", [ManifestEntry("a.bin", 9, sha)])
