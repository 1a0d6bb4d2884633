"""Datasets end to end through the SDK: embedded (local folder and S3 via moto), against a real
``python -m shipyard.server`` process, and against a server on S3 (in-process). One scenario runs
over the first three: dedupe (a changed file is the only new content stored), identical re-adds,
exact restores, lineage and the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import shipyard
from conftest import free_port, wait_for_port
from shipyard import Client, Settings
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.artifacts.s3 import S3ArtifactStore
from shipyard.domain.datasets import DatasetUsage
from shipyard.domain.entities import RunInput
from shipyard.errors import NotFound
from shipyard.sdk._datasets import add_dataset, materialize, open_datasets
from shipyard.sdk._http import HttpBackend
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

MIB = 1024 * 1024
StoredBytes = Callable[[], int]


def make_tree(root: Path) -> dict[str, bytes]:
    """A small dataset: a duplicate, an empty file, nested folders and one file big enough to be
    sent alone (not in a pack) over HTTP."""
    shared = os.urandom(10_000)
    tree = {
        "a.csv": shared,
        "b/c.bin": os.urandom(5_000),
        "b/d/copy-of-a.csv": shared,
        "e/empty.txt": b"",
        "big.bin": os.urandom(MIB + 500_000),
    }
    for path, data in tree.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return tree


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def run_scenario(settings: Settings, stored_bytes: StoredBytes, tmp_path: Path) -> None:
    src = tmp_path / "src"
    tree = make_tree(src)
    with Client(settings=settings) as client:
        start = stored_bytes()
        v1 = client.add_dataset("corpus", src, "first cut")
        assert (v1.version, v1.file_count) == (1, 5)
        assert v1.total_size == sum(len(data) for data in tree.values())
        assert stored_bytes() - start == sum(len(data) for data in set(tree.values()))

        after_v1 = stored_bytes()
        assert client.add_dataset("corpus", src, "nothing changed") == v1
        assert stored_bytes() == after_v1

        changed = os.urandom(3_000)
        (src / "b" / "c.bin").write_bytes(changed)
        v2 = client.add_dataset("corpus", src, "new c.bin")
        assert v2.version == 2
        assert stored_bytes() - after_v1 == len(changed)

        restored = client.get_dataset("corpus", 1, tmp_path / "restored-v1")
        assert read_tree(restored) == tree
        assert read_tree(client.get_dataset("corpus", None, tmp_path / "v2")) == read_tree(src)
        assert [v.version for v in client.dataset_versions("corpus")] == [1, 2]
        assert [d.name for d in client.list_datasets()] == ["corpus"]
    check_lineage(settings, tree, v1.digest)


def check_lineage(settings: Settings, tree: dict[str, bytes], v1_digest: str) -> None:
    with shipyard.start_run(project="p", settings=settings) as run:
        data = run.use_dataset("corpus", 1)
        assert read_tree(data) == tree
        derived = run.log_dataset("corpus-b", data / "b", "the b folder")
    assert data == (settings.home / "datasets" / "corpus" / "1").absolute()
    with Client(settings=settings) as client:
        assert list(client.dataset_lineage("corpus")) == [DatasetUsage(run.id, "input", 1)]
        assert list(client.dataset_lineage("corpus", 2)) == []
        assert list(client.dataset_lineage("corpus-b")) == [DatasetUsage(run.id, "output", 1)]
        inputs = list(client.backend.store.list_run_inputs(run.id))
    assert RunInput("dataset", "corpus", "1", "input", v1_digest) in inputs
    assert RunInput("dataset", "corpus-b", "1", "output", derived.digest) in inputs


def _embedded(tmp_path: Path, artifacts: str | None = None) -> Settings:
    return Settings(home=tmp_path / "home", artifacts=artifacts, system_metrics_interval=0)


# -- embedded, local folder ----------------------------------------------------------------------


def test_embedded_local(tmp_path: Path) -> None:
    settings = _embedded(tmp_path)
    blobs = LocalArtifactStore(Path(settings.artifact_uri))
    run_scenario(settings, blobs.stored_bytes, tmp_path)


def test_use_dataset_reuses_a_complete_cache_and_repairs_a_broken_one(tmp_path: Path) -> None:
    settings = _embedded(tmp_path)
    tree = make_tree(tmp_path / "src")
    with Client(settings=settings) as client:
        client.add_dataset("corpus", tmp_path / "src")
        cached = client.get_dataset("corpus")
    assert read_tree(cached) == tree
    blobs = LocalArtifactStore(Path(settings.artifact_uri))
    saved = {path: blobs.blob_path(path).read_bytes() for path in _blob_addresses(blobs)}
    for sha in saved:  # take the bytes away: only the cache can serve the dataset now
        blobs.blob_path(sha).unlink()
    with shipyard.start_run(project="p", settings=settings) as run:
        assert read_tree(run.use_dataset("corpus")) == tree
    (cached / "a.csv").unlink()  # a broken cache is noticed and downloaded again
    with pytest.raises(NotFound, match="not found"):
        Client(settings=settings).get_dataset("corpus")
    for sha, data in saved.items():
        blobs.put_stream([data], sha)
    assert read_tree(Client(settings=settings).get_dataset("corpus")) == tree


def _blob_addresses(blobs: LocalArtifactStore) -> list[str]:
    root = blobs.root / "blobs" / "sha256"
    return [p.parent.name + p.name for p in root.glob("*/*")]


def test_pinned_versions_are_used_when_none_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.txt").write_text("one")
    with Client(settings=_embedded(tmp_path)) as client:
        client.add_dataset("d", src)
        (src / "x.txt").write_text("two")
        client.add_dataset("d", src)
    monkeypatch.setenv("SHIPYARD_DATASET_PINS", '{"d": 1}')
    pinned = Settings(home=tmp_path / "home", system_metrics_interval=0)
    assert pinned.dataset_pins == {"d": 1}
    with shipyard.start_run(project="p", settings=pinned) as run:
        assert (run.use_dataset("d") / "x.txt").read_text() == "one"
        assert (run.use_dataset("d", 2) / "x.txt").read_text() == "two"
    monkeypatch.delenv("SHIPYARD_DATASET_PINS")
    with shipyard.start_run(project="p", settings=_embedded(tmp_path)) as run:
        assert (run.use_dataset("d") / "x.txt").read_text() == "two"


# -- embedded, S3 ----------------------------------------------------------------------------------


def test_embedded_s3(tmp_path: Path, s3_env: str) -> None:
    settings = _embedded(tmp_path, artifacts=s3_env)
    run_scenario(settings, S3ArtifactStore.from_uri(s3_env).stored_bytes, tmp_path)


# -- a real server process -------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    artifacts = tmp_path / "server-artifacts"
    command = [sys.executable, "-m", "shipyard.server"]
    command += ["--store", f"sqlite:///{(tmp_path / 'server.db').as_posix()}"]
    command += ["--artifacts", str(artifacts), "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*command, "--log-level", "warning"], stdout=out, stderr=out)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}", artifacts
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_through_a_server_process(tmp_path: Path, server: tuple[str, Path]) -> None:
    url, artifacts = server
    settings = Settings(tracking_uri=url, home=tmp_path / "client", system_metrics_interval=0)
    blobs = LocalArtifactStore(artifacts)
    run_scenario(settings, blobs.stored_bytes, tmp_path)


def test_a_server_on_s3(tmp_path: Path, s3_env: str) -> None:
    """The server's side of the transfer (missing, packs, streamed big blobs) over S3."""
    s3 = S3ArtifactStore.from_uri(s3_env)
    sql = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/server.db", auto_create=True)
    http = asgi_client(create_app(sql, s3))
    backend = HttpBackend(Settings(tracking_uri="http://shipyard.test"), client=http)
    access = open_datasets(backend)
    try:
        tree = make_tree(tmp_path / "src")
        version = add_dataset(access, "corpus", tmp_path / "src", message="on s3")
        assert s3.stored_bytes() == sum(len(data) for data in set(tree.values()))
        assert add_dataset(access, "corpus", tmp_path / "src") == version
        materialize(access, version, tmp_path / "out")
        assert read_tree(tmp_path / "out") == tree
    finally:
        backend.close()
        http.close()
        sql.close()
