"""The DatasetStore contract over every backend: SQLite, PostgreSQL, and the HTTP client store
against the app in-process (which refuses versions whose blobs it does not hold, so there the
``blob`` fixture stores the bytes in the server's artifact folder first)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.datasets import ManifestEntry
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk._http_datasets import HttpDatasetStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.server.app import create_app
from shipyard.store.base import RunStore
from shipyard.store.datasets import DatasetStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.testing.dataset_contract import BlobMaker, DatasetStoreContract


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlRunStore]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/db/shipyard.db", auto_create=True)
    yield store
    store.close()


class TestSqliteDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def datasets(self, sqlite_store: SqlRunStore) -> DatasetStore:
        return sqlite_store

    @pytest.fixture
    def runs(self, sqlite_store: SqlRunStore) -> RunStore:
        return sqlite_store


@pytest.mark.postgres
class TestPostgresDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def pg_store(self, pg_url: str) -> Iterator[SqlRunStore]:
        store = SqlRunStore.from_uri(pg_url, auto_create=True)
        yield store
        store.close()

    @pytest.fixture
    def datasets(self, pg_store: SqlRunStore) -> DatasetStore:
        return pg_store

    @pytest.fixture
    def runs(self, pg_store: SqlRunStore) -> RunStore:
        return pg_store


@pytest.fixture
def server_blobs(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def app_client(
    sqlite_store: SqlRunStore, server_blobs: LocalArtifactStore
) -> Iterator[httpx.Client]:
    client = asgi_client(create_app(sqlite_store, server_blobs))
    yield client
    client.close()


@pytest.fixture
def http_runs(app_client: httpx.Client) -> Iterator[HttpRunStore]:
    store = HttpRunStore("http://shipyard.test", client=app_client)
    yield store
    store.close()


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
