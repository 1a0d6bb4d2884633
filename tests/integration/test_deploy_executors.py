"""Deployments on executors (what the hub does): the controller starts each model server as a
job of a real executor - local supervised processes, and a local Ray head node - records the
job's handle, switches canaries in place, restarts a server whose job died, and cancels the job
when the deployment is deleted or its model fails to load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from deploy_support import iris, log_iris_model
from shipyard.artifacts.base import ArtifactStore, open_artifact_store
from shipyard.domain.serving import Deployment, DeploymentStatus
from shipyard.executors import Executor, JobHandle, JobState, LocalExecutor
from shipyard.serving.controller import DeploymentController
from shipyard.serving.deployments import DeploymentManager
from shipyard.serving.runners import ExecutorRunner
from shipyard.store.sql.store import SqlRunStore

Env = tuple[SqlRunStore, ArtifactStore, DeploymentController, Executor]


def _env(tmp_path: Path, executor: Executor) -> Iterator[Env]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/s.db", auto_create=True)
    artifacts = open_artifact_store(str(tmp_path / "artifacts"))
    controller = DeploymentController(
        store, artifacts, tmp_path / "deployments", ready_timeout_s=120,
        runner=ExecutorRunner(executor),
    )  # fmt: skip
    yield store, artifacts, controller, executor
    for deployment in store.list_deployments():
        if deployment.job:
            executor.cancel(JobHandle.parse(deployment.job))
    store.close()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Env]:
    yield from _env(tmp_path, LocalExecutor(tmp_path / "jobs", grace_s=2))


@pytest.fixture
def on_ray(tmp_path: Path, ray_address: str) -> Iterator[Env]:
    from shipyard.executors.ray import RayExecutor

    yield from _env(tmp_path, RayExecutor(ray_address))


def predict(url: str, rows: np.ndarray) -> dict[str, Any]:
    body = {"inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": "FP32",
                        "data": rows.ravel().tolist()}]}  # fmt: skip
    response = httpx.post(f"{url}/v2/models/iris/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ready(controller: DeploymentController, name: str) -> Deployment:
    deployment = controller.reconcile(name)
    assert deployment is not None
    assert deployment.status is DeploymentStatus.READY, deployment.message
    assert deployment.url is not None
    return deployment


def test_a_deployment_runs_as_a_local_executor_job(local: Env) -> None:
    store, artifacts, controller, executor = local
    log_iris_model(store, artifacts)
    log_iris_model(store, artifacts, kind="tree")
    manager = DeploymentManager(store)
    manager.create("iris", "models:/iris-clf/1")
    ready = _ready(controller, "iris")
    assert ready.pid is None
    assert ready.job is not None
    handle = JobHandle.parse(ready.job)
    assert handle.executor == "local"
    assert executor.status(handle).state is JobState.RUNNING
    x, _ = iris()
    assert predict(ready.url or "", x[:2])["model_version"] == "1"

    manager.update("iris", "models:/iris-clf/2", canary_percent=50)
    split = _ready(controller, "iris")
    assert split.job == ready.job  # switched in place: same job, same URL
    assert split.url == ready.url
    assert {predict(ready.url or "", x[:1])["model_version"] for _ in range(40)} == {"1", "2"}

    executor.cancel(handle)  # the server's job dies: the next round starts a new one
    assert executor.status(handle).state is JobState.CANCELLED
    manager.promote("iris")
    restarted = _ready(controller, "iris")
    assert restarted.job not in (None, ready.job)
    assert predict(restarted.url or "", x[:1])["model_version"] == "2"
    assert f"deployment iris serving version 2 (100%) at {restarted.url}" in controller.logs("iris")

    manager.delete("iris")
    assert controller.reconcile("iris") is None
    assert executor.status(JobHandle.parse(restarted.job or "")).state is JobState.CANCELLED
    assert store.list_deployments() == []


def test_a_model_that_fails_to_load_ends_its_job(local: Env) -> None:
    store, artifacts, controller, executor = local
    log_iris_model(store, artifacts, broken=True)
    DeploymentManager(store).create("broken", "models:/iris-clf/1")
    failed = controller.reconcile("broken")
    assert failed is not None
    assert failed.status is DeploymentStatus.FAILED
    assert failed.url is None
    assert failed.job is None
    assert "load" in failed.message
    jobs = list((controller.root.parent / "jobs").iterdir())
    assert len(jobs) == 1
    assert executor.status(JobHandle("local", jobs[0].name)).state.is_terminal


def test_a_deployment_runs_as_a_ray_job(on_ray: Env) -> None:
    store, artifacts, controller, executor = on_ray
    log_iris_model(store, artifacts)
    manager = DeploymentManager(store)
    manager.create("iris", "models:/iris-clf/1")
    ready = _ready(controller, "iris")
    assert ready.job is not None
    handle = JobHandle.parse(ready.job)
    assert handle.executor == "ray"
    assert executor.status(handle).state is JobState.RUNNING
    x, y = iris()
    outputs = predict(ready.url or "", x[:5])["outputs"]
    assert outputs[0]["data"] == y[:5].tolist()

    manager.delete("iris")
    assert controller.reconcile("iris") is None
    assert executor.status(handle).state is JobState.CANCELLED
