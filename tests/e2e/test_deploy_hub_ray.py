"""A hub whose model servers run on Ray: a real ``shipyard server --deployments-executor ray``
process, the session's local Ray head node, and the SDK's HTTP client driving deployments."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import free_port, wait_for_port
from deploy_support import iris, log_iris_model
from shipyard.artifacts import open_artifact_store
from shipyard.domain.serving import DeploymentStatus
from shipyard.errors import NotFound
from shipyard.executors import JobHandle, JobState
from shipyard.executors.ray import RayExecutor
from shipyard.sdk._http_deployments import HttpDeployments
from shipyard.sdk._http_store import HttpRunStore
from shipyard.store.sql.store import SqlRunStore


def test_the_hub_runs_a_deployment_on_ray(tmp_path: Path, ray_address: str) -> None:
    store_uri = f"sqlite:///{tmp_path / 'shipyard.db'}"
    store = SqlRunStore.from_uri(store_uri, auto_create=True)
    log_iris_model(store, open_artifact_store(str(tmp_path / "artifacts")))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(tmp_path / "home")
    argv = [
        sys.executable, "-m", "shipyard.cli", "server", "--store", store_uri, "--artifacts",
        str(tmp_path / "artifacts"), "--port", str(port), "--no-workflows", "--log-level",
        "warning", "--deployments-executor", "ray", "--ray-address", ray_address,
    ]  # fmt: skip
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    http = HttpRunStore(f"http://127.0.0.1:{port}")
    ray = RayExecutor(ray_address)
    try:
        wait_for_port(port, timeout=60)
        deployments = HttpDeployments(http)
        deployments.create("iris", "models:/iris-clf/1")
        ready = deployments.wait("iris", timeout_s=180)
        assert ready is not None
        assert ready.status is DeploymentStatus.READY, ready.message
        assert ready.url is not None
        handle = JobHandle.parse(ready.job or "")
        assert handle.executor == "ray"
        assert ray.status(handle).state is JobState.RUNNING
        x, y = iris()
        response = httpx.post(f"{ready.url}/invocations", json={"inputs": x[:4].tolist()})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == y[:4].tolist()

        deployments.delete("iris")
        _wait_gone(deployments)
        assert ray.status(handle).state is JobState.CANCELLED
    finally:
        for deployment in store.list_deployments():
            if deployment.job:
                ray.cancel(JobHandle.parse(deployment.job))
        server.terminate()
        server.wait(timeout=30)
        http.close()
        store.close()


def _wait_gone(deployments: HttpDeployments, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            deployments.get("iris")
        except NotFound:
            return
        time.sleep(0.5)
    raise AssertionError("the hub did not remove the deployment")
