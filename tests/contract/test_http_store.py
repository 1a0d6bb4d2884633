"""The RunStore and search contracts over HTTP: ``HttpRunStore`` against the app in-process (no
sockets), backed by SQLite and a local artifact folder.

The server refuses artifact records whose blob is not stored (the SDK uploads first), so the two
contract tests that record made-up sha256s are replaced here by the same checks over real blobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.entities import Artifact
from shipyard.errors import NotFound
from shipyard.sdk._http import HttpRunStore
from shipyard.server.app import create_app
from shipyard.store.base import RunStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.testing.search_contract import SearchContract
from shipyard.testing.store_contract import RunStoreContract


def _blob(artifacts: LocalArtifactStore, data: bytes) -> str:
    return artifacts.put_stream([data], hashlib.sha256(data).hexdigest()).sha256


@pytest.fixture
def blobs(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def http_store(tmp_path: Path, blobs: LocalArtifactStore) -> Iterator[HttpRunStore]:
    sql = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/db/shipyard.db", auto_create=True)
    client = asgi_client(create_app(sql, blobs))
    store = HttpRunStore("http://shipyard.test", client=client)
    yield store
    store.close()
    client.close()
    sql.close()


class TestHttpSearch(SearchContract):
    @pytest.fixture
    def store(self, http_store: HttpRunStore) -> RunStore:
        return http_store


class TestHttpRunStore(RunStoreContract):
    @pytest.fixture
    def store(self, http_store: HttpRunStore) -> RunStore:
        return http_store

    def test_artifact_records(self, store: RunStore, blobs: LocalArtifactStore) -> None:
        run = store.create_run("p")
        sha_a, sha_b = _blob(blobs, b"0123456789"), _blob(blobs, b"b")
        sha_c = _blob(blobs, b"c: 1")
        store.add_artifacts(
            run.id,
            [
                Artifact("model/model.pkl", 10, sha_a, "application/octet-stream"),
                Artifact("model2/x.txt", 1, sha_b, "text/plain"),
                Artifact("model/conf/c.yaml", 4, sha_c, "application/yaml"),
                Artifact("readme.md", 10, sha_a, "text/markdown"),
            ],
        )
        assert [a.path for a in store.list_artifacts(run.id)] == [
            "model/conf/c.yaml",
            "model/model.pkl",
            "model2/x.txt",
            "readme.md",
        ]
        assert [a.path for a in store.list_artifacts(run.id, "model")] == [
            "model/conf/c.yaml",
            "model/model.pkl",
        ]
        assert [a.path for a in store.list_artifacts(run.id, "readme.md")] == ["readme.md"]
        got = store.get_artifact(run.id, "model/model.pkl")
        assert (got.size, got.sha256, got.media_type) == (10, sha_a, "application/octet-stream")
        assert got.created_at > 0

    def test_re_adding_an_artifact_replaces_it(
        self, store: RunStore, blobs: LocalArtifactStore
    ) -> None:
        run = store.create_run("p")
        sha_a, sha_b = _blob(blobs, b"a"), _blob(blobs, b"bb")
        store.add_artifacts(run.id, [Artifact("a.txt", 1, sha_a, "text/plain")])
        store.add_artifacts(run.id, [Artifact("a.txt", 2, sha_b, "text/plain")])
        assert [(a.size, a.sha256) for a in store.list_artifacts(run.id)] == [(2, sha_b)]

    def test_a_record_without_its_blob_is_refused(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(NotFound, match="upload it first") as caught:
            store.add_artifacts(run.id, [Artifact("a.txt", 1, "a" * 64, "text/plain")])
        assert "a" * 64 in caught.value.message
        assert list(store.list_artifacts(run.id)) == []
