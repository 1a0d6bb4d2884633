"""Sampled prediction logging: inputs and outputs kept for analysis (drift), off the request path.

The request path only draws a random number and, when sampled, puts a reference to the arrays in
a bounded queue (``put_nowait``; a full queue drops the record and counts it). A background thread
turns records into JSON lines and appends them to one file per UTC hour and process::

    <folder>/predictions-20260101T13-<pid>.jsonl

Each line is ``{"ts", "model", "version", "protocol", "columns", "inputs", "outputs"}`` with
``inputs`` a list of rows. :func:`read_predictions` reads them back, oldest hour first.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from shipyard.errors import InvalidArgument

PREFIX = "predictions-"
_STOP = object()


@dataclass(frozen=True)
class PredLogConfig:
    """Where and how much to log.

    Attributes:
        folder: the folder of the JSON lines files (created when missing).
        sample_rate: the share of requests logged, 0 to 1.
        queue_size: records waiting for the writer at most; more are dropped (and counted).
    """

    folder: Path
    sample_rate: float = 1.0
    queue_size: int = 10_000

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise InvalidArgument(
                f"the prediction log sample rate must be between 0 and 1, got {self.sample_rate}",
                hint="e.g. 0.1 logs one request in ten",
            )
        if self.queue_size < 1:
            raise InvalidArgument(f"queue_size must be at least 1, got {self.queue_size}")


@dataclass(frozen=True)
class PredictionRecord:
    """One logged request: its input rows and the model's outputs."""

    ts: float
    model: str
    version: str
    protocol: str
    columns: list[str] | None
    inputs: list[Any]
    outputs: Any


@dataclass
class _Pending:
    ts: float
    model: str
    version: str
    protocol: str
    columns: Sequence[str] | None
    inputs: Any
    outputs: Any


class PredictionLogger:
    """Samples predictions and writes them from a background thread."""

    def __init__(
        self,
        config: PredLogConfig,
        *,
        on_written: Callable[[int], None] = lambda n: None,
        on_dropped: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.queue_size)
        self._on_written = on_written
        self._on_dropped = on_dropped
        self._file: IO[bytes] | None = None
        self._file_hour = ""
        config.folder.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="shipyard-predlog", daemon=True)
        self._thread.start()

    def offer(
        self,
        model: str,
        version: str,
        protocol: str,
        columns: Sequence[str] | None,
        inputs: Any,
        outputs: Any,
    ) -> None:
        """Maybe log one prediction (sampled); never blocks."""
        rate = self.config.sample_rate
        if rate <= 0.0 or (rate < 1.0 and random.random() >= rate):
            return
        record = _Pending(time.time(), model, version, protocol, columns, inputs, outputs)
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._on_dropped()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 1000:
                    batch.append(self._queue.get_nowait())
            records = [r for r in batch if isinstance(r, _Pending)]
            if records:
                self._write(records)
            if any(r is _STOP for r in batch):
                self._close_file()
                return

    def _write(self, records: list[_Pending]) -> None:
        written = 0
        for record in records:
            try:
                line = _encode(record)
            except (TypeError, orjson.JSONEncodeError):
                self._on_dropped()  # an output that is not JSON-able is dropped, not fatal
                continue
            self._handle(record.ts).write(line)
            written += 1
        if self._file is not None:
            self._file.flush()
        self._on_written(written)

    def _handle(self, ts: float) -> IO[bytes]:
        hour = _hour(ts)
        if self._file is None or hour != self._file_hour:
            self._close_file()
            name = f"{PREFIX}{hour}-{os.getpid()}.jsonl"
            self._file = (self.config.folder / name).open("ab")
            self._file_hour = hour
        return self._file

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _hour(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H")


def _encode(record: _Pending) -> bytes:
    doc = {
        "ts": record.ts,
        "model": record.model,
        "version": record.version,
        "protocol": record.protocol,
        "columns": list(record.columns) if record.columns is not None else None,
        "inputs": _jsonable(record.inputs),
        "outputs": _jsonable(record.outputs),
    }
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def read_predictions(
    folder: Path,
    *,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
    model: str | None = None,
) -> Iterator[PredictionRecord]:
    """The logged predictions in ``folder`` (oldest hour first), optionally filtered.

    Args:
        folder: the prediction log folder (``PredLogConfig.folder``).
        since: only records at or after this time (unix seconds or a datetime).
        until: only records before this time.
        model: only records of this model name.

    Lines that cannot be parsed (a file cut short by a crash) are skipped.
    """
    start = _seconds(since)
    end = _seconds(until)
    first_hour = _hour(start) if start is not None else ""
    for path in sorted(Path(folder).glob(f"{PREFIX}*.jsonl")):
        if path.name[len(PREFIX) : len(PREFIX) + 11] < first_hour:
            continue
        yield from _read_file(path, start, end, model)


def _read_file(
    path: Path, start: float | None, end: float | None, model: str | None
) -> Iterator[PredictionRecord]:
    with path.open("rb") as handle:
        for line in handle:
            try:
                doc = orjson.loads(line)
                record = PredictionRecord(**doc)
            except (orjson.JSONDecodeError, TypeError):
                continue
            if start is not None and record.ts < start:
                continue
            if end is not None and record.ts >= end:
                continue
            if model is not None and record.model != model:
                continue
            yield record


def _seconds(value: float | datetime | None) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return value
