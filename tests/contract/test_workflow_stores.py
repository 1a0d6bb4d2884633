"""The WorkflowStore contract over every backend: SQLite, PostgreSQL, and the HTTP store (what an
engine running outside the hub records through) against the app in-process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shipyard.sdk._http_workflows import HttpEngineStore, HttpWorkflowStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.store.workflows import WorkflowStore
from shipyard.testing.workflow_contract import WorkflowStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store


class TestSqlWorkflowStore(WorkflowStoreContract):
    @pytest.fixture
    def workflows(self, sql_store: SqlRunStore) -> WorkflowStore:
        return sql_store


class TestHttpWorkflowStore(WorkflowStoreContract):
    @pytest.fixture
    def workflows(self, app_client: httpx.Client) -> Iterator[WorkflowStore]:
        http = HttpEngineStore("http://shipyard.test", client=app_client)
        yield HttpWorkflowStore(http)
        http.close()


class TestHttpEngineStoreAsWorkflowStore(WorkflowStoreContract):
    """The engine's composite HTTP store passes the same contract (it delegates)."""

    @pytest.fixture
    def workflows(self, app_client: httpx.Client) -> Iterator[WorkflowStore]:
        http = HttpEngineStore("http://shipyard.test", client=app_client)
        yield http
        http.close()
