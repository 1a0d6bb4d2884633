"""Adaptive batching: concurrent requests to one model version share one ``predict`` call.

Request handlers :meth:`~Batcher.submit` their (already validated) rows and await the outputs.
The first request of a batch schedules a flush on the event loop; requests that arrive before it
runs join the batch, which is flushed at once when it reaches ``max_batch_size`` rows. When
requests arrive less often than every ``max_wait_ms`` (an average of recent gaps), the flush runs
at the next turn of the loop (no waiting: a lone client is never slowed down); under load, a batch
stays open up to ``max_wait_ms``. While a slow model predicts in a worker thread, new requests
gather into the next batch.

The batcher keeps one pending batch per event loop, and fast models predict on the loop itself:
there is no thread hop or GIL hand-over per request.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument

ModelInput = np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]
ModelOutput = np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True)
class BatchingConfig:
    """Batching of one deployment (off unless given).

    Attributes:
        max_batch_size: rows per ``predict`` call at most.
        max_wait_ms: how long a batch stays open for more requests at most.
    """

    max_batch_size: int = 32
    max_wait_ms: float = 5.0

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise InvalidArgument(
                f"max_batch_size must be at least 1, got {self.max_batch_size}",
                hint="e.g. --batch-size 32",
            )
        if not 0 <= self.max_wait_ms <= 10_000:
            raise InvalidArgument(
                f"max_wait_ms must be between 0 and 10000, got {self.max_wait_ms}",
                hint="e.g. --batch-wait-ms 5",
            )


@dataclass
class _Item:
    inputs: ModelInput
    rows: int
    future: asyncio.Future[ModelOutput]


@dataclass
class _Pending:
    """The open batch of one event loop."""

    items: list[_Item] = field(default_factory=list)
    rows: int = 0
    handle: asyncio.Handle | None = None
    running: bool = False


class Batcher:
    """Groups submitted rows into batches and runs ``predict`` once per batch."""

    def __init__(
        self,
        predict: Callable[[ModelInput], ModelOutput],
        config: BatchingConfig,
        *,
        inline: Callable[[], bool] = lambda: True,
    ) -> None:
        self.config = config
        self._predict = predict
        self._inline = inline
        self._pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = (
            weakref.WeakKeyDictionary()
        )
        self._last_arrival = 0.0
        self._gap = float("inf")  # average seconds between requests (recent ones weigh more)

    async def submit(self, inputs: ModelInput, rows: int) -> ModelOutput:
        """Add ``rows`` rows to the open batch and wait for their outputs (or the model's error)."""
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending.setdefault(loop, _Pending())
        self._arrived()
        future: asyncio.Future[ModelOutput] = loop.create_future()
        pending.items.append(_Item(inputs, rows, future))
        pending.rows += rows
        if not pending.running:
            if pending.rows >= self.config.max_batch_size:
                self._flush(loop, pending)
            elif pending.handle is None:
                pending.handle = self._schedule(loop, pending)
        return await future

    def _arrived(self) -> None:
        now = time.monotonic()
        gap = now - self._last_arrival
        self._last_arrival = now
        self._gap = gap if self._gap == float("inf") else 0.8 * self._gap + 0.2 * gap

    def _schedule(self, loop: asyncio.AbstractEventLoop, pending: _Pending) -> asyncio.Handle:
        wait = self.config.max_wait_ms / 1000.0
        if wait <= 0 or self._gap > wait:
            return loop.call_soon(self._flush, loop, pending)
        return loop.call_later(wait, self._flush, loop, pending)

    def _flush(self, loop: asyncio.AbstractEventLoop, pending: _Pending) -> None:
        if pending.handle is not None:
            pending.handle.cancel()
            pending.handle = None
        batch = self._take(pending)
        if not batch:
            return
        if self._inline():
            self._run(batch)
            self._after(loop, pending)
            return
        pending.running = True
        task = loop.create_task(self._run_in_thread(batch))
        task.add_done_callback(lambda _: self._after(loop, pending))

    def _take(self, pending: _Pending) -> list[_Item]:
        batch: list[_Item] = []
        rows = 0
        while pending.items and (not batch or rows + pending.items[0].rows <= self._limit):
            item = pending.items.pop(0)
            batch.append(item)
            rows += item.rows
        pending.rows -= rows
        return batch

    @property
    def _limit(self) -> int:
        return self.config.max_batch_size

    def _after(self, loop: asyncio.AbstractEventLoop, pending: _Pending) -> None:
        pending.running = False
        if pending.items and pending.handle is None:
            pending.handle = loop.call_soon(self._flush, loop, pending)

    async def _run_in_thread(self, batch: list[_Item]) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self._run, batch)

    def _run(self, batch: list[_Item]) -> None:
        try:
            outputs = self._predict(concat([item.inputs for item in batch]))
            parts = split(outputs, [item.rows for item in batch])
        except Exception as exc:
            if len(batch) > 1:  # one bad request must not fail the others: predict one by one
                for item in batch:
                    self._run([item])
                return
            _resolve(batch[0].future, error=exc)
            return
        for item, part in zip(batch, parts, strict=True):
            _resolve(item.future, result=part)


def _resolve(
    future: asyncio.Future[ModelOutput],
    *,
    result: ModelOutput | None = None,
    error: Exception | None = None,
) -> None:
    """Settle a request's future from the loop's thread or a worker thread."""
    loop = future.get_loop()
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    settle = _settle_error if error is not None else _settle_result
    value: Any = error if error is not None else result
    if running is loop:
        settle(future, value)
    else:
        loop.call_soon_threadsafe(settle, future, value)


def _settle_result(future: asyncio.Future[ModelOutput], value: ModelOutput) -> None:
    if not future.done():
        future.set_result(value)


def _settle_error(future: asyncio.Future[ModelOutput], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


def concat(parts: list[ModelInput]) -> ModelInput:
    """Stack the rows of several requests (arrays, or dicts of columns with the same names)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, dict):
        names = list(first)
        dicts = [p for p in parts if isinstance(p, dict) and list(p) == names]
        if len(dicts) != len(parts):
            raise InvalidArgument("requests in one batch must name the same inputs")
        return {name: np.concatenate([p[name] for p in dicts]) for name in names}
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    if len(arrays) != len(parts):
        raise InvalidArgument("requests in one batch must all be arrays or all named columns")
    return np.concatenate(arrays)


def split(outputs: ModelOutput, rows: list[int]) -> list[ModelOutput]:
    """Cut a batch's outputs back into one piece per request (by row counts)."""
    if len(rows) == 1:
        return [outputs]
    offsets = np.cumsum(rows)[:-1]
    total = sum(rows)
    if isinstance(outputs, dict):
        pieces = {name: _split_one(arr, offsets, total, name) for name, arr in outputs.items()}
        return [{name: p[i] for name, p in pieces.items()} for i in range(len(rows))]
    return list(_split_one(outputs, offsets, total, "predict"))


def _split_one(
    array: Any, offsets: np.ndarray[Any, Any], total: int, name: str
) -> list[np.ndarray[Any, Any]]:
    array = np.asarray(array)
    if array.ndim == 0 or array.shape[0] != total:
        raise InvalidArgument(
            f"the model's output {name!r} has shape {list(array.shape)}, not one row per input "
            f"row ({total}); it cannot be batched",
            hint="serve this model without batching",
        )
    return np.split(array, offsets)
