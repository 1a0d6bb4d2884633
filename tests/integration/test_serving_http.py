"""The serving app behind a real uvicorn server: tritonclient, raw HTTP, /metrics, batching."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from serving_helpers import COLUMNS, iris, running, save_iris
from tritonclient.utils import InferenceServerException

from conftest import free_port
from shipyard.flavors import load_model
from shipyard.serving.app import create_serving_app
from shipyard.serving.batching import BatchingConfig
from shipyard.serving.runtime import ModelSlot


@pytest.fixture(scope="module")
def iris_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_iris(tmp_path_factory.mktemp("models") / "iris")


@pytest.fixture
def url(iris_path: Path) -> Iterator[str]:
    with running(create_serving_app([ModelSlot("iris", "3", iris_path)]), free_port()) as base:
        yield base


def _triton(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"))


def test_tritonclient_health_metadata_and_infer(url: str) -> None:
    client = _triton(url)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("iris")
    assert client.is_model_ready("iris", "3")
    meta = client.get_model_metadata("iris")
    assert meta["versions"] == ["3"]
    assert [t["name"] for t in meta["inputs"]] == COLUMNS
    features, labels = iris()
    rows = features[48:53]
    for binary in (True, False):
        tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows, binary_data=binary)
        outputs = [triton.InferRequestedOutput("predict", binary_data=binary)]
        result = client.infer("iris", [tensor], outputs=outputs)
        assert result.as_numpy("predict").tolist() == labels[48:53].astype(int).tolist()
    default = client.infer("iris", [tensor], model_version="3")  # all outputs, binary
    assert default.as_numpy("predict").tolist() == [0, 0, 1, 1, 1]
    assert default.get_response()["model_version"] == "3"
    client.close()


def test_tritonclient_per_column_inputs(url: str) -> None:
    client = _triton(url)
    features, _ = iris()
    inputs = []
    for i, name in enumerate(COLUMNS):
        tensor = triton.InferInput(name, [2], "FP32")
        tensor.set_data_from_numpy(features[[0, 149], i].astype(np.float32))
        inputs.append(tensor)
    assert client.infer("iris", inputs).as_numpy("predict").tolist() == [0, 2]
    client.close()


def test_tritonclient_sees_a_clear_error_for_bad_input(url: str) -> None:
    client = _triton(url)
    tensor = triton.InferInput("input-0", [1, 3], "FP64")
    tensor.set_data_from_numpy(np.ones((1, 3)))
    with pytest.raises(InferenceServerException) as info:
        client.infer("iris", [tensor])
    assert info.value.status() == "400"
    assert "expected 4 input columns [sepal_length" in info.value.message()
    client.close()


def test_raw_http_and_metrics_scrape(url: str) -> None:
    body = {
        "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [6.9, 3.1, 5.4, 2.1]}]
    }
    with httpx.Client(base_url=url) as http:
        response = http.post("/v2/models/iris/infer", json=body)
        assert response.status_code == 200
        assert response.json()["outputs"][0]["data"] == [2]
        bad = http.post("/v2/models/iris/infer", content=b"[1, 2]")
        assert bad.status_code == 400
        assert bad.json() == {
            "error": "the body must be a JSON object (hint: see the Open Inference Protocol: "
            "{'inputs': [{'name', 'shape', 'datatype', 'data'}]})"
        }
        scrape = http.get("/metrics")
    assert scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    assert (
        'shipyard_serving_requests_total{code="200",model="iris",protocol="v2",version="3"} 1.0'
        in text
    )
    assert (
        'shipyard_serving_errors_total{code="400",model="iris",protocol="v2",version=""} 1.0'
        in text
    )
    assert "# TYPE shipyard_serving_request_duration_seconds histogram" in text


def test_batching_serves_concurrent_clients_correctly(iris_path: Path) -> None:
    features, _ = iris()
    app = create_serving_app(
        [ModelSlot("iris", "1", iris_path)],
        batching=BatchingConfig(max_batch_size=16, max_wait_ms=20),
    )
    with running(app, free_port()) as base, httpx.Client(base_url=base) as http:

        def call(i: int) -> list[int]:
            rows = features[i : i + 1 + i % 3]
            body = {"instances": rows.tolist()}
            result: list[int] = http.post("/invocations", json=body).json()["predictions"]
            return result

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(call, range(150)))
        text = http.get("/metrics").text
    model = load_model(iris_path)
    for i, answer in enumerate(answers):
        assert answer == model.predict(features[i : i + 1 + i % 3]).tolist()
    rows = sum(len(features[i : i + 1 + i % 3]) for i in range(150))
    assert f'shipyard_serving_batch_size_sum{{model="iris",version="1"}} {float(rows)}' in text
