"""The hub's model pages served by the app in-process: the list, a model's version history and
aliases, a version's lineage (run, params, metrics, commit, datasets) and signature, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts import open_artifact_store
from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.entities import RunInput
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

SIGNATURE = {
    "inputs": [{"name": "sepal_length", "dtype": "float64", "shape": None}],
    "outputs": [{"name": None, "dtype": "int64", "shape": [-1]}],
}
XSS = "<script>alert(1)</script>"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlRunStore]:
    opened = SqlRunStore.from_uri(f"sqlite:///{tmp_path / 's.db'}", auto_create=True)
    yield opened
    opened.close()


@pytest.fixture
def client(store: SqlRunStore, tmp_path: Path) -> Iterator[httpx.Client]:
    with asgi_client(create_app(store, open_artifact_store(str(tmp_path / "a")))) as http:
        yield http


def test_empty_hub_explains_how_to_register(client: httpx.Client) -> None:
    page = client.get("/models")
    assert page.status_code == 200
    assert "No registered models yet" in page.text
    assert 'id="nav-models"' in page.text


def test_pages_show_versions_aliases_and_lineage(store: SqlRunStore, client: httpx.Client) -> None:
    run = store.create_run(
        "iris", name="baseline", params={"C": 0.5}, tags={"shipyard.git.commit": "abc123"}
    )
    store.ingest(run.id, IngestBatch("b1", {"acc": MetricColumns([0], [1], [0.97])}))
    store.add_run_inputs(run.id, [RunInput("dataset", "iris-csv", "3")])
    store.create_registered_model("iris-clf", project="iris", description=XSS)
    store.create_model_version(
        "iris-clf", run_id=run.id, source="models/clf", flavor="sklearn", signature=SIGNATURE
    )
    store.create_model_version("iris-clf", run_id=None, source="models/clf", flavor="onnx")
    store.set_model_alias("iris-clf", "champion", 1)

    listing = client.get("/models").text
    assert 'data-model="iris-clf"' in listing
    assert "champion → v1" in listing
    assert XSS not in listing
    assert "&lt;script&gt;" in listing

    model = client.get("/models/iris-clf")
    assert model.status_code == 200
    assert model.text.count("<tr data-version=") == 2
    assert f'href="/runs/{run.id}"' in model.text
    assert "models:/iris-clf@champion" in model.text

    version = client.get("/models/iris-clf/versions/1").text
    assert f'href="/runs/{run.id}"' in version
    assert "abc123" in version
    assert 'href="/datasets/iris-csv/versions/3"' in version
    assert "0.97" in version
    assert "sepal_length" in version
    assert client.get("/models/iris-clf/versions/latest").text.count("No signature") == 1


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/models/nope", 404, "&#39;nope&#39;"),
        ("/models/iris-clf/versions/7", 404, "no version 7"),
        ("/models/iris-clf/versions/x", 400, "invalid model version"),
    ],
)
def test_error_pages(
    store: SqlRunStore, client: httpx.Client, path: str, status: int, text: str
) -> None:
    store.create_registered_model("iris-clf", project="iris")
    page = client.get(path)
    assert page.status_code == status
    assert text in page.text
