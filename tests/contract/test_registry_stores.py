"""The RegistryStore contract over every backend: SQLite, PostgreSQL, and the HTTP client store
against the app in-process."""

from __future__ import annotations

import pytest

from shipyard.sdk._http_registry import HttpRegistryStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.store.base import RunStore
from shipyard.store.registry import RegistryStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.registry_contract import RegistryStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store, http_runs


class TestSqlRegistryStore(RegistryStoreContract):
    @pytest.fixture
    def registry(self, sql_store: SqlRunStore) -> RegistryStore:
        return sql_store

    @pytest.fixture
    def runs(self, sql_store: SqlRunStore) -> RunStore:
        return sql_store


class TestHttpRegistryStore(RegistryStoreContract):
    @pytest.fixture
    def registry(self, http_runs: HttpRunStore) -> RegistryStore:
        return HttpRegistryStore(http_runs)

    @pytest.fixture
    def runs(self, http_runs: HttpRunStore) -> RunStore:
        return http_runs
