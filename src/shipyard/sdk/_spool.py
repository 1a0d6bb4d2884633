"""The local spool: an append-only log of the batches a writer built, kept until they are acked.

Layout under ``settings.spool_dir``, one folder per run and one *segment* per writing process::

    <spool_dir>/<run_id>/<segment>.spool     batches, each a framed msgpack record
    <spool_dir>/<run_id>/<segment>.acks      acknowledged batch ids, one per line
    <spool_dir>/<run_id>/<segment>.rejected  batches the backend refused for good (framed records)
    <spool_dir>/<run_id>/<segment>.pid       {"pid", "started"} while the writer is alive

A record is ``>II`` (payload length, crc32 of the payload) followed by a msgpack map that names its
run, so a spool is self-describing. A crash in the middle of an append leaves a torn last record,
which readers detect (short read or checksum mismatch) and ignore. Segment names start with the
creation time in milliseconds, so sorting them by name replays a run's batches in order.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgpack
import psutil

from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import RunStatus
from shipyard.sdk._folders import ensure_private_folder

FORMAT_VERSION = 1
_HEADER = struct.Struct(">II")
_SUFFIXES = (".spool", ".acks", ".rejected", ".pid")


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One batch read back from a spool, with the run it belongs to."""

    run_id: str
    batch: IngestBatch
    error: str | None = None


# -- encoding --------------------------------------------------------------------------------------
def encode_record(run_id: str, batch: IngestBatch, error: str | None = None) -> bytes:
    """Frame one batch as a spool record (header + msgpack payload)."""
    payload: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "run_id": run_id,
        "batch_id": batch.batch_id,
        "metrics": {
            key: [list(c.steps), list(c.timestamps), list(c.values)]
            for key, c in batch.metrics.items()
        },
        "params": dict(batch.params),
        "tags": dict(batch.tags),
        "end": None if batch.end is None else _encode_end(batch.end),
    }
    if error is not None:
        payload["error"] = error
    body: bytes = msgpack.packb(payload, use_bin_type=True)
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def _encode_end(end: RunEnd) -> list[Any]:
    return [end.status.value, end.end_time, end.error]


def decode_payload(body: bytes) -> SpoolRecord:
    """Rebuild a record from its msgpack payload. Raises ``ValueError`` when it is malformed."""
    data = msgpack.unpackb(body, raw=False, strict_map_key=True)
    if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
        raise ValueError("not a Shipyard spool record of a known version")
    metrics = {
        str(key): MetricColumns(steps=cols[0], timestamps=cols[1], values=cols[2])
        for key, cols in data["metrics"].items()
    }
    end = data["end"]
    batch = IngestBatch(
        batch_id=str(data["batch_id"]),
        metrics=metrics,
        params=dict(data["params"]),
        tags={str(k): str(v) for k, v in data["tags"].items()},
        end=None if end is None else RunEnd(RunStatus(end[0]), int(end[1]), end[2]),
    )
    return SpoolRecord(run_id=str(data["run_id"]), batch=batch, error=data.get("error"))


def read_records(path: Path) -> Iterator[SpoolRecord]:
    """Every intact record of a spool file, in order; a torn or corrupt tail ends the iteration."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        while True:
            header = fh.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            length, crc = _HEADER.unpack(header)
            body = fh.read(length)
            if len(body) < length or zlib.crc32(body) != crc:
                return
            try:
                yield decode_payload(body)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                return


def read_ids(path: Path) -> set[str]:
    """The batch ids listed in an ack file (a torn last line is ignored)."""
    if not path.exists():
        return set()
    text = path.read_text(encoding="ascii", errors="replace")
    return {line for line in text.split("\n")[:-1] if line}


# -- liveness --------------------------------------------------------------------------------------
def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def is_live(pid_file: Path) -> bool:
    """Whether the process that wrote ``pid_file`` is still running (the pid was not reused)."""
    try:
        info = json.loads(pid_file.read_text(encoding="utf-8"))
        pid, started = int(info["pid"]), float(info["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    actual = _process_started(pid)
    return actual is not None and abs(actual - started) < 1.0


# -- segments --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    """The files of one writer's spool for one run."""

    folder: Path
    name: str

    def file(self, suffix: str) -> Path:
        """The path of this segment's file with ``suffix`` (``.spool``, ``.acks``...)."""
        return self.folder / f"{self.name}{suffix}"

    @property
    def run_id(self) -> str:
        """The run this segment belongs to (its folder's name)."""
        return self.folder.name

    def is_live(self) -> bool:
        """Whether a running process is still appending to this segment."""
        return is_live(self.file(".pid"))

    def handled_ids(self) -> set[str]:
        """Batch ids already acknowledged or rejected."""
        rejected = {r.batch.batch_id for r in read_records(self.file(".rejected"))}
        return read_ids(self.file(".acks")) | rejected

    def remove(self) -> None:
        """Delete the segment's files except the rejected batches; drop the folder if empty."""
        for suffix in (".acks", ".pid", ".spool"):  # the spool last: a crash here only replays
            self.file(suffix).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other segments or rejected batches remain
            self.folder.rmdir()


def list_segments(spool_dir: Path) -> list[Segment]:
    """Every segment with a spool file under ``spool_dir``, ordered by run folder then age."""
    if not spool_dir.is_dir():
        return []
    return [
        Segment(path.parent, path.name.removesuffix(".spool"))
        for path in sorted(spool_dir.glob("*/*.spool"))
    ]


class SpoolWriter:
    """Appends one process's batches for one run; not thread safe (the writer thread owns it)."""

    def __init__(self, spool_dir: Path, run_id: str) -> None:
        ensure_private_folder(spool_dir)
        folder = spool_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns() // 1_000_000:013d}-{os.getpid()}-{secrets.token_hex(3)}"
        self.segment = Segment(folder, name)
        self.run_id = run_id
        started = _process_started(os.getpid()) or 0.0
        pid_info = {"pid": os.getpid(), "started": started}
        self.segment.file(".pid").write_text(json.dumps(pid_info), encoding="utf-8")
        self._data: IO[bytes] = self.segment.file(".spool").open("ab")
        self._acks: IO[str] = self.segment.file(".acks").open("a", encoding="ascii")
        self._dirty = False

    def append(self, batch: IngestBatch) -> None:
        """Append a batch (buffered; :meth:`sync` makes it durable)."""
        self._data.write(encode_record(self.run_id, batch))
        self._dirty = True

    def sync(self) -> None:
        """Flush and fsync appended batches: called once per flush cycle, never per point."""
        if self._dirty:
            self._data.flush()
            os.fsync(self._data.fileno())
            self._dirty = False

    def ack(self, batch_id: str) -> None:
        """Record that the backend applied a batch."""
        self._acks.write(batch_id + "\n")
        self._acks.flush()

    def reject(self, batch: IngestBatch, error: str) -> None:
        """Move a batch the backend refused for good to the rejected file."""
        with self.segment.file(".rejected").open("ab") as fh:
            fh.write(encode_record(self.run_id, batch, error))

    def close_data(self) -> None:
        """Stop appending batches (the spooler is done): fsync and close the spool file."""
        if not self._data.closed:
            self.sync()
            self._data.close()

    def finish(self, *, delete: bool) -> None:
        """Stop writing: delete the segment (all handled) or keep it for ``shipyard sync``."""
        self.close_data()
        self._acks.close()
        if delete:
            self.segment.remove()
        else:
            self.segment.file(".pid").unlink(missing_ok=True)
