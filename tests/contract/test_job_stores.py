"""The JobStore contract over every backend: SQLite, PostgreSQL, and the HTTP client store against
the app in-process."""

from __future__ import annotations

import httpx
import pytest

from shipyard.api import jobs as api
from shipyard.sdk._http_jobs import HttpJobStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.store.base import RunStore
from shipyard.store.jobs import JobStore
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.job_contract import JobStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store, http_runs, app_client


class TestSqlJobStore(JobStoreContract):
    @pytest.fixture
    def jobs(self, sql_store: SqlRunStore) -> JobStore:
        return sql_store

    @pytest.fixture
    def runs(self, sql_store: SqlRunStore) -> RunStore:
        return sql_store


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
