"""End-to-end tests of the hub's workflow pages: a real server process, Chromium via Playwright.

A four-job workflow (a -> b, a -> c, b + c -> d; c fails, so d is skipped) runs with the engine
against the store the server serves. The run page must draw the DAG by level with each node's
status, show a job's log, and the workflows page's "Run" button must record a manual request.
A request that leaves the server's origin, a script error or a dialog fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from ui_seed import Seeded, Server, Watched, needs_chromium, serving, shot

from shipyard.artifacts.base import open_artifact_store
from shipyard.domain.triggers import RequestSource
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore
from shipyard.workflows.service import WorkflowRunInfo, start_workflow

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched

DAG = """
name: dag
on: {manual: {}}
jobs:
  a: {run: "echo hello from a"}
  b: {needs: [a], run: "echo hello from b"}
  c: {needs: [a], run: "echo about to fail; exit 3"}
  d: {needs: [b, c], run: "echo never"}
"""
EXPECTED = {"a": ("SUCCEEDED", "0"), "b": ("SUCCEEDED", "1"), "c": ("FAILED", "1"),
            "d": ("SKIPPED", "2")}  # fmt: skip


@dataclass
class Hub:
    server: Server
    info: WorkflowRunInfo
    store_uri: str
    workflow: Path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("workflows-hub")
    seeded = Seeded.at(root)
    settings = Settings(tracking_uri=seeded.store_uri, artifacts=str(seeded.artifacts_dir),
                        home=root / "home", project="wf", capture=False,
                        system_metrics_interval=0)  # fmt: skip
    store = SqlRunStore.from_uri(seeded.store_uri, auto_create=True)
    workflow = root / "repo" / ".shipyard" / "workflows" / "dag.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(DAG)
    try:
        artifacts = open_artifact_store(str(seeded.artifacts_dir))
        info = start_workflow(store, artifacts, workflow, settings=settings, wait=True)
        store.watch_workflow(repo_url="", path=str(workflow), events={"manual": True})
    finally:
        store.close()
    with serving(seeded, root / "server.log") as server:
        yield Hub(server, info, seeded.store_uri, workflow)


def test_a_finished_run_as_a_dag_with_statuses_and_logs(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.server.url}/workflows")
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text("Workflows")
    row = page.locator(f'#workflow-runs tr[data-id="{hub.info.id}"]')
    expect(row.locator(".wf-status")).to_have_text("Failed")
    row.locator("a.strong-link").click()

    expect(page.locator("h1")).to_contain_text("dag")
    nodes = page.locator("svg#dag g.dag-node")
    expect(nodes).to_have_count(4)
    for name, (status, level) in EXPECTED.items():
        node = page.locator(f'svg#dag g.dag-node[data-job="{name}"]')
        expect(node).to_have_attribute("data-status", status)
        expect(node).to_have_attribute("data-level", level)
        expect(node).to_have_class(f"dag-node wf-{status.lower()}")
        expect(node.locator(".dag-status")).to_have_text(status.lower())
    expect(page.locator("svg#dag path.dag-edge")).to_have_count(4)
    expect(page.locator("#cancel-run")).to_be_disabled()
    expect(page.locator("#retry-run")).to_be_enabled()

    page.locator('svg#dag g.dag-node[data-job="b"]').click()
    expect(page.locator("#log-card")).to_be_visible()
    expect(page.locator("#log-job")).to_have_text("b")
    expect(page.locator("#job-log")).to_contain_text("hello from b")
    page.locator('#workflow-jobs button.show-log[data-job="c"]').click()
    expect(page.locator("#job-log")).to_contain_text("about to fail")
    reason = page.locator('#workflow-jobs tr[data-job="d"] .job-reason')
    expect(reason).to_have_text("skipped: c failed")  # repainted by the script: no stray text
    shot(page, "workflow-run")


def test_run_button_records_a_manual_request(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.server.url}/workflows")
    page.locator("#workflow-watches button.run-watch").click()
    expect(page.locator("#run-message")).to_contain_text("Requested")
    store = SqlRunStore.from_uri(hub.store_uri)
    try:
        (request,) = store.list_workflow_requests()
    finally:
        store.close()
    assert request.source is RequestSource.MANUAL
    assert request.workflow == str(hub.workflow)


def test_unknown_workflow_run_is_a_404_page(watched: Watched, hub: Hub) -> None:
    response = watched.page.goto(f"{hub.server.url}/workflows/runs/{'0' * 32}")
    assert response is not None
    assert response.status == 404


LIVE = """
name: live
on: {manual: {}}
jobs:
  wait: {run: "while [ ! -f go ]; do sleep 0.1; done; echo went"}
  after: {needs: [wait], run: "echo after"}
"""


def test_a_running_workflow_updates_live(watched: Watched, hub: Hub, tmp_path: Path) -> None:
    page = watched.page
    repo = tmp_path / "live"
    path = repo / ".shipyard" / "workflows" / "live.yml"
    path.parent.mkdir(parents=True)
    path.write_text(LIVE)
    root = Path(hub.store_uri.removeprefix("sqlite:///")).parent
    settings = Settings(tracking_uri=hub.store_uri, artifacts=str(root / "artifacts"),
                        home=root / "home", project="wf", capture=False,
                        system_metrics_interval=0)  # fmt: skip
    store = SqlRunStore.from_uri(hub.store_uri)
    try:
        info = start_workflow(store, open_artifact_store(settings.artifact_uri), path,
                              settings=settings, wait=False)  # fmt: skip
        page.goto(f"{hub.server.url}/workflows/runs/{info.id}")
        wait_node = page.locator('svg#dag g.dag-node[data-job="wait"]')
        expect(wait_node).to_have_attribute("data-status", "RUNNING")
        expect(page.locator("#cancel-run")).to_be_enabled()
        (repo / "go").write_text("go")
        expect(wait_node).to_have_attribute("data-status", "SUCCEEDED")
        after = page.locator('svg#dag g.dag-node[data-job="after"]')
        expect(after).to_have_attribute("data-status", "SUCCEEDED")
        expect(page.locator("#run-status .wf-status")).to_have_text("Succeeded")
        expect(page.locator("#cancel-run")).to_be_disabled()
    finally:
        (repo / "go").write_text("go")
        store.close()
