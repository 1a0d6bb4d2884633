"""Shipyard's own events reach the workflow daemon's queue: a model alias moved through the hub or
by ``shipyard.registry.promote``, and a new dataset version — recorded only while some workflow is
watched (an embedded store with no daemon keeps no backlog)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.registry import promote
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRunStore]:
    uri = (
        f"sqlite:///{tmp_path}/s.db"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    opened = SqlRunStore.from_uri(uri, auto_create=True)
    yield opened
    opened.close()


@pytest.fixture
def hub(store: SqlRunStore, tmp_path: Path) -> Iterator[httpx.Client]:
    with asgi_client(create_app(store, LocalArtifactStore(tmp_path / "a"))) as client:
        yield client


def events(store: SqlRunStore) -> list[tuple[str, dict[str, object]]]:
    found = [r for r in store.list_workflow_requests() if r.source.value == "event"]
    return [(str(r.event["kind"]), dict(r.event)) for r in reversed(found)]


def two_versions(store: SqlRunStore) -> None:
    run = store.create_run("iris")
    store.create_registered_model("iris-clf", project="iris")
    for _ in range(2):
        store.create_model_version("iris-clf", run_id=run.id, source="models/m", flavor="sklearn")


def new_dataset_version(hub: httpx.Client, content: bytes) -> httpx.Response:
    sha = hashlib.sha256(content).hexdigest()
    assert hub.put(f"/api/v1/blobs/{sha}", content=content).status_code in (200, 201, 204)
    files = [{"path": "data.csv", "size": len(content), "sha256": sha}]
    return hub.post("/api/v1/datasets/iris/versions", json={"entries": files})


def test_without_a_watched_workflow_no_event_is_recorded(
    store: SqlRunStore, hub: httpx.Client
) -> None:
    two_versions(store)
    assert hub.put("/api/v1/models/iris-clf/aliases/champion", json={"version": 1}).is_success
    promote(store, "iris-clf", 2, "champion")
    assert events(store) == []


def test_alias_moves_and_new_dataset_versions_are_recorded(
    store: SqlRunStore, hub: httpx.Client
) -> None:
    store.watch_workflow(repo_url="file:///repo", path=".shipyard/workflows/retrain.yml")
    two_versions(store)
    assert hub.put("/api/v1/models/iris-clf/aliases/champion", json={"version": 1}).is_success
    assert promote(store, "iris-clf", 2, "champion") == 1
    created = new_dataset_version(hub, b"a,b\n1,2\n")
    assert created.status_code == 201, created.text
    again = new_dataset_version(hub, b"a,b\n1,2\n")  # same files: the same version, no event
    assert again.json()["version"] == created.json()["version"]
    assert events(store) == [
        (
            "model_alias",
            {
                "kind": "model_alias",
                "name": "iris-clf",
                "alias": "champion",
                "version": 1,
                "previous": None,
            },
        ),
        (
            "model_alias",
            {
                "kind": "model_alias",
                "name": "iris-clf",
                "alias": "champion",
                "version": 2,
                "previous": 1,
            },
        ),
        ("dataset", {"kind": "dataset", "name": "iris", "version": 1}),
    ]
