"""Blob packs: framing, incremental reading, and every blob checked against its sha256."""

from __future__ import annotations

import hashlib
import os

import pytest

from shipyard.api.packs import (
    HEADER,
    PackReader,
    coalesce,
    encode_pack,
    iter_frames,
    read_pack,
)
from shipyard.errors import IntegrityError, InvalidArgument


def blob(data: bytes) -> tuple[str, bytes]:
    return hashlib.sha256(data).hexdigest(), data


def test_a_pack_round_trips() -> None:
    blobs = [blob(b""), blob(b"x"), blob(os.urandom(70_000))]
    pack = encode_pack(blobs)
    assert len(pack) == 3 * HEADER.size + 70_001
    assert read_pack(pack) == blobs
    assert read_pack(b"") == []


def test_a_pack_read_in_small_chunks_gives_the_same_blobs() -> None:
    blobs = [blob(os.urandom(n)) for n in (5, 0, 1000, 37)]
    pack = encode_pack(blobs)
    reader = PackReader()
    got = []
    for start in range(0, len(pack), 7):
        got += reader.feed(pack[start : start + 7])
    reader.close()
    assert got == blobs


def test_a_streamed_pack_equals_the_encoded_one() -> None:
    blobs = [blob(b"abc"), blob(b"defg")]
    frames = iter_frames((sha, len(data), [data[:1], data[1:]]) for sha, data in blobs)
    assert b"".join(frames) == encode_pack(blobs)


def test_content_under_another_address_is_refused() -> None:
    sha, _ = blob(b"expected")
    with pytest.raises(IntegrityError, match=sha):
        read_pack(encode_pack([(sha, b"smuggled")]))


def test_a_truncated_pack_is_refused() -> None:
    pack = encode_pack([blob(b"hello")])
    with pytest.raises(InvalidArgument, match="ends inside a frame"):
        read_pack(pack[:-1])
    with pytest.raises(InvalidArgument, match="ends inside a frame"):
        read_pack(pack[:10])


def test_coalesce_joins_small_chunks_without_losing_bytes() -> None:
    chunks = [bytes([n]) * n for n in range(1, 40)]
    pieces = list(coalesce(chunks, size=100))
    assert b"".join(pieces) == b"".join(chunks)
    assert all(len(piece) >= 100 for piece in pieces[:-1])
    assert len(pieces) < len(chunks)
    assert list(coalesce([], size=100)) == []
