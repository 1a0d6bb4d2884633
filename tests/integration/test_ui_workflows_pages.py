"""The workflow pages over the app in-process (no browser): the DAG drawn by level with each
node's status, the polled state, the lists, and errors as pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from workflow_helpers import engine_settings

from shipyard.artifacts.base import open_artifact_store
from shipyard.server.app import create_app
from shipyard.server.ui._workflow_views import levels
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.workflows.service import WorkflowRunInfo, start_workflow

DAG = """
name: dag
on: {manual: {}}
jobs:
  a: {run: "echo hello from a"}
  b: {needs: [a], run: "echo hello from b"}
  c: {needs: [a], run: "echo about to fail; exit 3"}
  d: {needs: [b, c], run: "echo never"}
"""


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[httpx.Client, WorkflowRunInfo, SqlRunStore]]:
    settings = engine_settings(tmp_path, f"sqlite:///{tmp_path}/shipyard.db")
    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    artifacts = open_artifact_store(settings.artifact_uri)
    path = tmp_path / "repo" / ".shipyard" / "workflows" / "dag.yml"
    path.parent.mkdir(parents=True)
    path.write_text(DAG)
    info = start_workflow(store, artifacts, path, settings=settings, wait=True)
    yield asgi_client(create_app(store, artifacts)), info, store
    store.close()


def test_run_page_draws_the_dag_by_level(
    seeded: tuple[httpx.Client, WorkflowRunInfo, SqlRunStore],
) -> None:
    client, info, _ = seeded
    page = client.get(f"/workflows/runs/{info.id}")
    assert page.status_code == 200
    nodes = re.findall(r'<g class="dag-node wf-(\w+)" data-job="(\w)" data-status="(\w+)" '
                       r'data-level="(\d)"', page.text)  # fmt: skip
    assert nodes == [("succeeded", "a", "SUCCEEDED", "0"), ("succeeded", "b", "SUCCEEDED", "1"),
                     ("failed", "c", "FAILED", "1"), ("skipped", "d", "SKIPPED", "2")]  # fmt: skip
    assert page.text.count('class="dag-edge"') == 4
    assert "Content-Security-Policy" in page.headers
    state = client.get(f"/workflows/runs/{info.id}/state.json").json()
    assert state["status"] == "FAILED"
    assert state["terminal"] is True
    assert [j["status"] for j in state["jobs"]] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SKIPPED"]


def test_list_page_and_missing_run(
    seeded: tuple[httpx.Client, WorkflowRunInfo, SqlRunStore],
) -> None:
    client, info, store = seeded
    store.watch_workflow(repo_url="file:///r", path=".shipyard/workflows/x.yml", branch="main",
                         schedules=["0 3 * * *"])  # fmt: skip
    store.request_workflow_event("dataset", {"name": "iris"})
    page = client.get("/workflows")
    assert page.status_code == 200
    assert f'href="/workflows/runs/{info.id}"' in page.text
    assert "0 3 * * *" in page.text
    assert 'class="badge request-pending"' in page.text
    missing = client.get(f"/workflows/runs/{'0' * 32}")
    assert missing.status_code == 404
    assert client.get(f"/workflows/runs/{'0' * 32}/state.json").status_code == 404


def test_levels_cut_cycles_and_order() -> None:
    assert levels({"a": (), "b": ("a",), "c": ("b", "a")}) == {"a": 0, "b": 1, "c": 2}
    assert set(levels({"x": ("y",), "y": ("x",)})) == {"x", "y"}
