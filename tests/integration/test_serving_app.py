"""The serving app in-process: Open Inference Protocol v2, /invocations, errors, health, canary
weights, reloads and prediction logs, over a real scikit-learn model saved with its flavor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest
from fastapi import FastAPI
from serving_helpers import COLUMNS, iris, save_constant, save_iris

from shipyard.errors import Unavailable
from shipyard.serving.app import create_serving_app
from shipyard.serving.predlog import PredLogConfig, read_predictions
from shipyard.serving.runtime import ModelSlot
from shipyard.testing.asgi import asgi_client


@pytest.fixture(scope="module")
def iris_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_iris(tmp_path_factory.mktemp("models") / "iris")


@pytest.fixture
def app(iris_path: Path) -> Iterator[FastAPI]:
    app = create_serving_app([ModelSlot("iris", "1", iris_path)])
    yield app
    app.state.serving.close()


@pytest.fixture
def client(app: FastAPI) -> httpx.Client:
    return asgi_client(app)


def _tensor(rows: np.ndarray, name: str = "input-0", datatype: str = "FP64") -> dict[str, object]:
    return {"name": name, "shape": list(rows.shape), "datatype": datatype, "data": rows.tolist()}


def test_v2_infer_with_one_tensor(client: httpx.Client) -> None:
    features, labels = iris()
    body = {"id": "r1", "inputs": [_tensor(features[:3])]}
    response = client.post("/v2/models/iris/infer", json=body)
    assert response.status_code == 200
    doc = response.json()
    assert doc["model_name"] == "iris"
    assert doc["model_version"] == "1"
    assert doc["id"] == "r1"
    [output] = doc["outputs"]
    assert output["name"] == "predict"
    assert output["shape"] == [3]
    assert output["datatype"] == "INT64"
    assert output["data"] == labels[:3].astype(int).tolist()


def test_v2_infer_with_named_columns_and_a_version(client: httpx.Client) -> None:
    features, _ = iris()
    inputs = [_tensor(features[100:102, i], name) for i, name in enumerate(COLUMNS)]
    response = client.post("/v2/models/iris/versions/1/infer", json={"inputs": inputs})
    assert response.status_code == 200
    assert response.json()["outputs"][0]["data"] == [2, 2]


def test_v2_infer_binary_tensors_both_ways(client: httpx.Client) -> None:
    features, _ = iris()
    rows = features[:2].astype(np.float32)
    raw = rows.tobytes()
    header = {
        "inputs": [
            {
                "name": "x",
                "shape": [2, 4],
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(raw)},
            }
        ],
        "parameters": {"binary_data_output": True},
    }
    head = orjson.dumps(header)
    response = client.post(
        "/v2/models/iris/infer",
        content=head + raw,
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert response.status_code == 200
    size = int(response.headers["inference-header-content-length"])
    doc = orjson.loads(response.content[:size])
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == 16
    assert np.frombuffer(response.content[size:], dtype=np.int64).tolist() == [0, 0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [_tensor(np.ones((1, 3)))]}, "expected 4 input columns [sepal_length"),
        ({"inputs": []}, "'inputs' must be a non-empty list"),
        (
            {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP99", "data": [1, 2, 3, 4]}]},
            "unknown datatype 'FP99'",
        ),
        (
            {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]},
            "shape [2, 4] needs 8 values, 'data' has 4",
        ),
        (
            {
                "inputs": [
                    {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": ["a", 1, 2, 3]}
                ]
            },
            "input 'x': 'data' does not fit float64",
        ),
        (
            {"inputs": [_tensor(np.ones((1, 4)))], "outputs": [{"name": "proba"}]},
            "the model has no output 'proba'",
        ),
        ({"inputs": [_tensor(np.ones((1, 4)), "sepal_length")]}, "expected 4 input columns"),
    ],
)
def test_v2_bad_inputs_get_400_saying_what_was_wrong(
    client: httpx.Client, body: dict[str, object], message: str
) -> None:
    response = client.post("/v2/models/iris/infer", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_v2_malformed_json_unknown_model_and_version(client: httpx.Client) -> None:
    response = client.post("/v2/models/iris/infer", content=b"{nope")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    body = {"inputs": [_tensor(np.ones((1, 4)))]}
    missing = client.post("/v2/models/nope/infer", json=body)
    assert missing.status_code == 404
    assert "model 'nope' is not served here" in missing.json()["error"]
    version = client.post("/v2/models/iris/versions/7/infer", json=body)
    assert version.status_code == 404
    assert "served versions: 1" in version.json()["error"]


def test_bodies_over_the_limit_get_413(iris_path: Path) -> None:
    app = create_serving_app([ModelSlot("iris", "1", iris_path)], max_body_bytes=100)
    client = asgi_client(app)
    body = {"inputs": [_tensor(np.ones((10, 4)))]}
    response = client.post("/v2/models/iris/infer", json=body)
    assert response.status_code == 413
    assert "this server accepts 100 bytes at most" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no content-length: the limit holds while reading
        yield b'{"instances": ['
        yield b"[1, 2, 3, 4]," * 20
        yield b"[1, 2, 3, 4]]}"

    chunked = client.post("/invocations", content=chunks())
    assert chunked.status_code == 413
    assert chunked.json()["error_code"] == "BAD_REQUEST"


def test_health_and_metadata(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    assert client.get("/v2/models/iris/versions/1/ready").status_code == 200
    assert client.get("/v2").json()["name"] == "shipyard"
    meta = client.get("/v2/models/iris").json()
    assert meta["versions"] == ["1"]
    assert meta["platform"] == "shipyard-sklearn"
    assert [t["name"] for t in meta["inputs"]] == COLUMNS
    assert meta["inputs"][0] == {"name": "sepal_length", "datatype": "FP64", "shape": [-1]}
    assert client.get("/v2/models/iris/versions/1").json()["versions"] == ["1"]
    assert client.get("/v2/models/iris/versions/2").status_code == 404
    assert client.get("/ping").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}},
        {"dataframe_records": [dict(zip(COLUMNS, [5.1, 3.5, 1.4, 0.2], strict=True))]},
        {"instances": [[5.1, 3.5, 1.4, 0.2]]},
        {"inputs": [[5.1, 3.5, 1.4, 0.2]]},
        {"inputs": {c: [v] for c, v in zip(COLUMNS, [5.1, 3.5, 1.4, 0.2], strict=True)}},
        {"dataframe_split": {"columns": COLUMNS[::-1], "data": [[0.2, 1.4, 3.5, 5.1]]}},
    ],
)
def test_invocations_formats(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [0]}


def test_invocations_csv(client: httpx.Client) -> None:
    text = ",".join(COLUMNS) + "\n5.1,3.5,1.4,0.2\n6.9,3.1,5.4,2.1\n"
    response = client.post("/invocations", content=text, headers={"Content-Type": "text/csv"})
    assert response.json() == {"predictions": [0, 2]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [[1, 2]], "inputs": [[1, 2]]}, "expected exactly one of"),
        ({"columns": COLUMNS, "data": [[1, 2, 3, 4]]}, "expected exactly one of"),
        (
            {"dataframe_split": {"columns": COLUMNS[:3], "data": [[1, 2, 3]]}},
            "expected 4 input columns [sepal_length, sepal_width, petal_length, petal_width], "
            "got 3",
        ),
        (
            {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3]]}},
            "dataframe_split.data[0] must be a list of 4 values",
        ),
        (
            {
                "dataframe_records": [
                    {"sepal_length": "x", "sepal_width": 1, "petal_length": 1, "petal_width": 1}
                ]
            },
            "expects float64 values, got string",
        ),
        ({"instances": [[1, 2], [3]]}, "rows of equal length"),
    ],
)
def test_invocations_bad_input_gets_400(
    client: httpx.Client, body: dict[str, object], message: str
) -> None:
    response = client.post("/invocations", json=body)
    assert response.status_code == 400
    doc = response.json()
    assert doc["error_code"] == "BAD_REQUEST"
    assert message in doc["message"]


def test_metrics_count_requests_errors_latency_and_batches(client: httpx.Client) -> None:
    client.post("/v2/models/iris/infer", json={"inputs": [_tensor(np.ones((3, 4)))]})
    client.post("/v2/models/iris/infer", json={"inputs": [_tensor(np.ones((1, 2)))]})
    client.post("/invocations", json={"instances": [[1, 2, 3, 4]]})
    text = client.get("/metrics").text
    labels = 'model="iris",protocol="v2",version="1"'
    assert f'shipyard_serving_requests_total{{code="200",{labels}}} 1.0' in text
    assert f'shipyard_serving_errors_total{{code="400",{labels}}} 1.0' in text
    assert f"shipyard_serving_request_duration_seconds_count{{{labels}}} 2.0" in text
    assert 'shipyard_serving_batch_size_sum{model="iris",version="1"} 4.0' in text
    assert 'shipyard_serving_model_ready{model="iris",version="1"} 1.0' in text
    assert 'protocol="invocations"' in text


def test_a_model_that_fails_to_load_takes_no_traffic(iris_path: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    app = create_serving_app([ModelSlot("iris", "1", iris_path), ModelSlot("bad", "1", broken)])
    client = asgi_client(app)
    assert client.get("/v2/health/ready").status_code == 503
    assert client.get("/v2/models/bad/ready").status_code == 503
    assert client.get("/v2/models/iris/ready").status_code == 200
    response = client.post("/v2/models/bad/infer", json={"inputs": [_tensor(np.ones((1, 4)))]})
    assert response.status_code == 503
    assert "model 'bad' is not ready" in response.json()["error"]
    assert "shipyard-model.yaml" in response.json()["error"]
    assert (
        'shipyard_serving_model_ready{model="bad",version="1"} 0.0' in client.get("/metrics").text
    )
    app.state.serving.close()


def test_a_crashing_model_gives_500_without_internals(tmp_path: Path) -> None:
    from serving_helpers import BrokenModel

    from shipyard.flavors import save_model

    save_model(BrokenModel(), tmp_path / "broken")
    app = create_serving_app([ModelSlot("b", "1", tmp_path / "broken")])
    client = asgi_client(app)
    response = client.post("/invocations", json={"instances": [[1.0]]})
    assert response.status_code == 500
    assert response.json()["message"] == "the model failed; see the server log"
    v2 = client.post("/v2/models/b/infer", json={"inputs": [_tensor(np.ones((1, 1)))]})
    assert v2.status_code == 500
    assert "secret" not in v2.text
    assert 'shipyard_serving_errors_total{code="500",model="b"' in client.get("/metrics").text


def test_a_canary_that_failed_to_load_gets_no_traffic(tmp_path: Path) -> None:
    one = save_constant(tmp_path / "one", 1.0)
    app = create_serving_app([ModelSlot("c", "1", one, 1.0), ModelSlot("c", "2", tmp_path, 9.0)])
    client = asgi_client(app)
    body = {"instances": [[0.0, 0.0]]}
    answers = {client.post("/invocations", json=body).json()["predictions"][0] for _ in range(20)}
    assert answers == {1.0}
    assert client.get("/v2/models/c/versions/2/ready").status_code == 503
    assert client.get("/v2/models/c/ready").status_code == 200
    response = client.post(
        "/v2/models/c/versions/2/infer", json={"inputs": [_tensor(np.zeros((1, 2)))]}
    )
    assert response.status_code == 503


def test_canary_weights_split_traffic_and_versions_are_addressable(tmp_path: Path) -> None:
    one = save_constant(tmp_path / "one", 1.0)
    two = save_constant(tmp_path / "two", 2.0)
    app = create_serving_app([ModelSlot("c", "1", one, 1.0), ModelSlot("c", "2", two, 0.0)])
    client = asgi_client(app)
    body = {"instances": [[0.0, 0.0]]}
    answers = {client.post("/invocations", json=body).json()["predictions"][0] for _ in range(20)}
    assert answers == {1.0}
    app.state.serving.reload([ModelSlot("c", "1", one, 1.0), ModelSlot("c", "2", two, 1.0)])
    answers = {client.post("/invocations", json=body).json()["predictions"][0] for _ in range(200)}
    assert answers == {1.0, 2.0}
    v2 = {"inputs": [_tensor(np.zeros((1, 2)))]}
    response = client.post("/v2/models/c/versions/2/infer", json=v2).json()
    assert response["model_version"] == "2"
    assert response["outputs"][0]["data"] == [2.0]
    text = client.get("/metrics").text
    assert (
        'shipyard_serving_requests_total{code="200",model="c",protocol="invocations",version="2"}'
        in text
    )
    app.state.serving.close()


def test_reload_swaps_models_and_a_failed_reload_changes_nothing(tmp_path: Path) -> None:
    one = save_constant(tmp_path / "one", 1.0)
    two = save_constant(tmp_path / "two", 2.0)
    app = create_serving_app([ModelSlot("c", "1", one)])
    client = asgi_client(app)
    body = {"instances": [[0.0, 0.0]]}
    app.state.serving.reload([ModelSlot("c", "2", two)])
    assert client.post("/invocations", json=body).json() == {"predictions": [2.0]}
    assert client.get("/v2/models/c").json()["versions"] == ["2"]
    with pytest.raises(Unavailable, match="model 'c' version 3 failed to load"):
        app.state.serving.reload([ModelSlot("c", "3", tmp_path / "missing")])
    assert client.post("/invocations", json=body).json() == {"predictions": [2.0]}
    app.state.serving.close()


def test_columns_reach_a_tensor_model_in_the_order_sent(tmp_path: Path) -> None:
    path = save_constant(tmp_path / "one", 1.0)  # tensor signature (N, 2), no column names
    app = create_serving_app([ModelSlot("c", "1", path)])
    client = asgi_client(app)
    body = {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0], [3.0, 4.0]]}}
    assert client.post("/invocations", json=body).json() == {"predictions": [1.0, 1.0]}
    wrong = {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 2.0, 3.0]]}}
    response = client.post("/invocations", json=wrong)
    assert response.status_code == 400
    assert "expected 2 input columns, got 3" in response.json()["message"]
    app.state.serving.close()


def test_invocations_needs_a_model_name_when_several_are_served(tmp_path: Path) -> None:
    one = save_constant(tmp_path / "one", 1.0)
    two = save_constant(tmp_path / "two", 2.0)
    app = create_serving_app([ModelSlot("a", "1", one), ModelSlot("b", "1", two)])
    client = asgi_client(app)
    body = {"instances": [[0.0, 0.0]]}
    response = client.post("/invocations", json=body)
    assert response.status_code == 400
    assert "serves 2 models (a, b)" in response.json()["message"]
    assert client.post("/invocations?model=b", json=body).json() == {"predictions": [2.0]}
    app.state.serving.close()


def test_prediction_log_records_sampled_requests(iris_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "predlog"
    app = create_serving_app(
        [ModelSlot("iris", "1", iris_path)], predlog=PredLogConfig(folder, sample_rate=1.0)
    )
    client = asgi_client(app)
    features, _ = iris()
    for start in (0, 100):
        client.post(
            "/v2/models/iris/infer", json={"inputs": [_tensor(features[start : start + 2])]}
        )
    client.post("/invocations", json={"instances": [[1, 2, 3]]})  # rejected: not logged
    app.state.serving_app.predlog.close()
    records = list(read_predictions(folder))
    assert len(records) == 2
    first, second = records
    assert first.model == "iris"
    assert first.version == "1"
    assert first.protocol == "v2"
    assert first.columns == COLUMNS
    assert first.inputs == features[:2].tolist()
    assert first.outputs == [0, 0]
    assert second.outputs == [2, 2]
    assert list(read_predictions(folder, since=second.ts)) == [second]
    assert list(read_predictions(folder, model="other")) == []
    assert "shipyard_serving_predictions_logged_total 2.0" in client.get("/metrics").text
    app.state.serving.close()


def test_prediction_log_sample_rate_zero_logs_nothing(iris_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "predlog"
    app = create_serving_app(
        [ModelSlot("iris", "1", iris_path)], predlog=PredLogConfig(folder, sample_rate=0.0)
    )
    client = asgi_client(app)
    client.post("/invocations", json={"instances": [[1, 2, 3, 4]]})
    app.state.serving_app.predlog.close()
    assert list(read_predictions(folder)) == []


def _flavor_model(flavor: str, features: np.ndarray, labels: np.ndarray) -> object:
    if flavor == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(features, labels)
    if flavor == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(features, labels)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(features, labels)
    if flavor == "onnx":
        from skl2onnx import to_onnx

        return to_onnx(model, features[:1].astype(np.float32), options={"zipmap": False})
    return model


@pytest.mark.parametrize("flavor", ["xgboost", "lightgbm", "onnx"])
def test_other_flavors_are_served(flavor: str, tmp_path: Path) -> None:
    from shipyard.flavors import load_model, save_model

    features, labels = iris()
    rows = features.astype(np.float32) if flavor == "onnx" else features
    save_model(_flavor_model(flavor, rows, labels), tmp_path / "m", input_example=rows[:5])
    expected = load_model(tmp_path / "m").predict(rows[:6])
    app = create_serving_app([ModelSlot("m", "1", tmp_path / "m")])
    client = asgi_client(app)
    datatype = "FP32" if flavor == "onnx" else "FP64"
    response = client.post(
        "/v2/models/m/infer", json={"inputs": [_tensor(rows[:6], "x", datatype)]}
    )
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert client.get("/v2/models/m").json()["platform"] == f"shipyard-{flavor}"
    invoked = client.post("/invocations", json={"instances": rows[:6].tolist()}).json()
    if isinstance(expected, dict):
        assert set(outputs) == set(expected)
        for name, values in expected.items():
            assert np.allclose(np.asarray(outputs[name]["data"]), values.ravel(), atol=1e-5)
            assert np.allclose(np.asarray(invoked["predictions"][name]), values, atol=1e-5)
    else:
        assert np.allclose(np.asarray(outputs["predict"]["data"]), expected.ravel())
        assert np.allclose(np.asarray(invoked["predictions"]), expected)
    bad = client.post("/invocations", json={"instances": [[1.0, 2.0]]})
    assert bad.status_code == 400
    assert "expected 4 input columns, got 2" in bad.json()["message"]
    app.state.serving.close()
