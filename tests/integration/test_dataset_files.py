"""Writing dataset versions to disk safely (embedded SDK): resume, refusing foreign files and
folders that link outside, damaged blobs, and bad input to ``add_dataset``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard import Client, Settings
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.errors import IntegrityError, InvalidArgument, NotFound


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    settings = Settings(home=tmp_path / "home", system_metrics_interval=0)
    with Client(settings=settings) as opened:
        yield opened


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub" / "b.bin").write_bytes(os.urandom(2000))
    (root / "sub" / "same-as-a.txt").write_bytes(b"alpha")
    return root


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_single_file_is_a_dataset_of_one(client: Client, source: Path) -> None:
    version = client.add_dataset("one", source / "a.txt")
    assert [e.path for e in client.dataset_manifest("one")] == ["a.txt"]
    assert version.total_size == 5


def test_an_interrupted_get_resumes_and_repairs(
    client: Client, source: Path, tmp_path: Path
) -> None:
    client.add_dataset("d", source)
    dest = tmp_path / "dest"
    client.get_dataset("d", 1, dest)
    (dest / "sub" / "b.bin").write_bytes(b"damaged")
    (dest / "a.txt").unlink()
    (dest / "sub" / ".b.bin.0123456789ab.part").write_bytes(b"left over")
    client.get_dataset("d", 1, dest)
    assert files(dest) == files(source)


def test_a_folder_with_other_files_is_refused(client: Client, source: Path, tmp_path: Path) -> None:
    client.add_dataset("d", source)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(InvalidArgument, match=r"'mine\.txt'") as caught:
        client.get_dataset("d", 1, dest)
    assert caught.value.hint is not None
    assert "empty" in caught.value.hint
    assert files(dest) == {"mine.txt": b"keep me"}
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InvalidArgument, match="is a file"):
        client.get_dataset("d", 1, tmp_path / "a-file")


def test_a_link_inside_the_destination_cannot_lead_writes_outside(
    client: Client, source: Path, tmp_path: Path
) -> None:
    client.add_dataset("d", source)
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidArgument, match="leaves the folder"):
        client.get_dataset("d", 1, dest)
    assert list(outside.iterdir()) == []


def test_a_damaged_blob_is_caught_and_leaves_no_file(
    client: Client, source: Path, tmp_path: Path
) -> None:
    client.add_dataset("d", source)
    blobs = LocalArtifactStore(Path(client.settings.artifact_uri))
    sha = next(e.sha256 for e in client.dataset_manifest("d") if e.path == "sub/b.bin")
    blobs.blob_path(sha).chmod(0o644)
    blobs.blob_path(sha).write_bytes(b"bit rot")
    dest = tmp_path / "dest"
    with pytest.raises(IntegrityError, match=sha):
        client.get_dataset("d", 1, dest)
    assert not (dest / "sub" / "b.bin").exists()
    assert not list(dest.rglob("*.part"))


def test_bad_input_to_add_is_refused_before_anything_is_stored(
    client: Client, tmp_path: Path, source: Path
) -> None:
    blobs = LocalArtifactStore(Path(client.settings.artifact_uri))
    with pytest.raises(NotFound, match="no file or folder"):
        client.add_dataset("d", tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="has no files"):
        client.add_dataset("d", tmp_path / "empty")
    with pytest.raises(InvalidArgument, match="dataset name"):
        client.add_dataset("../escape", source)
    (source / "bad\\name.txt").write_text("backslash")
    with pytest.raises(InvalidArgument, match="path"):
        client.add_dataset("d", source)
    assert blobs.stored_bytes() == 0
    assert list(client.list_datasets()) == []


def test_unknown_datasets_and_versions_are_not_found(client: Client, source: Path) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        client.get_dataset("nope")
    client.add_dataset("d", source)
    with pytest.raises(NotFound, match="no version 5"):
        client.get_dataset("d", 5)
