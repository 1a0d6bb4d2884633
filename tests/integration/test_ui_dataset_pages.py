"""The hub's dataset pages served by the app in-process, on SQLite and PostgreSQL: what they list,
how runs are found for lineage (many runs, deleted runs), redirects and error pages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts import open_artifact_store
from shipyard.domain.datasets import ManifestEntry
from shipyard.domain.entities import RunInput
from shipyard.server.app import create_app
from shipyard.server.ui import datasets as pages
from shipyard.store.base import RunStore
from shipyard.store.datasets import DatasetStore
from shipyard.store.factory import open_store
from shipyard.testing.asgi import asgi_client

SHA = hashlib.sha256(b"x").hexdigest()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    """A fresh store on each SQL backend."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 's.db'}"
    else:
        uri = request.getfixturevalue("pg_url")
    opened = open_store(uri, auto_create=True)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(store: RunStore, tmp_path: Path) -> Iterator[httpx.Client]:
    """The app over ``store``, called in-process."""
    with asgi_client(create_app(store, open_artifact_store(str(tmp_path / "a")))) as http:
        yield http


def _datasets(store: RunStore) -> DatasetStore:
    assert isinstance(store, DatasetStore)
    return store


def _use(store: RunStore, run_id: str, version: int, direction: str = "input") -> None:
    store.add_run_inputs(run_id, [RunInput("dataset", "pets", str(version), direction)])


def test_empty_hub_explains_how_to_add_a_dataset(client: httpx.Client) -> None:
    page = client.get("/datasets")
    assert page.status_code == 200
    assert "No datasets yet" in page.text
    assert "shipyard datasets add" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_lineage_finds_runs_across_projects_and_keeps_gone_ones(
    store: RunStore, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "RUNS_PER_QUERY", 4)  # several lookups, with few runs
    monkeypatch.setattr(pages, "MAX_LINEAGE_ROWS", 10)
    _datasets(store).create_dataset_version("pets", [ManifestEntry("a.csv", 1, SHA)], "first")
    runs = [store.create_run(f"p{i % 3}", name=f"run-{i}") for i in range(13)]
    for run in runs:
        _use(store, run.id, 1)
    store.delete_run(runs[-1].id)
    found = pages.runs_by_id(store, {run.id for run in runs} | {"0" * 32})
    assert set(found) == {run.id for run in runs}
    assert found[runs[-1].id].deleted

    page = client.get("/datasets/pets")
    assert page.status_code == 200
    assert page.text.count('data-direction="input" data-version="1"') == 10
    assert f"The 10 most recent of {len(runs)} records" in page.text
    assert f'>run-{len(runs) - 1}</a> <span class="muted small">(deleted)' in page.text
    assert ">run-0<" not in page.text  # the oldest records are left out


def test_version_page_redirects_and_errors(store: RunStore, client: httpx.Client) -> None:
    datasets = _datasets(store)
    datasets.create_dataset_version("pets", [ManifestEntry("a.csv", 1, SHA)])
    datasets.create_dataset_version("pets", [ManifestEntry("b.csv", 1, SHA)], "v2 <b>bold</b>")
    run = store.create_run("vision", name="producer")
    _use(store, run.id, 2, "output")

    moved = client.get("/datasets/pets?version=1", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (303, "/datasets/pets/versions/1")
    latest = client.get("/datasets/pets/versions/latest")
    assert latest.status_code == 200
    assert 'class="tag-latest"' in latest.text
    assert "v2 &lt;b&gt;bold&lt;/b&gt;" in latest.text
    assert 'data-direction="output"' in latest.text
    assert '"manifestUrl": "/api/v1/datasets/pets/versions/2"' in latest.text
    first = client.get("/datasets/pets/versions/1")
    assert 'rel="next"' in first.text
    assert "No run has used or produced this version yet." in first.text

    for path, status in [
        ("/datasets/cats", 404),
        ("/datasets/pets/versions/3", 404),
        ("/datasets/pets/versions/0", 400),
        ("/datasets/pets?version=two", 400),
    ]:
        page = client.get(path)
        assert (page.status_code, page.headers["content-type"]) == (
            status,
            "text/html; charset=utf-8",
        )
        assert 'class="card empty-state error-state"' in page.text
