"""The CollabStore contract over every backend: SQLite, PostgreSQL, and the HTTP client store
against the app in-process (where the server records its caller, ``local``, as the author)."""

from __future__ import annotations

import httpx
import pytest

from shipyard.api import collab as api
from shipyard.sdk._http_collab import HttpCollabStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.store.base import RunStore
from shipyard.store.collab import CollabStore
from shipyard.store.datasets import DatasetStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.collab_contract import CollabStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store, sqlite_store, http_runs, app_client


class TestSqlCollabStore(CollabStoreContract):
    @pytest.fixture
    def collab(self, sql_store: SqlRunStore) -> CollabStore:
        return sql_store

    @pytest.fixture
    def runs(self, sql_store: SqlRunStore) -> RunStore:
        return sql_store

    @pytest.fixture
    def datasets(self, sql_store: SqlRunStore) -> DatasetStore:
        return sql_store


class TestHttpCollabStore(CollabStoreContract):
    @pytest.fixture
    def collab(self, http_runs: HttpRunStore) -> CollabStore:
        return HttpCollabStore(http_runs)

    @pytest.fixture
    def runs(self, http_runs: HttpRunStore) -> RunStore:
        return http_runs

    @pytest.fixture
    def datasets(self, sqlite_store: SqlRunStore) -> DatasetStore:
        return sqlite_store  # the server only records versions whose blobs it holds

    @pytest.fixture
    def author(self) -> str:
        return "local"  # auth is off: every caller is the local admin


def test_every_collab_route_is_served(app_client: httpx.Client) -> None:
    served = app_client.get("/openapi.json").json()["paths"]
    for method, path in api.ROUTES:
        assert method.lower() in served[path], f"{method} {path}"
