"""The deployment controller with real server processes: start, canary, promote, rollback,
failed loads, alias following, drift and alerts (webhook received by a local HTTP server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from deploy_support import iris, log_iris_model, webhook_receiver
from shipyard.artifacts.base import ArtifactStore, open_artifact_store
from shipyard.domain.datasets import ManifestEntry
from shipyard.domain.entities import RunInput
from shipyard.domain.serving import AlertKind, DeploymentStatus
from shipyard.errors import NotFound
from shipyard.serving import _process, monitoring
from shipyard.serving.controller import DeploymentController
from shipyard.serving.deployments import DeploymentManager
from shipyard.serving.drift import summarize
from shipyard.store.sql.store import SqlRunStore


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[SqlRunStore, ArtifactStore, DeploymentController]]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/s.db", auto_create=True)
    artifacts = open_artifact_store(str(tmp_path / "artifacts"))
    controller = DeploymentController(
        store, artifacts, tmp_path / "deployments", ready_timeout_s=90, drift_interval_s=0,
        scrape_interval_s=0,
    )  # fmt: skip
    yield store, artifacts, controller
    for deployment in store.list_deployments():
        _process.stop(deployment.pid)
    store.close()


def infer(url: str, rows: np.ndarray) -> dict[str, Any]:
    body = {"inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": "FP32",
                        "data": rows.ravel().tolist()}]}  # fmt: skip
    response = httpx.post(f"{url}/v2/models/iris/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_rollout_canary_rollback_promote_delete(env: Any) -> None:
    store, artifacts, controller = env
    v1 = log_iris_model(store, artifacts)
    v2 = log_iris_model(store, artifacts, kind="tree")
    manager = DeploymentManager(store)
    manager.create("iris", "models:/iris-clf/1")
    ready = controller.reconcile("iris")
    assert ready is not None
    assert ready.status is DeploymentStatus.READY, ready.message
    assert ready.url is not None
    x, _ = iris()
    assert infer(ready.url, x[:3])["model_version"] == str(v1.version)

    manager.update("iris", "models:/iris-clf/2", canary_percent=50)
    split = controller.reconcile("iris")
    assert split is not None
    assert [s["weight"] for s in split.applied] == [0.5, 0.5]
    assert split.url == ready.url  # switched in place, no restart
    versions = {infer(ready.url, x[:1])["model_version"] for _ in range(40)}
    assert versions == {"1", "2"}

    manager.rollback("iris")
    back = controller.reconcile("iris")
    assert back is not None
    assert [s["uri"] for s in back.applied] == ["models:/iris-clf/1"]
    assert {infer(ready.url, x[:1])["model_version"] for _ in range(10)} == {"1"}

    manager.update("iris", v2.uri, canary_percent=10)
    controller.reconcile("iris")
    manager.promote("iris")
    promoted = controller.reconcile("iris")
    assert promoted is not None
    assert promoted.stable_version == 2
    assert promoted.canary_uri is None
    assert {infer(ready.url, x[:1])["model_version"] for _ in range(10)} == {"2"}
    kinds = [e.kind for e in store.list_deployment_events("iris")]
    assert {"created", "canary", "rollback", "promote", "switched", "ready"} <= set(kinds)

    pid = promoted.pid
    manager.delete("iris")
    assert controller.reconcile("iris") is None
    assert not _process.alive(pid, ready.url)
    with pytest.raises(NotFound):
        store.get_deployment("iris")


def test_a_model_that_fails_to_load_never_becomes_ready(env: Any) -> None:
    store, artifacts, controller = env
    log_iris_model(store, artifacts, broken=True)
    DeploymentManager(store).create("broken", "models:/iris-clf/1")
    failed = controller.reconcile("broken")
    assert failed is not None
    assert failed.status is DeploymentStatus.FAILED
    assert failed.url is None
    assert failed.pid is None
    assert "load" in failed.message
    assert controller.reconcile("broken") == failed  # not retried until something changes


def test_a_canary_that_fails_to_load_takes_no_traffic(env: Any) -> None:
    store, artifacts, controller = env
    log_iris_model(store, artifacts)
    log_iris_model(store, artifacts, broken=True)
    manager = DeploymentManager(store)
    manager.create("iris", "models:/iris-clf/1")
    ready = controller.reconcile("iris")
    assert ready is not None
    assert ready.url is not None
    manager.update("iris", "models:/iris-clf/2", canary_percent=50)
    kept = controller.reconcile("iris")
    assert kept is not None
    assert kept.status is DeploymentStatus.READY
    assert kept.canary_uri is None
    assert "update failed" in kept.message
    x, _ = iris()
    assert {infer(ready.url, x[:1])["model_version"] for _ in range(20)} == {"1"}
    assert store.list_deployment_events("iris", limit=5)[0].kind == "reverted"


def test_follow_alias_rolls_out_when_the_alias_moves(env: Any) -> None:
    store, artifacts, controller = env
    log_iris_model(store, artifacts)
    log_iris_model(store, artifacts, kind="tree")
    store.set_model_alias("iris-clf", "champion", 1)
    DeploymentManager(store).create("iris", "models:/iris-clf@champion", follow_alias=True)
    first = controller.reconcile("iris")
    assert first is not None
    assert first.stable_version == 1
    store.set_model_alias("iris-clf", "champion", 2)
    controller.tick()
    moved = store.get_deployment("iris")
    assert moved.stable_version == 2
    assert moved.settled
    assert moved.applied[0]["uri"] == "models:/iris-clf/2"
    assert moved.model_uri == "models:/iris-clf@champion"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with webhook_receiver("/hook") as hook:
        yield hook


def test_shifted_data_is_detected_and_fires_the_alert(env: Any, receiver: Any) -> None:
    store, artifacts, controller = env
    url, received = receiver
    log_iris_model(store, artifacts)
    x, _ = iris()
    reference = summarize(x).to_dict()
    DeploymentManager(store).create("iris", "models:/iris-clf/1", reference=reference)
    ready = controller.reconcile("iris")
    assert ready is not None
    assert ready.url is not None
    store.create_alert_rule("iris", kind=AlertKind.DRIFT, threshold=0.5, webhook_url=url)
    store.create_alert_rule("iris", kind=AlertKind.ERROR_RATE, threshold=0.5, webhook_url=url)

    infer(ready.url, x[::3])  # like the training data
    _wait_logged(controller, "iris", 50)
    calm = controller.check_drift("iris")
    assert calm.dataset_drift is False
    controller.tick()
    assert received == []

    infer(ready.url, x[::3] * 1.8 + 1.0)  # shifted
    _wait_logged(controller, "iris", 100)
    controller.tick()
    report = store.list_drift_reports("iris", limit=1)[0]
    assert report.dataset_drift is True
    assert all(f["drift"] for f in report.report["features"][:1])
    assert [r["kind"] for r in received] == ["drift"]
    assert received[0]["deployment"] == "iris"
    firing = store.list_alert_firings("iris")[0]
    assert firing.delivered
    request = store.list_workflow_requests()[0]  # for workflows with `on: alert`
    assert request.event["kind"] == "alert"
    assert request.event["deployment"] == "iris"
    assert request.event["alert"] == "drift"
    controller.tick()
    assert len(received) == 1  # fires on the rising edge only
    samples = store.list_metric_samples("iris")
    assert samples[-1].values["requests"] == 2.0

    store.create_alert_rule("iris", kind=AlertKind.LATENCY_P99, threshold=1e-9, webhook_url=url)
    for _ in range(5):  # three columns instead of four: 400
        bad = {"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP32",
                           "data": [1.0, 2.0, 3.0]}]}  # fmt: skip
        assert httpx.post(f"{ready.url}/v2/models/iris/infer", json=bad).status_code == 400
    controller.tick()
    assert sorted(r["kind"] for r in received[1:]) == ["error_rate", "latency_p99"]
    errors = next(r for r in received if r["kind"] == "error_rate")
    assert errors["value"] > 0.5


def _wait_logged(controller: DeploymentController, name: str, rows: int) -> None:
    from shipyard.serving.drift_data import prediction_window

    for _ in range(200):
        found, _ = prediction_window(controller.folder(name) / "predlog", window_s=600)
        if found is not None and len(found) >= rows:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"{rows} rows were not logged")


def test_the_reference_comes_from_the_training_dataset(env: Any, tmp_path: Path) -> None:
    store, artifacts, _ = env
    version = log_iris_model(store, artifacts)
    x, y = iris()
    table = tmp_path / "train.csv"
    rows = "".join(",".join(map(str, [*r, label])) + "\n" for r, label in zip(x, y, strict=True))
    table.write_text("sl,sw,pl,pw,label\n" + rows)
    blob = artifacts.put_file(table)
    store.create_dataset_version("iris-train", [ManifestEntry("train.csv", blob.size, blob.sha256)])
    assert version.run_id is not None
    store.add_run_inputs(version.run_id, [RunInput("dataset", "iris-train", "1")])
    deployment = DeploymentManager(store).create("iris", "models:/iris-clf/1")
    reference = monitoring.reference_of(store, artifacts, deployment)
    assert reference.names == ["sl", "sw", "pl", "pw"]  # the label column is not an input
    assert reference.rows == 150
    assert reference.source == "dataset:iris-train@1/train.csv"
    assert store.get_deployment_reference("iris") == reference.to_dict()  # summarised once
