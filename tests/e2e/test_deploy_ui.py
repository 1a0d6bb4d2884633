"""Deployments with a hub: a real ``shipyard server`` process whose controller starts the model
server, the SDK's HTTP client driving it, and the hub's pages in Chromium (list, deployment page
with its charts, drift page with per-feature flags)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from ui_seed import Watched, needs_chromium

from conftest import free_port, wait_for_port
from deploy_support import iris, log_iris_model
from shipyard.artifacts import open_artifact_store
from shipyard.domain.serving import AlertKind, DeploymentStatus, DriftReport
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.executors import JobHandle, LocalExecutor
from shipyard.sdk._http_deployments import HttpDeployments
from shipyard.sdk._http_store import HttpRunStore
from shipyard.serving import _process
from shipyard.serving.drift import summarize
from shipyard.serving.drift_data import read_table
from shipyard.store.sql.store import SqlRunStore

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched


@dataclass
class Hub:
    url: str
    deployments: HttpDeployments
    model_url: str


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("deploy-hub")
    store_uri = f"sqlite:///{root / 'shipyard.db'}"
    store = SqlRunStore.from_uri(store_uri, auto_create=True)
    artifacts = open_artifact_store(str(root / "artifacts"))
    log_iris_model(store, artifacts)
    log_iris_model(store, artifacts, kind="tree")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(root / "home")
    argv = [
        sys.executable, "-m", "shipyard.cli", "server", "--store", store_uri, "--artifacts",
        str(root / "artifacts"), "--port", str(port), "--no-workflows", "--log-level", "warning",
    ]  # fmt: skip
    with (root / "server.log").open("wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    http = HttpRunStore(f"http://127.0.0.1:{port}")
    try:
        wait_for_port(port, timeout=60)
        deployments = HttpDeployments(http)
        deployments.create("iris", "models:/iris-clf/1", config={"drift_window_s": 600})
        ready = deployments.wait("iris", timeout_s=120)
        assert ready is not None
        assert ready.status is DeploymentStatus.READY, ready.message
        assert ready.url is not None
        assert (ready.job or "").startswith("local:")  # the hub runs servers on its executor
        yield Hub(f"http://127.0.0.1:{port}", deployments, ready.url)
    finally:
        jobs = LocalExecutor(root / "home" / "jobs")
        for deployment in store.list_deployments():
            _process.stop(deployment.pid)
            if deployment.job:
                jobs.cancel(JobHandle.parse(deployment.job))
        server.terminate()
        server.wait(timeout=30)
        http.close()
        store.close()


def test_the_hub_rolls_out_and_checks_drift(hub: Hub, tmp_path: Path) -> None:
    deployments = hub.deployments
    deployments.update("iris", "models:/iris-clf/2", canary_percent=25)
    split = deployments.wait("iris", 120)
    assert split is not None
    assert [s["weight"] for s in split.applied] == [0.75, 0.25]
    deployments.rollback("iris")
    back = deployments.wait("iris", 120)
    assert back is not None
    assert [s["uri"] for s in back.applied] == ["models:/iris-clf/1"]
    with pytest.raises(Conflict, match="no canary"):
        deployments.promote("iris")
    with pytest.raises(NotFound):
        deployments.get("missing")
    with pytest.raises(NotFound):
        deployments.create("other", "models:/iris-clf/9")
    with pytest.raises(InvalidArgument):
        deployments.update("iris", "models:/iris-clf/2", canary_percent=0)

    x, _ = iris()
    reference_csv = tmp_path / "train.csv"
    reference_csv.write_text(
        "a,b,c,d\n" + "".join(",".join(str(v) for v in row) + "\n" for row in x.tolist())
    )
    table, columns = read_table(reference_csv)
    deployments.set_reference("iris", summarize(table, columns).to_dict())
    body = {"inputs": (x * 2.0 + 1.0).tolist()}
    assert httpx.post(f"{hub.model_url}/invocations", json=body, timeout=30).status_code == 200
    report = _drift(deployments)
    assert report.dataset_drift is True
    assert [f["drift"] for f in report.report["features"]] == [True] * 4

    rule = deployments.add_alert(
        "iris", kind=AlertKind.ERROR_RATE, threshold=0.5, webhook_url="http://127.0.0.1:9/h/s3cret"
    )
    assert rule.webhook_url == "http://127.0.0.1:9/…"  # the secret path is never shown
    rules, _ = deployments.alerts("iris")
    assert [r.id for r in rules] == [rule.id]
    assert "iris" in [d.name for d in deployments.list_deployments()]
    assert any(e.kind == "switched" for e in deployments.events("iris"))
    _wait_for_samples(deployments)

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    status = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "--tracking-uri", hub.url, "deployments",
         "status", "iris", "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(status.stdout)["url"] == hub.model_url


def _drift(deployments: HttpDeployments) -> DriftReport:

    deadline = time.monotonic() + 30
    while True:
        try:
            return deployments.drift("iris", 600)
        except NotFound:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def _wait_for_samples(deployments: HttpDeployments) -> None:
    deadline = time.monotonic() + 30
    while len(deployments.metrics("iris")["series"]["at"]) < 2:
        assert time.monotonic() < deadline, "the controller scraped no metrics"
        time.sleep(0.5)


def test_drift_page_flags_each_feature(hub: Hub, watched: Watched) -> None:
    page = watched.page
    # runs after test_the_hub_rolls_out_and_checks_drift, which stored a drifted report
    page.goto(f"{hub.url}/deployments/iris/drift")
    verdict = page.locator("#drift-verdict")
    expect(verdict).to_have_attribute("data-drift", "true")
    rows = page.locator("#drift-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('#drift-table tr[data-drift="true"]')).to_have_count(4)
    expect(rows.first.locator("td").nth(1)).to_have_text("ks")


def test_deployment_pages_show_status_and_charts(hub: Hub, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{hub.url}/deployments")
    row = page.locator('#deployments-table tr[data-deployment="iris"]')
    expect(row).to_contain_text("Ready")
    row.locator("a.strong-link").click()
    expect(page.locator("#deployment-url")).to_have_text(hub.model_url)
    expect(page.locator("#deployment-versions")).to_contain_text("models:/iris-clf/1")
    expect(page.locator("#deployment-runner")).to_contain_text("local:")
    expect(page.locator("#chart-requests")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#events-table")).to_contain_text("switched")
    missing = page.goto(f"{hub.url}/deployments/missing")
    assert missing is not None
    assert missing.status == 404
