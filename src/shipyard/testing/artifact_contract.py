"""The contract suite every :class:`~shipyard.artifacts.ArtifactStore` backend must pass.

Subclass :class:`ArtifactStoreContract` in a test module (name it ``Test...``), supply the store
under test as the ``artifacts`` fixture and implement :meth:`~ArtifactStoreContract.corrupt`::

    class TestLocalArtifactStore(ArtifactStoreContract):
        @pytest.fixture
        def artifacts(self, tmp_path: Path) -> ArtifactStore:
            return LocalArtifactStore(tmp_path / "store")

        def corrupt(self, artifacts: ArtifactStore, sha256: str) -> None:
            ...  # overwrite the stored bytes behind the store's back
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shipyard.artifacts.base import CHUNK_SIZE, ArtifactStore, BlobInfo
from shipyard.errors import IntegrityError, InvalidArgument, NotFound

SIZES = [0, 1, 1000, CHUNK_SIZE, 5 * CHUNK_SIZE + 7]
MALFORMED = [
    "",
    "abc",
    "0" * 63,
    "0" * 65,
    "A" * 64,
    "g" * 64,
    "../" + "0" * 61,
    "/etc/passwd",
    "00/" + "0" * 61,
    "0" * 64 + "\n",
    "0" * 62 + "/.",
]


def make_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random content of ``size`` bytes."""
    return random.Random(seed).randbytes(size)


def sha256_of(data: bytes) -> str:
    """The blob address of ``data``."""
    return hashlib.sha256(data).hexdigest()


