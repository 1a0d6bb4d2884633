"""``shipyard deployments`` end to end, embedded: real CLI subprocesses, real server processes,
the background monitor firing a webhook on drift."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from test_cli import Cli, make_cli

from deploy_support import iris, log_iris_model, webhook_receiver
from shipyard.artifacts import open_artifact_store
from shipyard.serving import _process, monitor
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    settings = Settings(home=home)
    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    artifacts = open_artifact_store(settings.artifact_uri)
    log_iris_model(store, artifacts)
    log_iris_model(store, artifacts, kind="tree")
    log_iris_model(store, artifacts, broken=True)
    store.set_model_alias("iris-clf", "champion", 1)
    x, _ = iris()
    with (tmp_path / "train.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width"])
        writer.writerows(x.tolist())
    yield home
    root = (home / "deployments").resolve()
    monitor.stop(root)
    for deployment in store.list_deployments():
        _process.stop(deployment.pid)
    store.close()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with webhook_receiver("/hook/secret-token") as hook:
        yield hook


def invocations(url: str, rows: np.ndarray) -> list[Any]:
    response = httpx.post(f"{url}/invocations", json={"inputs": rows.tolist()}, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["predictions"])


def test_deploy_canary_drift_alert_and_delete(home: Path, tmp_path: Path, receiver: Any) -> None:
    hook, received = receiver
    cli: Cli = make_cli(home, tmp_path)
    created = cli.json(
        "deployments", "create", "iris", "--model", "models:/iris-clf@champion",
        "--follow-alias", "--reference", str(tmp_path / "train.csv"), "--drift-test", "psi",
        "--drift-test", "petal_width=ks",
    )  # fmt: skip
    assert created["status"] == "READY", created
    url = created["url"]
    x, y = iris()
    assert invocations(url, x[:3]) == y[:3].tolist()

    canary = cli.json("deployments", "update", "iris", "-m", "models:/iris-clf/2", "--canary", "30")
    assert [s["weight"] for s in canary["serving"]] == [0.7, 0.3]
    back = cli.json("deployments", "rollback", "iris")
    assert [s["uri"] for s in back["serving"]] == ["models:/iris-clf/1"]
    cli("deployments", "update", "iris", "-m", "models:/iris-clf/2", "--canary", "30")
    promoted = cli.json("deployments", "promote", "iris")
    assert promoted["stable"] == {"uri": "models:/iris-clf/2", "version": 2}
    assert promoted["canary"] is None

    status = cli.json("deployments", "status", "iris")
    assert status["url"] == url
    assert status["status"] == "READY"

    alert = cli.json(
        "deployments", "alerts", "add", "iris", "--kind", "drift", "--threshold", "0.5",
        "--webhook", hook,
    )  # fmt: skip
    assert alert["kind"] == "drift"
    invocations(url, x[::2] * 1.7 + 1.0)  # shifted inputs
    report = _drift_when_logged(cli)
    assert report["dataset_drift"] is True
    assert {f["name"] for f in report["features"]} == {
        "sepal_length", "sepal_width", "petal_length", "petal_width",
    }  # fmt: skip
    tests = {f["name"]: f["test"] for f in report["features"]}
    assert tests == {"sepal_length": "psi", "sepal_width": "psi", "petal_length": "psi",
                     "petal_width": "ks"}  # fmt: skip
    assert [f["p_value"] is not None for f in report["features"]] == [False, False, False, True]

    _wait(lambda: received, "the monitor never fired the drift webhook")
    assert received[0]["deployment"] == "iris"
    assert received[0]["kind"] == "drift"
    listed = cli.json("deployments", "alerts", "list", "iris")
    assert listed["firings"][0]["delivered"] is True

    assert "iris" in cli("deployments", "list").stdout
    cli("deployments", "logs", "iris", "--lines", "5")
    cli("deployments", "delete", "iris")
    assert cli.json("deployments", "list") == []
    assert not _process.alive(status["pid"], url)


def test_a_broken_model_fails_and_never_serves(home: Path, tmp_path: Path) -> None:
    cli = make_cli(home, tmp_path)
    failed = cli("deployments", "create", "bad", "-m", "models:/iris-clf/3", "--json", rc=1)
    body = json.loads(failed.stdout)
    assert body["status"] == "FAILED"
    assert body["url"] is None
    bad_test = cli("deployments", "create", "t", "-m", "models:/iris-clf/1", "--drift-test",
                   "petal_width=nope", rc=1)  # fmt: skip
    assert "unknown drift test 'nope' for 'petal_width'" in bad_test.stderr
    missing = cli("deployments", "status", "nope", rc=1)
    assert "not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_canary = cli(
        "deployments", "update", "bad", "-m", "models:/iris-clf/1", "--canary", "0", rc=2
    )
    assert "--canary" in bad_canary.stderr


def test_the_hub_refuses_an_executor_deployments_cannot_use(home: Path, tmp_path: Path) -> None:
    cli = make_cli(home, tmp_path)
    k8s = cli("server", "--deployments-executor", "kubernetes", "--port", "1", rc=1)
    assert "cannot run on the 'kubernetes' executor" in k8s.stderr
    no_address = cli("server", "--deployments-executor", "ray", "--port", "1", rc=1)
    assert "--ray-address" in no_address.stderr
    for refused in (k8s, no_address):
        assert "Traceback" not in refused.stderr


def _drift_when_logged(cli: Cli) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        proc = cli("deployments", "drift", "iris", "--json", rc=None)
        if proc.returncode == 0:
            return dict(json.loads(proc.stdout))
        assert "logged no predictions" in proc.stderr, proc.stderr
        assert time.monotonic() < deadline, "no predictions were logged"
        time.sleep(0.2)


def _wait(found: Any, message: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)
