"""The artifact contract over every backend (local folder, S3 via a real moto server), plus the
backend-specific promises: on-disk/key layout, read-only blobs, multipart uploads, bounded memory,
and errors translated at the edge."""

from __future__ import annotations

import hashlib
import socket
import stat
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from shipyard.artifacts import ArtifactStore, open_artifact_store
from shipyard.artifacts.base import CHUNK_SIZE, BlobInfo
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.artifacts.s3 import S3ArtifactStore
from shipyard.errors import IntegrityError, InvalidArgument, NotFound, Unavailable
from shipyard.testing.artifact_contract import (
    ArtifactStoreContract,
    in_chunks,
    make_bytes,
    sha256_of,
)

MIB = 1024 * 1024
UPLOAD_CALLS = ("PutObject", "CreateMultipartUpload", "UploadPart")


# --- local folder -------------------------------------------------------------------------------


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifacts(self, tmp_path: Path) -> LocalArtifactStore:
        return LocalArtifactStore(tmp_path / "store")

    def corrupt(self, artifacts: ArtifactStore, sha256: str) -> None:
        assert isinstance(artifacts, LocalArtifactStore)
        path = artifacts.blob_path(sha256)
        path.chmod(0o644)
        path.write_bytes(b"tampered")


def test_local_layout_is_sharded_by_sha256_and_read_only(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    data = b"hello shipyard"
    sha = store.put_stream([data]).sha256
    path = tmp_path / "store" / "blobs" / "sha256" / sha[:2] / sha[2:]
    assert store.blob_path(sha) == path
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    data = make_bytes(CHUNK_SIZE + 1)
    store.put_stream(in_chunks(data))
    store.put_stream(in_chunks(data))  # duplicate: its temporary copy is dropped
    with pytest.raises(IntegrityError):
        store.put_stream([b"x"], expected_sha256=sha256_of(b"y"))
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
    assert store.stored_bytes() == len(data)


def test_local_store_refuses_a_file_as_its_root(tmp_path: Path) -> None:
    root = tmp_path / "taken"
    root.write_text("not a folder")
    with pytest.raises(InvalidArgument, match="taken"):
        LocalArtifactStore(root)


def test_put_file_of_a_folder_is_refused(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    with pytest.raises(InvalidArgument, match="folder"):
        store.put_file(tmp_path)


def test_local_put_file_memory_stays_bounded(tmp_path: Path) -> None:
    size = 200 * MIB
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:  # sparse: zeros that cost no disk writes to create
        fh.truncate(size)
    store = LocalArtifactStore(tmp_path / "store")
    tracemalloc.start()
    try:
        info = store.put_file(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    zeros = hashlib.sha256()
    for _ in range(size // MIB):
        zeros.update(bytes(MIB))
    assert info == BlobInfo(zeros.hexdigest(), size)
    assert peak < 8 * MIB, f"put_file of {size} bytes peaked at {peak} bytes of Python memory"


# --- S3 (moto server) ---------------------------------------------------------------------------


def _closed_port() -> int:
    """A loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raw_client() -> Any:
    return boto3.client("s3")  # endpoint and credentials come from the s3_env fixture


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifacts(self, s3_env: str) -> S3ArtifactStore:
        return S3ArtifactStore.from_uri(s3_env)

    def corrupt(self, artifacts: ArtifactStore, sha256: str) -> None:
        assert isinstance(artifacts, S3ArtifactStore)
        _raw_client().put_object(
            Bucket=artifacts.bucket,
            Key=artifacts.key(sha256),
            Body=b"tampered",
            Metadata={"sha256": sha256},
        )


def _count_uploads(client: Any) -> list[str]:
    """Record the upload calls the store's real client makes (a botocore event hook)."""
    calls: list[str] = []
    for name in UPLOAD_CALLS:
        client.meta.events.register(
            f"before-call.s3.{name}", lambda model, **_: calls.append(model.name)
        )
    return calls


@pytest.fixture
def s3_bucket(s3_env: str) -> str:
    return s3_env.removeprefix("s3://").split("/")[0]


def test_s3_layout_and_metadata(s3_env: str, s3_bucket: str) -> None:
    store = S3ArtifactStore.from_uri(s3_env)
    sha = store.put_stream([b"hello shipyard"]).sha256
    key = f"artifacts/blobs/sha256/{sha[:2]}/{sha[2:]}"
    assert store.key(sha) == key
    head = _raw_client().head_object(Bucket=s3_bucket, Key=key)
    assert head["Metadata"] == {"sha256": sha}
    assert head["ContentLength"] == len(b"hello shipyard")


def test_s3_store_at_the_bucket_root(s3_bucket: str) -> None:
    store = open_artifact_store(f"s3://{s3_bucket}")
    assert isinstance(store, S3ArtifactStore)
    sha = store.put_stream([b"root"]).sha256
    keys = [o["Key"] for o in _raw_client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == [f"blobs/sha256/{sha[:2]}/{sha[2:]}"]


def test_s3_put_file_uploads_big_files_in_parts_and_only_once(
    s3_bucket: str, tmp_path: Path
) -> None:
    client = _raw_client()
    small_parts = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    store = S3ArtifactStore(s3_bucket, "p", client, transfer_config=small_parts)
    calls = _count_uploads(client)
    data = make_bytes(11 * MIB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    info = store.put_file(src)
    assert calls.count("CreateMultipartUpload") == 1
    assert calls.count("UploadPart") == 3
    calls.clear()
    assert store.put_file(src) == info
    assert store.put_stream(in_chunks(data)) == info
    assert calls == []  # already stored: nothing sent again
    assert store.size(info.sha256) == len(data)


def test_s3_put_stream_mismatch_uploads_nothing_and_spools_nothing(
    s3_bucket: str, tmp_path: Path
) -> None:
    client = _raw_client()
    spool = tmp_path / "spool"
    spool.mkdir()
    store = S3ArtifactStore(s3_bucket, "p", client, spool_dir=spool)
    calls = _count_uploads(client)
    with pytest.raises(IntegrityError):
        store.put_stream(in_chunks(make_bytes(MIB)), expected_sha256=sha256_of(b"other"))
    assert calls == []
    store.put_stream([b"fine"])
    assert calls == ["PutObject"]
    assert list(spool.iterdir()) == []


def test_s3_missing_bucket_is_not_found_with_a_hint(s3_env: str, tmp_path: Path) -> None:
    store = S3ArtifactStore.from_uri("s3://no-such-bucket-here/x")
    src = tmp_path / "a.txt"
    src.write_text("a")
    for call in (lambda: store.put_file(src), lambda: store.exists(sha256_of(b"a"))):
        with pytest.raises(NotFound, match="no-such-bucket-here") as info:
            call()
        assert info.value.hint is not None
        assert "create" in info.value.hint
    with pytest.raises(NotFound, match="no-such-bucket-here"):
        store.stored_bytes()


def test_s3_unreachable_endpoint_is_unavailable(s3_env: str) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"  # nothing listens there
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2),
    )
    store = S3ArtifactStore("bucket", "p", client)
    with pytest.raises(Unavailable, match=r"127\.0\.0\.1") as info:
        store.exists(sha256_of(b"x"))
    assert info.value.hint is not None
    assert "endpoint" in info.value.hint
    with pytest.raises(Unavailable):
        store.put_stream([b"x"])


def test_s3_without_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` sees when not installed
    with pytest.raises(InvalidArgument, match="boto3") as info:
        open_artifact_store("s3://bucket/prefix")
    assert info.value.hint == "pip install 'shipyard[s3]'"


# --- open_artifact_store ------------------------------------------------------------------------


def test_open_a_plain_folder(tmp_path: Path) -> None:
    store = open_artifact_store(str(tmp_path / "a"))
    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path / "a"


def test_open_a_relative_folder(tmp_path: Path) -> None:
    store = open_artifact_store("rel/artifacts")  # the autouse fixture chdirs into tmp_path
    assert isinstance(store, LocalArtifactStore)
    sha = store.put_stream([b"x"]).sha256
    assert (tmp_path / "rel" / "artifacts" / "blobs" / "sha256" / sha[:2] / sha[2:]).is_file()


def test_open_a_file_uri(tmp_path: Path) -> None:
    store = open_artifact_store((tmp_path / "b").as_uri())
    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path / "b"


def test_open_s3_with_the_endpoint_from_the_environment(s3_env: str) -> None:
    store = open_artifact_store(s3_env)
    assert isinstance(store, S3ArtifactStore)
    assert (store.bucket, store.prefix) == (s3_env.split("/")[2], "artifacts")
    sha = store.put_stream([b"env"]).sha256
    assert store.exists(sha)


def test_open_s3_with_the_endpoint_in_the_uri(
    s3_env: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    store = open_artifact_store(f"{s3_env}/deeper/?endpoint_url={moto_endpoint}")
    assert isinstance(store, S3ArtifactStore)
    assert store.uri == f"{s3_env}/deeper"
    sha = store.put_stream([b"uri"]).sha256
    assert store.exists(sha)


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("gs://bucket/prefix", "unsupported artifact location"),
        ("s3:///prefix", "invalid S3 artifact location"),
        ("s3://bucket/p?region=eu-west-1", "unknown option"),
        ("s3://bucket/p?endpoint_url=not a url", "invalid S3 endpoint"),
    ],
)
def test_open_refuses_bad_locations(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment) as info:
        open_artifact_store(uri)
    assert info.value.hint
