"""The JobStore contract over every backend: SQLite, PostgreSQL, and the HTTP client store against
the app in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.api import jobs as api
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.sdk._http_jobs import HttpJobStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.server.app import create_app
from shipyard.store.base import RunStore
from shipyard.store.jobs import JobStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.testing.job_contract import JobStoreContract


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlRunStore]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/db/shipyard.db", auto_create=True)
    yield store
    store.close()


class TestSqliteJobStore(JobStoreContract):
    @pytest.fixture
    def jobs(self, sqlite_store: SqlRunStore) -> JobStore:
        return sqlite_store

    @pytest.fixture
    def runs(self, sqlite_store: SqlRunStore) -> RunStore:
        return sqlite_store


@pytest.mark.postgres
class TestPostgresJobStore(JobStoreContract):
    @pytest.fixture
    def pg_store(self, pg_url: str) -> Iterator[SqlRunStore]:
        store = SqlRunStore.from_uri(pg_url, auto_create=True)
        yield store
        store.close()

    @pytest.fixture
    def jobs(self, pg_store: SqlRunStore) -> JobStore:
        return pg_store

    @pytest.fixture
    def runs(self, pg_store: SqlRunStore) -> RunStore:
        return pg_store


@pytest.fixture
def app_client(sqlite_store: SqlRunStore, tmp_path: Path) -> Iterator[httpx.Client]:
    client = asgi_client(create_app(sqlite_store, LocalArtifactStore(tmp_path / "artifacts")))
    yield client
    client.close()


@pytest.fixture
def http_runs(app_client: httpx.Client) -> Iterator[HttpRunStore]:
    store = HttpRunStore("http://shipyard.test", client=app_client)
    yield store
    store.close()


class TestHttpJobStore(JobStoreContract):
    @pytest.fixture
    def jobs(self, http_runs: HttpRunStore) -> JobStore:
        return HttpJobStore(http_runs)

    @pytest.fixture
    def runs(self, http_runs: HttpRunStore) -> RunStore:
        return http_runs


def test_every_job_route_is_served(app_client: httpx.Client) -> None:
    served = app_client.get("/openapi.json").json()["paths"]
    for method, path in api.ROUTES:
        assert method.lower() in served[path], f"{method} {path}"