def in_chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """``data`` cut into chunks of ``size`` bytes."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


class ArtifactStoreContract:
    """Behaviour shared by every artifact store (see ``shipyard.artifacts.base``)."""

    @pytest.fixture
    def artifacts(self) -> ArtifactStore:
        """The store under test (an empty one per test); subclasses override this fixture."""
        raise NotImplementedError("subclasses supply the `artifacts` fixture")

    def corrupt(self, artifacts: ArtifactStore, sha256: str) -> None:
        """Replace the stored bytes of blob ``sha256`` with other bytes, behind the store's back."""
        raise NotImplementedError("subclasses implement corrupt()")

    def assert_holds(self, artifacts: ArtifactStore, data: bytes, dest: Path) -> None:
        """Check every way of reading ``data`` back."""
        sha = sha256_of(data)
        assert artifacts.exists(sha)
        assert artifacts.size(sha) == len(data)
        chunks = list(artifacts.open(sha))
        assert b"".join(chunks) == data
        assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks)
        assert artifacts.download(sha, dest) == BlobInfo(sha, len(data))
        assert dest.read_bytes() == data

    def test_is_an_artifact_store(self, artifacts: ArtifactStore) -> None:
        assert isinstance(artifacts, ArtifactStore)

    @pytest.mark.parametrize("size", SIZES)
    def test_put_stream_round_trip(
        self, artifacts: ArtifactStore, tmp_path: Path, size: int
    ) -> None:
        data = make_bytes(size, seed=size)
        info = artifacts.put_stream(in_chunks(data))
        assert info == BlobInfo(sha256_of(data), size)
        self.assert_holds(artifacts, data, tmp_path / "out" / "blob.bin")

    @pytest.mark.parametrize("size", SIZES)
    def test_put_file_round_trip(self, artifacts: ArtifactStore, tmp_path: Path, size: int) -> None:
        data = make_bytes(size, seed=size + 1)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        assert artifacts.put_file(src) == BlobInfo(sha256_of(data), size)
        self.assert_holds(artifacts, data, tmp_path / "out.bin")

    def test_put_stream_takes_uneven_and_empty_chunks(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        data = make_bytes(3 * CHUNK_SIZE + 11)
        cuts = [0, 0, 5, 5, CHUNK_SIZE + 3, 2 * CHUNK_SIZE + 3, len(data), len(data)]
        pieces = [data[a:b] for a, b in itertools.pairwise(cuts)]
        assert artifacts.put_stream(pieces).sha256 == sha256_of(data)
        self.assert_holds(artifacts, data, tmp_path / "out.bin")

    def test_identical_content_is_stored_once(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        data = make_bytes(CHUNK_SIZE + 5, seed=7)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        before = artifacts.stored_bytes()
        first = artifacts.put_file(src)
        assert artifacts.stored_bytes() == before + len(data)
        assert artifacts.put_stream(in_chunks(data)) == first
        assert artifacts.put_file(src) == first
        assert artifacts.stored_bytes() == before + len(data)

    def test_stored_bytes_adds_up_distinct_blobs(self, artifacts: ArtifactStore) -> None:
        assert artifacts.stored_bytes() == 0
        sizes = [10, 2000, CHUNK_SIZE + 1]
        for seed, size in enumerate(sizes):
            artifacts.put_stream([make_bytes(size, seed=100 + seed)])
        assert artifacts.stored_bytes() == sum(sizes)

    def test_put_stream_accepts_the_right_expected_sha256(self, artifacts: ArtifactStore) -> None:
        data = make_bytes(4096)
        info = artifacts.put_stream(in_chunks(data), expected_sha256=sha256_of(data))
        assert info == BlobInfo(sha256_of(data), len(data))
        assert artifacts.exists(info.sha256)

    def test_put_stream_with_wrong_expected_sha256_stores_nothing(
        self, artifacts: ArtifactStore
    ) -> None:
        data = make_bytes(2 * CHUNK_SIZE + 1)
        claimed = sha256_of(b"something else")
        with pytest.raises(IntegrityError, match=claimed):
            artifacts.put_stream(in_chunks(data), expected_sha256=claimed)
        assert not artifacts.exists(sha256_of(data))
        assert not artifacts.exists(claimed)
        assert artifacts.stored_bytes() == 0

    def test_interrupted_stream_stores_nothing(self, artifacts: ArtifactStore) -> None:
        data = make_bytes(2 * CHUNK_SIZE)

        def broken() -> Iterator[bytes]:
            yield data[:CHUNK_SIZE]
            raise ConnectionResetError("client went away")

        with pytest.raises(ConnectionResetError):
            artifacts.put_stream(broken())
        assert not artifacts.exists(sha256_of(data[:CHUNK_SIZE]))
        assert artifacts.stored_bytes() == 0

    def test_missing_blob_raises_not_found_naming_it(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        sha = sha256_of(b"never stored")
        dest = tmp_path / "out.bin"
        assert not artifacts.exists(sha)
        with pytest.raises(NotFound, match=sha):
            artifacts.size(sha)
        with pytest.raises(NotFound, match=sha):
            artifacts.open(sha)
        with pytest.raises(NotFound, match=sha):
            artifacts.download(sha, dest)
        assert not dest.exists()

    def test_put_file_of_a_missing_file_raises_not_found(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        with pytest.raises(NotFound, match=r"nope\.bin"):
            artifacts.put_file(tmp_path / "nope.bin")

    def test_download_detects_corruption_and_leaves_nothing(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        data = make_bytes(CHUNK_SIZE + 99)
        sha = artifacts.put_stream([data]).sha256
        self.corrupt(artifacts, sha)
        out = tmp_path / "out"
        with pytest.raises(IntegrityError, match=sha):
            artifacts.download(sha, out / "model.bin")
        assert not (out / "model.bin").exists()
        assert list(out.iterdir()) == []  # no partial or temporary file either

    def test_open_detects_corruption_at_the_end(self, artifacts: ArtifactStore) -> None:
        sha = artifacts.put_stream([make_bytes(1000)]).sha256
        self.corrupt(artifacts, sha)
        with pytest.raises(IntegrityError, match=sha):
            b"".join(artifacts.open(sha))

    def test_download_creates_folders_and_replaces_a_file(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        data = make_bytes(5000)
        sha = artifacts.put_stream([data]).sha256
        dest = tmp_path / "a" / "b" / "model.bin"
        artifacts.download(sha, dest)
        dest.write_bytes(b"stale")
        artifacts.download(sha, dest)
        assert dest.read_bytes() == data
        assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]

    def test_open_can_stop_early(self, artifacts: ArtifactStore) -> None:
        data = make_bytes(3 * CHUNK_SIZE)
        sha = artifacts.put_stream([data]).sha256
        stream = artifacts.open(sha)
        assert next(stream) == data[:CHUNK_SIZE]
        del stream  # abandoning the stream must release it quietly (warnings are errors here)
        unread = artifacts.open(sha)
        del unread
        assert artifacts.size(sha) == len(data)

    def test_concurrent_puts_of_the_same_content_leave_one_good_blob(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        data = make_bytes(3 * CHUNK_SIZE + 17, seed=42)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        workers = 6
        start = threading.Barrier(workers)

        def put(i: int) -> BlobInfo:
            start.wait()
            return artifacts.put_file(src) if i % 2 else artifacts.put_stream(in_chunks(data))

        with ThreadPoolExecutor(workers) as pool:
            infos = set(pool.map(put, range(workers)))
        assert infos == {BlobInfo(sha256_of(data), len(data))}
        assert artifacts.stored_bytes() == len(data)
        self.assert_holds(artifacts, data, tmp_path / "out.bin")

    @pytest.mark.parametrize("address", MALFORMED)
    def test_malformed_addresses_are_refused(
        self, artifacts: ArtifactStore, tmp_path: Path, address: str
    ) -> None:
        dest = tmp_path / "out.bin"
        with pytest.raises(InvalidArgument, match="malformed artifact address"):
            artifacts.exists(address)
        with pytest.raises(InvalidArgument):
            artifacts.size(address)
        with pytest.raises(InvalidArgument):
            artifacts.open(address)
        with pytest.raises(InvalidArgument):
            artifacts.download(address, dest)
        with pytest.raises(InvalidArgument):
            artifacts.put_stream([b"data"], expected_sha256=address)
        assert not dest.exists()
        assert artifacts.stored_bytes() == 0
