"""The SDK's collaboration methods (``Run.set_notes`` and the ``Client``'s tags, notes and
comments) on the embedded store and against a real server process."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard
from conftest import free_port, wait_for_port
from shipyard import Client, Settings
from shipyard.domain.collab import MAX_NOTES_BYTES
from shipyard.domain.datasets import ManifestEntry
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store.sql.store import SqlRunStore


def _settings(home: Path, tracking_uri: str | None = None) -> Settings:
    return Settings(
        home=home, tracking_uri=tracking_uri, user="ada", system_metrics_interval=0, capture=False
    )


def _seed_dataset(settings: Settings) -> None:
    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    try:
        sha = hashlib.sha256(b"x").hexdigest()
        store.create_dataset_version("iris-data", [ManifestEntry("a.csv", 1, sha)])
    finally:
        store.close()


@pytest.fixture
def embedded(tmp_path: Path) -> Settings:
    settings = _settings(tmp_path / "home")
    _seed_dataset(settings)
    return settings


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at ``shipyard server`` over a home holding ``iris-data``."""
    served = _settings(tmp_path / "served")
    _seed_dataset(served)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(served.home)
    argv = [sys.executable, "-m", "shipyard.cli", "server", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=60)
        yield _settings(tmp_path / "client", f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("where", ["embedded", "remote"])
def test_notes_tags_and_comments_through_the_sdk(
    where: str, request: pytest.FixtureRequest
) -> None:
    settings: Settings = request.getfixturevalue(where)
    author = "ada" if where == "embedded" else "local"  # a server records its own caller
    with shipyard.start_run(project="iris", name="rf-1", settings=settings) as run:
        run.set_notes("# Why\nTrying depth 8.")
        with pytest.raises(InvalidArgument, match="64 KiB"):
            run.set_notes("x" * (MAX_NOTES_BYTES + 1))
    with Client(settings=settings) as client:
        assert client.get_run(run.id).notes == "# Why\nTrying depth 8."
        client.set_run_tags(run.id, {"stage": "tuning"})
        client.delete_run_tag(run.id, "stage")
        assert "stage" not in client.get_run(run.id).tags

        comment = client.add_comment(run.id, "Looks **good**")
        assert comment.author == author
        edited = client.edit_comment(run.id, comment.id, "Looks great")
        assert [c.body for c in client.list_comments(run.id)] == ["Looks great"]
        assert edited.created_at == comment.created_at
        client.delete_comment(run.id, comment.id)
        assert client.list_comments(run.id) == []

        client.update_project("iris", notes="plan", description="Fisher's iris")
        client.set_project_tag("iris", "team", "tabular")
        found = client.project_annotations("iris")
        assert (found.notes, found.description, dict(found.tags)) == (
            "plan",
            "Fisher's iris",
            {"team": "tabular"},
        )
        client.delete_project_tag("iris", "team")

        client.set_dataset_notes("iris-data", "150 flowers")
        client.set_dataset_tag("iris-data", "license", "CC-BY-4.0")
        data = client.dataset_annotations("iris-data")
        assert (data.notes, dict(data.tags)) == ("150 flowers", {"license": "CC-BY-4.0"})
        client.delete_dataset_tag("iris-data", "license")
        with pytest.raises(NotFound, match="license"):
            client.delete_dataset_tag("iris-data", "license")
