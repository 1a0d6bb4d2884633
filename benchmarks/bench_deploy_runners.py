"""Deployments on each runner: the time from "create" to READY (download, start, load, health
check), single-row latency once serving, and the time to delete, for a scikit-learn iris model.

Runners: ``process`` (detached local process, the embedded default), ``local`` (a job of the
local executor, the hub's default) and, with ``--ray``, ``ray`` (a job on a local Ray head node
started for the benchmark). The model server is the same program everywhere, so latency should
match; start and delete show what the executor adds. Prints one JSON object (medians of
``--repeats`` rounds, milliseconds).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from shipyard.artifacts.base import ArtifactStore, open_artifact_store
from shipyard.domain.entities import Artifact
from shipyard.executors import LocalExecutor
from shipyard.flavors import save_model
from shipyard.registry import register_model
from shipyard.serving.controller import DeploymentController
from shipyard.serving.deployments import DeploymentManager
from shipyard.serving.runners import ExecutorRunner, ProcessRunner, ServerRunner
from shipyard.store.sql.store import SqlRunStore


def register_iris(store: SqlRunStore, artifacts: ArtifactStore, scratch: Path) -> np.ndarray:
    """Train, log and register an iris classifier as ``models:/iris-clf/1``; return rows."""
    data = load_iris()
    x = data.data.astype(np.float32)
    model = LogisticRegression(max_iter=500).fit(x, data.target)
    run = store.create_run("bench", name="train")
    folder = scratch / "model"
    save_model(model, folder, input_example=x[:5])
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        info = artifacts.put_file(path)
        rel = f"models/iris-clf/{path.relative_to(folder).as_posix()}"
        found.append(Artifact(rel, info.size, info.sha256, "application/octet-stream"))
    store.add_artifacts(run.id, found)
    register_model(store, artifacts, f"runs:/{run.id}/models/iris-clf", "iris-clf")
    return x


def latency_ms(url: str, rows: np.ndarray, requests: int) -> tuple[float, float]:
    """p50 and p99 of single-row ``/invocations`` calls on one keep-alive connection
    (``http.client`` sends headers and body in one write, so no Nagle delay is measured)."""
    parsed = urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    times = []
    try:
        for i in range(requests):
            body = json.dumps({"inputs": [rows[i % len(rows)].tolist()]}).encode()
            started = time.perf_counter()
            conn.request("POST", "/invocations", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, response.status
    finally:
        conn.close()
    times.sort()
    return round(statistics.median(times), 2), round(times[int(len(times) * 0.99) - 1], 2)


def measure(runner: ServerRunner, root: Path, repeats: int, requests: int) -> dict[str, Any]:
    """Create, call and delete a deployment ``repeats`` times on ``runner``."""
    store = SqlRunStore.from_uri(f"sqlite:///{root}/s.db", auto_create=True)
    artifacts = open_artifact_store(str(root / "artifacts"))
    rows = register_iris(store, artifacts, root)
    controller = DeploymentController(store, artifacts, root / "deployments", runner=runner)
    manager = DeploymentManager(store)
    starts, deletes, p50s, p99s = [], [], [], []
    try:
        for i in range(repeats):
            name = f"iris-{i}"
            manager.create(name, "models:/iris-clf/1")
            started = time.perf_counter()
            ready = controller.reconcile(name)
            starts.append((time.perf_counter() - started) * 1000)
            assert ready is not None
            assert ready.url is not None, ready.message
            p50, p99 = latency_ms(ready.url, rows, requests)
            p50s.append(p50)
            p99s.append(p99)
            manager.delete(name)
            started = time.perf_counter()
            controller.reconcile(name)
            deletes.append((time.perf_counter() - started) * 1000)
    finally:
        for deployment in store.list_deployments():
            manager.delete(deployment.name)
            controller.reconcile(deployment.name)
        store.close()
    return {
        "create_to_ready_ms": round(statistics.median(starts), 1),
        "delete_ms": round(statistics.median(deletes), 1),
        "p50_ms": statistics.median(p50s),
        "p99_ms": statistics.median(p99s),
    }


@contextlib.contextmanager
def ray_runner(folder: Path) -> Iterator[ServerRunner]:
    """A runner on a Ray head node started for the benchmark (stopped afterwards)."""

    from shipyard.executors.ray import RayExecutor
    from shipyard.testing.ray_cluster import RAY_ENV, local_ray_head

    os.environ.update(RAY_ENV)
    with local_ray_head(folder) as head:
        yield ExecutorRunner(RayExecutor(head.dashboard_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--ray", action="store_true", help="also measure a local Ray head")
    args = parser.parse_args()
    results: dict[str, Any] = {"repeats": args.repeats, "requests": args.requests}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        runners: dict[str, ServerRunner] = {
            "process": ProcessRunner(),
            "local": ExecutorRunner(LocalExecutor(base / "jobs")),
        }
        for name, runner in runners.items():
            print(f"{name}...", file=sys.stderr)
            (base / name).mkdir()
            results[name] = measure(runner, base / name, args.repeats, args.requests)
        if args.ray:
            print("ray...", file=sys.stderr)
            (base / "ray").mkdir()
            with ray_runner(base / "ray-head") as runner:
                results["ray"] = measure(runner, base / "ray", args.repeats, args.requests)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
