"""The dataset and blob REST routes in-process: what clients other than the SDK see, including
tampered or truncated uploads and manifests that try to leave the dataset's folder."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.api import datasets as api
from shipyard.api.packs import encode_pack, read_pack
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def blobs(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def http(tmp_path: Path, blobs: LocalArtifactStore) -> Iterator[httpx.Client]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/shipyard.db", auto_create=True)
    client = asgi_client(create_app(store, blobs))
    yield client
    client.close()
    store.close()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["hint"]
    return body


def add_version(http: httpx.Client, name: str, files: dict[str, bytes]) -> httpx.Response:
    entries = [{"path": p, "size": len(d), "sha256": sha(d)} for p, d in files.items()]
    return http.post(f"/api/v1/datasets/{name}/versions", json={"entries": entries})


def test_missing_lists_each_unstored_blob_once_in_order(
    http: httpx.Client, blobs: LocalArtifactStore
) -> None:
    stored = blobs.put_stream([b"here"]).sha256
    asked = [sha(b"b"), stored, sha(b"a"), sha(b"b")]
    response = http.post(api.BLOBS_MISSING, json={"sha256s": asked})
    assert response.json() == {"missing": [sha(b"b"), sha(b"a")]}
    error(http.post(api.BLOBS_MISSING, json={"sha256s": ["nope"]}), 400)
    too_many = ["0" * 64] * (api.MAX_BLOBS_PER_REQUEST + 1)
    error(http.post(api.BLOBS_MISSING, json={"sha256s": too_many}), 400)


def test_a_pack_is_stored_and_fetched_back(http: httpx.Client, blobs: LocalArtifactStore) -> None:
    pack = encode_pack([(sha(d), d) for d in (b"one", b"two", b"")])
    response = http.post(api.BLOBS_PACK, content=pack, headers={"Content-Type": api.PACK})
    assert response.json() == {"blobs": 3, "bytes": 6}
    assert blobs.exists(sha(b"two"))
    fetched = http.post(api.BLOBS_FETCH, json={"sha256s": [sha(b"two"), sha(b""), sha(b"two")]})
    assert fetched.headers["content-type"] == api.PACK
    assert read_pack(fetched.content) == [(sha(b"two"), b"two"), (sha(b""), b"")]
    body = error(http.post(api.BLOBS_FETCH, json={"sha256s": [sha(b"never")]}), 404)
    assert sha(b"never") in body["message"]


def test_a_tampered_or_cut_pack_stores_nothing(
    http: httpx.Client, blobs: LocalArtifactStore
) -> None:
    lying = encode_pack([(sha(b"fine"), b"fine"), (sha(b"claimed"), b"smuggled")])
    body = error(http.post(api.BLOBS_PACK, content=lying), 422)
    assert body["code"] == "integrity_error"
    assert sha(b"claimed") in body["message"]
    cut = encode_pack([(sha(b"whole"), b"whole")])[:-2]
    assert error(http.post(api.BLOBS_PACK, content=cut), 400)["code"] == "invalid_argument"
    assert blobs.stored_bytes() == 0


def test_one_blob_up_and_down(http: httpx.Client, blobs: LocalArtifactStore) -> None:
    data = b"x" * 70_000
    put = http.put(f"/api/v1/blobs/{sha(data)}", content=data)
    assert put.json() == {"sha256": sha(data), "size": len(data)}
    got = http.get(f"/api/v1/blobs/{sha(data)}")
    assert got.content == data
    assert got.headers["x-shipyard-sha256"] == sha(data)
    wrong = error(http.put(f"/api/v1/blobs/{sha(b'other')}", content=data), 422)
    assert wrong["code"] == "integrity_error"
    error(http.get(f"/api/v1/blobs/{sha(b'absent')}"), 404)
    error(http.get(f"/api/v1/blobs/{'A' * 64}"), 400)
    error(http.get("/api/v1/blobs/..%2F..%2Fetc%2Fpasswd"), 404)  # no such route
    assert blobs.stored_bytes() == len(data)


def test_versions_over_rest(http: httpx.Client, blobs: LocalArtifactStore) -> None:
    for data in (b"1", b"22"):
        blobs.put_stream([data])
    created = add_version(http, "mnist", {"b/two": b"22", "one": b"1"})
    assert created.status_code == 201
    assert created.json()["version"] == 1
    latest = http.get("/api/v1/datasets/mnist/versions/latest").json()
    assert [f["path"] for f in latest["manifest"]] == ["b/two", "one"]
    bare = http.get("/api/v1/datasets/mnist/versions/1", params={"manifest": "false"}).json()
    assert bare["manifest"] is None
    assert bare["digest"] == latest["digest"] == created.json()["digest"]
    listed = http.get("/api/v1/datasets").json()["datasets"]
    assert [(d["name"], d["latest"]["version"]) for d in listed] == [("mnist", 1)]
    versions = http.get("/api/v1/datasets/mnist/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1]
    assert http.get("/api/v1/datasets/mnist/lineage").json() == {"name": "mnist", "usages": []}
    for bad in ("0", "x", "-1"):
        error(http.get(f"/api/v1/datasets/mnist/versions/{bad}"), 400)
    assert error(http.get("/api/v1/datasets/nope/versions/latest"), 404)["code"] == "not_found"


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "a\\..\\x", "a/./b", ""])
def test_manifest_paths_that_leave_the_dataset_are_refused(
    http: httpx.Client, blobs: LocalArtifactStore, path: str
) -> None:
    blobs.put_stream([b"1"])
    body = error(add_version(http, "d", {path: b"1"}), 400)
    assert body["code"] == "invalid_argument"
    assert "path" in body["message"]
    assert http.get("/api/v1/datasets").json() == {"datasets": []}


def test_bad_dataset_names_are_refused(http: httpx.Client, blobs: LocalArtifactStore) -> None:
    blobs.put_stream([b"1"])
    for name in ("-x", "a%20b", "%40x", "x" * 129):
        body = error(add_version(http, name, {"a": b"1"}), 400)
        assert "dataset name" in body["message"]
    assert http.get("/api/v1/datasets").json() == {"datasets": []}
