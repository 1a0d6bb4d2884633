"""The hub's workflow routes and the SDK's HTTP reader, against the app in-process, over a
workflow the engine really ran (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.api import workflows as api
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.workflows import StepStatus, WorkflowStatus
from shipyard.errors import NotFound
from shipyard.sdk._http_store import HttpRunStore
from shipyard.sdk._http_workflows import HttpWorkflowReader
from shipyard.server.app import create_app
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.workflows.service import WorkflowRunInfo, start_workflow

WORKFLOW = """
name: hello
project: demo
jobs:
  greet: {run: "echo hello from ${params.who}"}
  check: {needs: [greet], run: "echo checked"}
params: {who: shipyard}
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlRunStore]:
    opened = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/shipyard.db", auto_create=True)
    yield opened
    opened.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def ran(tmp_path: Path, store: SqlRunStore, artifacts: LocalArtifactStore) -> WorkflowRunInfo:
    path = tmp_path / "hello.yaml"
    path.write_text(WORKFLOW)
    settings = Settings(tracking_uri=f"sqlite:///{tmp_path}/shipyard.db", home=tmp_path / "home")
    info = start_workflow(store, artifacts, path, settings=settings, wait=True)
    assert info.status is WorkflowStatus.SUCCEEDED, info.run.message
    return info


@pytest.fixture
def client(store: SqlRunStore, artifacts: LocalArtifactStore) -> Iterator[httpx.Client]:
    with asgi_client(create_app(store, artifacts)) as opened:
        yield opened


@pytest.fixture
def reader(client: httpx.Client) -> Iterator[HttpWorkflowReader]:
    http = HttpRunStore("http://shipyard.test", client=client)
    yield HttpWorkflowReader(http)
    http.close()


def test_lists_and_reads_workflow_runs(ran: WorkflowRunInfo, reader: HttpWorkflowReader) -> None:
    listed = reader.list_workflow_runs(project="demo")
    assert [run.id for run in listed] == [ran.id]
    assert reader.list_workflow_runs(project="other") == []
    assert reader.get_workflow_run(ran.id) == ran.run
    jobs = reader.list_workflow_jobs(ran.id)
    assert [(j.name, j.status) for j in jobs] == [
        ("greet", StepStatus.SUCCEEDED),
        ("check", StepStatus.SUCCEEDED),
    ]
    assert list(jobs) == list(ran.jobs)


def test_reads_a_jobs_output(ran: WorkflowRunInfo, reader: HttpWorkflowReader) -> None:
    assert reader.job_logs(ran.id, "greet") == ["hello from shipyard"]
    with pytest.raises(NotFound, match="no job 'nope'"):
        reader.job_logs(ran.id, "nope")


def test_unknown_runs_are_404_with_a_hint(client: httpx.Client) -> None:
    response = client.get(api.WORKFLOW_RUN.format(workflow_run_id="missing"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert "workflow run 'missing' not found" in error["message"]
    assert error["hint"]


def test_cancel_is_recorded_and_a_no_op_once_ended(
    store: SqlRunStore, ran: WorkflowRunInfo, reader: HttpWorkflowReader
) -> None:
    assert reader.request_workflow_cancel(ran.id).status is WorkflowStatus.SUCCEEDED
    pending = store.create_workflow_run(name="later", project="demo", jobs=["a"])
    cancelled = reader.request_workflow_cancel(pending.id)
    assert cancelled.status is WorkflowStatus.CANCELLED
    assert cancelled.cancel_requested
