"""The WorkflowStore contract over every backend: SQLite, PostgreSQL, and the HTTP store (what an
engine running outside the hub records through) against the app in-process."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from shipyard.domain.workflows import StepStatus, WorkflowStatus
from shipyard.sdk._http_workflows import HttpEngineStore, HttpWorkflowStore
from shipyard.store.sql.models_workflows import WorkflowRunRow
from shipyard.store.sql.store import SqlRunStore
from shipyard.store.workflows import WorkflowStore
from shipyard.testing.workflow_contract import WorkflowStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store


class TestSqlWorkflowStore(WorkflowStoreContract):
    @pytest.fixture
    def workflows(self, sql_store: SqlRunStore) -> WorkflowStore:
        return sql_store

    def test_runs_whose_engine_went_silent_end_failed(self, sql_store: SqlRunStore) -> None:
        lost = sql_store.create_workflow_run(name="w", project="p", jobs=["a", "b", "c"])
        sql_store.set_workflow_status(lost.id, WorkflowStatus.RUNNING)
        sql_store.update_workflow_job(lost.id, "a", status=StepStatus.SUCCEEDED)
        sql_store.update_workflow_job(lost.id, "b", status=StepStatus.RUNNING)
        alive = sql_store.create_workflow_run(name="w", project="p", jobs=["a"])
        sql_store.set_workflow_status(alive.id, WorkflowStatus.RUNNING)
        pending = sql_store.create_workflow_run(name="w", project="p", jobs=["a"])
        with sql_store.engine.begin() as connection:  # lost: its last heartbeat was 10 min ago
            connection.execute(
                sa.update(WorkflowRunRow)
                .where(WorkflowRunRow.id == lost.id)
                .values(heartbeat_at=int(time.time() * 1000) - 600_000)
            )
        assert sql_store.fail_lost_workflow_runs(300_000) == [lost.id]
        ended = sql_store.get_workflow_run(lost.id)
        assert ended.status is WorkflowStatus.FAILED
        assert "its runner stopped: no heartbeat for 300s" in ended.message
        assert ended.ended_at is not None
        jobs = {j.name: j.status for j in sql_store.list_workflow_jobs(lost.id)}
        assert jobs == {"a": StepStatus.SUCCEEDED, "b": StepStatus.FAILED, "c": StepStatus.SKIPPED}
        assert sql_store.get_workflow_run(alive.id).status is WorkflowStatus.RUNNING
        assert sql_store.get_workflow_run(pending.id).status is WorkflowStatus.PENDING
        assert sql_store.fail_lost_workflow_runs(300_000) == []


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
