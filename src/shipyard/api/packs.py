"""Blob packs: many small blobs in one request or response body (no I/O here).

Sending 10,000 small files one request each costs 10,000 round trips; a pack carries hundreds.
A pack is a sequence of frames, each a 40-byte header followed by the blob's bytes::

    | sha256: 32 raw bytes | size: unsigned 64-bit big-endian | size bytes of content | ...

Readers check every blob against its sha256 (:func:`check_blob`), so a pack can neither smuggle
content under another address nor arrive damaged unnoticed.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator

from shipyard.errors import IntegrityError, InvalidArgument

HEADER = struct.Struct(">32sQ")
"""The frame header: raw sha256 and size."""


def frame_header(sha256: str, size: int) -> bytes:
    """The header of one frame.

    >>> len(frame_header("00" * 32, 5))
    40
    """
    return HEADER.pack(bytes.fromhex(sha256), size)


def encode_pack(blobs: Iterable[tuple[str, bytes]]) -> bytes:
    """A whole pack of ``(sha256, content)`` pairs (for bodies already known to be small)."""
    return b"".join(frame_header(sha, len(data)) + data for sha, data in blobs)


def check_blob(sha256: str, data: bytes) -> None:
    """Raise ``IntegrityError`` unless ``data`` hashes to ``sha256``."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise IntegrityError(
            f"blob {sha256} arrived with sha256 {actual} ({len(data)} bytes)",
            hint="the data changed or was cut short in transit; send it again",
        )


class PackReader:
    """Split a pack arriving in chunks into ``(sha256, content)`` pairs, checked by hash.

    Example::

        reader = PackReader()
        for chunk in response.iter_bytes():
            for sha256, data in reader.feed(chunk):
                ...
        reader.close()
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """Add bytes; return the blobs completed by them (each verified)."""
        self._buffer += chunk
        done: list[tuple[str, bytes]] = []
        offset = 0
        while len(self._buffer) - offset >= HEADER.size:
            raw, size = HEADER.unpack_from(self._buffer, offset)
            end = offset + HEADER.size + size
            if len(self._buffer) < end:
                break
            sha256 = raw.hex()
            data = bytes(self._buffer[offset + HEADER.size : end])
            check_blob(sha256, data)
            done.append((sha256, data))
            offset = end
        del self._buffer[:offset]
        return done

    def close(self) -> None:
        """Raise ``InvalidArgument`` if the pack ended inside a frame."""
        if self._buffer:
            raise InvalidArgument(
                f"blob pack ends inside a frame ({len(self._buffer)} bytes left over)",
                hint="the body was cut short; send the pack again",
            )


def read_pack(data: bytes) -> list[tuple[str, bytes]]:
    """Every ``(sha256, content)`` pair of a complete pack, each checked by hash.

    Raises ``IntegrityError`` for a blob that does not match its sha256 and ``InvalidArgument``
    for a truncated pack.
    """
    reader = PackReader()
    blobs = reader.feed(data)
    reader.close()
    return blobs


def iter_frames(blobs: Iterable[tuple[str, int, Iterable[bytes]]]) -> Iterator[bytes]:
    """Stream a pack from ``(sha256, size, chunks)`` triples (headers, then the chunks)."""
    for sha256, size, chunks in blobs:
        yield frame_header(sha256, size)
        yield from chunks


def coalesce(chunks: Iterable[bytes], size: int = 1024 * 1024) -> Iterator[bytes]:
    """Join small chunks into pieces of about ``size`` bytes (a server sends each piece of a
    streamed body with one hand-off between threads: thousands of tiny frames would cost
    thousands of hand-offs)."""
    buffer: list[bytes] = []
    held = 0
    for chunk in chunks:
        buffer.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)
