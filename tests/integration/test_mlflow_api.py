"""The MLflow-compatible REST API in-process (ASGI client) over SQLite and PostgreSQL: wire
conventions, errors, the ``/ajax-api`` mirror, artifact path checks, and bad input (never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(params=["sqlite", "postgresql"])
def client(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    if request.param == "sqlite":
        uri = f"sqlite:///{(tmp_path / 's.db').as_posix()}"
    else:
        uri = str(request.getfixturevalue("pg_url"))
    store = SqlRunStore.from_uri(uri, auto_create=True)
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"))
    with asgi_client(app) as http:
        yield http
    store.close()


def _run(client: httpx.Client, experiment: str = "wire") -> tuple[str, str]:
    created = client.post(f"{API}/experiments/create", json={"name": experiment})
    exp_id = created.json()["experiment_id"]
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp_id, "start_time": "5"})
    return exp_id, run.json()["run"]["info"]["run_id"]


def test_wire_conventions(client: httpx.Client) -> None:
    exp_id, run_id = _run(client)
    points = [
        {"key": "m", "value": "NaN", "timestamp": "10", "step": "0"},
        {"key": "m", "value": "Infinity", "timestamp": 11, "step": 1},
        {"key": "m", "value": -1.5, "timestamp": 12},
    ]
    batch = {"run_id": run_id, "metrics": points, "params": [{"key": "p", "value": "1"}]}
    assert client.post(f"{API}/runs/log-batch", json=batch).json() == {}
    history = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    values = [p["value"] for p in history.json()["metrics"]]
    assert sorted(map(str, values)) == sorted(["NaN", "Infinity", "-1.5"])
    info = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["info"]
    assert (info["experiment_id"], info["start_time"], info["status"]) == (exp_id, 5, "RUNNING")
    assert "end_time" not in info
    mirror = client.get("/ajax-api/2.0/mlflow/runs/get", params={"run_uuid": run_id})
    assert mirror.json()["run"]["info"]["run_id"] == run_id
    none = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "x"})
    assert none.json() == {"metrics": []}


def test_errors_use_mlflow_codes(client: httpx.Client) -> None:
    _run(client, "dup")
    duplicate = client.post(f"{API}/experiments/create", json={"name": "dup"})
    assert duplicate.status_code == 400
    assert duplicate.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    missing = client.get(f"{API}/runs/get", params={"run_id": "f" * 32})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_exp = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
    assert (no_exp.status_code, no_exp.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_artifact_proxy_round_trip_and_traversal(client: httpx.Client) -> None:
    exp_id, run_id = _run(client, "files")
    base = f"{PROXY}/{exp_id}/{run_id}/artifacts"
    assert client.put(f"{base}/dir/a.txt", content=b"hello").json() == {}
    assert client.get(f"{base}/dir/a.txt").content == b"hello"
    listing = client.get(PROXY, params={"path": f"{exp_id}/{run_id}/artifacts"}).json()
    assert listing == {"files": [{"path": "dir", "is_dir": True}]}
    for bad in ("../../etc/passwd", "dir/../../x", "%2e%2e/%2e%2e/x"):
        response = client.put(f"{base}/{bad}", content=b"x")
        assert response.status_code in (400, 404), bad
        assert "error_code" in response.json()
    outside = client.get(PROXY, params={"path": "../../etc"})
    assert outside.status_code in (400, 404)


BAD_REQUESTS = [
    ("POST", "/runs/create", b"{not json"),
    ("POST", "/runs/create", b"[1, 2]"),
    ("POST", "/runs/create", {"experiment_id": "abc"}),
    ("POST", "/runs/create", {"experiment_id": "-1"}),
    ("POST", "/runs/create", {"experiment_id": "0", "tags": "x"}),
    ("POST", "/runs/create", {"experiment_id": "0", "tags": [{"value": "no key"}]}),
    ("POST", "/runs/create", {"experiment_id": "0", "start_time": "soon"}),
    ("POST", "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": "high"}),
    ("POST", "/runs/log-metric", {"run_id": "RUN", "key": "m"}),
    ("POST", "/runs/log-metric", {"run_id": "RUN", "key": "bad key!", "value": 1}),
    ("POST", "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1, "step": "x"}),
    ("POST", "/runs/log-batch", {"run_id": "RUN", "metrics": ["x"]}),
    ("POST", "/runs/log-batch", {"run_id": "RUN", "params": [{"key": "p", "value": "1"}] * 101}),
    ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "p", "value": {"a": 1}}),
    ("POST", "/runs/update", {"run_id": "RUN", "status": "DONE"}),
    ("POST", "/runs/update", {"run_id": "not-a-run"}),
    ("POST", "/runs/set-tag", {"run_id": "RUN"}),
    ("POST", "/runs/search", {"experiment_ids": ["EXP"], "filter": "metrics.acc >>> 1"}),
    ("POST", "/runs/search", {"experiment_ids": ["EXP"], "page_token": "garbage"}),
    ("POST", "/runs/search", {"experiment_ids": ["EXP"], "max_results": 10**9}),
    ("POST", "/runs/search", {"experiment_ids": ["EXP"], "run_view_type": "SOME"}),
    ("POST", "/runs/search", {"experiment_ids": ["EXP"], "order_by": ["nonsense field"]}),
    (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "attributes.artifact_uri = 'x'"},
    ),
    ("POST", "/runs/log-model", {"run_id": "RUN", "model_json": "{"}),
    ("POST", "/experiments/create", {"name": "/Users/me/exp"}),
    ("POST", "/experiments/create", {"name": ""}),
    ("POST", "/experiments/search", {"filter": "drop table"}),
    ("POST", "/experiments/search", {"order_by": ["nothing"]}),
    ("POST", "/experiments/update", {"experiment_id": "EXP", "new_name": "bad/name"}),
    ("GET", "/experiments/get", {"experiment_id": "1e9"}),
    ("POST", "/logged-models", {"experiment_id": "EXP", "source_run_id": "f" * 32}),
    ("POST", "/logged-models/search", {"experiment_ids": ["EXP"], "filter": "metrics.x > 1"}),
    ("GET", "/logged-models/m-nope", None),
    ("POST", "/registered-models/create", {"name": "bad name!"}),
    ("POST", "/model-versions/create", {"name": "nope", "source": "s3://bucket/x"}),
    ("GET", "/model-versions/get", {"name": "nope", "version": "x"}),
    ("POST", "/model-versions/transition-stage", {"name": "nope", "version": 1, "stage": "P"}),
    ("GET", "/registered-models/search", {"filter": "tags.x >= 'y'"}),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_bad_input_is_a_clean_mlflow_error(
    client: httpx.Client, method: str, path: str, body: object
) -> None:
    exp_id, run_id = _run(client, "bad")
    if isinstance(body, dict):
        text = str(body).replace("RUN", run_id).replace("EXP", exp_id)
        body = eval(text)
    if method == "GET":
        response = client.get(f"{API}{path}", params=body if isinstance(body, dict) else None)
    elif isinstance(body, bytes):
        response = client.request(method, f"{API}{path}", content=body)
    else:
        response = client.request(method, f"{API}{path}", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error_code"] in (
        "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS",
    ), response.text  # fmt: skip


def test_native_runs_appear_to_mlflow(tmp_path: Path) -> None:
    store = SqlRunStore.from_uri(f"sqlite:///{(tmp_path / 'n.db').as_posix()}", auto_create=True)
    run = store.create_run("native", name="sdk-run", params={"lr": 0.1, "n": 3, "bn": True})
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"))
    try:
        with asgi_client(app) as http:
            exp = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "native"})
            exp_id = exp.json()["experiment"]["experiment_id"]
            found = http.post(f"{API}/runs/search", json={"experiment_ids": [exp_id]}).json()
            listed = http.post(f"{API}/experiments/search", json={}).json()["experiments"]
    finally:
        store.close()
    (got,) = found["runs"]
    assert got["info"]["run_id"] == run.id
    assert got["info"]["run_name"] == "sdk-run"
    params = {p["key"]: p["value"] for p in got["data"]["params"]}
    assert params == {"lr": "0.1", "n": "3", "bn": "True"}
    assert "native" in [e["name"] for e in listed]


def test_artifact_uploads_are_streamed_past_the_body_limit(tmp_path: Path) -> None:
    store = SqlRunStore.from_uri(f"sqlite:///{(tmp_path / 'b.db').as_posix()}", auto_create=True)
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"), max_body_bytes=1024)
    data = bytes(range(256)) * 64  # 16 KiB, over the 1 KiB JSON body limit
    try:
        with asgi_client(app) as http:
            exp_id, run_id = _run(http, "big")
            url = f"{PROXY}/{exp_id}/{run_id}/artifacts/model.bin"
            assert http.put(url, content=data).status_code == 200
            assert http.get(url).content == data
            too_big = http.post(f"{API}/runs/log-parameter", content=b"x" * 2048)
            assert too_big.status_code == 413
    finally:
        store.close()
