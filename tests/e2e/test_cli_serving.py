"""`shipyard serve models:/NAME@ALIAS`: a registered scikit-learn model served by a real server
process, called with raw HTTP and with tritonclient, scraped at /metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

import shipyard
from conftest import free_port
from shipyard.sdk.client import Client
from shipyard.settings import Settings

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _register_iris(settings: Settings) -> np.ndarray:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    example = {name: features[:5, i] for i, name in enumerate(COLUMNS)}
    with shipyard.start_run(project="iris", settings=settings) as run:
        run.log_model(model, "clf", input_example=example, register_as="iris-clf")
    with Client(settings=settings) as client:
        client.set_model_alias("iris-clf", "champion", 1)
    predictions: np.ndarray = model.predict(features)
    return predictions


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"shipyard serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError("shipyard serve did not get ready")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, np.ndarray]]:
    expected = _register_iris(Settings(home=tmp_path / ".shipyard"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "shipyard.cli", "serve", "models:/iris-clf@champion",
         "--port", str(port), "--log-predictions", "1", "--predictions-dir", "preds"],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url, expected
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


@pytest.mark.slow
def test_serve_a_registered_model(served: tuple[str, np.ndarray], tmp_path: Path) -> None:
    url, expected = served
    from sklearn.datasets import load_iris

    features, _ = load_iris(return_X_y=True)
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    assert client.is_model_ready("iris-clf", "1")
    tensor = triton.InferInput("input-0", [10, 4], "FP64")
    tensor.set_data_from_numpy(features[45:55])
    result = client.infer("iris-clf", [tensor])
    assert result.as_numpy("predict").tolist() == expected[45:55].tolist()
    assert result.get_response()["model_version"] == "1"
    client.close()

    body = {"dataframe_split": {"columns": COLUMNS, "data": features[140:142].tolist()}}
    answer = httpx.post(f"{url}/invocations", json=body)
    assert answer.json() == {"predictions": expected[140:142].tolist()}
    bad = httpx.post(f"{url}/invocations", json={"instances": [[1.0, 2.0]]})
    assert bad.status_code == 400
    assert "expected 4 input columns [sepal_length" in bad.json()["message"]

    metrics = httpx.get(f"{url}/metrics").text
    assert (
        'shipyard_serving_requests_total{code="200",model="iris-clf",protocol="v2",version="1"} 1.0'
        in metrics
    )
    assert 'shipyard_serving_model_ready{model="iris-clf",version="1"} 1.0' in metrics
    deadline = time.monotonic() + 30
    while not list((tmp_path / "preds").glob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list((tmp_path / "preds").glob("predictions-*.jsonl"))


def test_serve_refuses_a_folder_that_holds_no_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "serve", "empty", "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "error: not serving: empty version 1 failed to load" in done.stderr
    assert "holds no shipyard-model.yaml" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_metrics_of_several_workers_add_up(tmp_path: Path) -> None:
    """With --workers 2 any worker's /metrics counts the requests every worker answered."""
    _register_iris(Settings(home=tmp_path / ".shipyard"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPYARD_", "PROMETHEUS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "shipyard.cli", "serve", "models:/iris-clf@champion",
         "--port", str(port), "--workers", "2"],
        cwd=tmp_path, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        for _ in range(30):  # a new connection each: the kernel spreads them over the workers
            response = httpx.post(f"{url}/invocations", json={"inputs": [[5.1, 3.5, 1.4, 0.2]]})
            assert response.status_code == 200
        wanted = (
            'shipyard_serving_requests_total{code="200",model="iris-clf",protocol="invocations",'
            'version="1"} 30.0'
        )
        for _ in range(6):  # whichever worker answers the scrape
            metrics = httpx.get(f"{url}/metrics").text
            assert wanted in metrics, metrics
            assert 'shipyard_serving_model_ready{model="iris-clf",version="1"} 1.0' in metrics
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
