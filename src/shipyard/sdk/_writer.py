"""The background writer: the training thread only appends to a deque; two threads do the rest.

* The *spooler* wakes every ``flush_interval`` seconds (or when ~10,000 points are pending), drains
  the queue into columnar :class:`IngestBatch` es with fresh ids, appends them to the run's spool
  and fsyncs it. It never touches the network, so the spool is current even while a send hangs.
* The *sender* sends spooled batches in order through ``store.ingest``, records each ack, retries
  ``Unavailable`` with exponential backoff (capped at 5 s) and moves batches the backend refuses for
  good (``InvalidArgument``, ``Conflict``, ``NotFound``...) to the rejected file, logging once.

``ingest`` is idempotent per batch id, so a batch sent twice (a lost ack, a replay by
``shipyard sync``) never duplicates points.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import ParamValue
from shipyard.domain.ids import new_id
from shipyard.errors import ShipyardError, Unavailable
from shipyard.sdk._spool import SpoolWriter
from shipyard.store.base import RunStore

logger = logging.getLogger("shipyard.sdk")

WAKE_POINTS = 10_000
"""Pending points that wake the spooler before its interval is up."""
MAX_BATCH_POINTS = 20_000
"""Points per batch at most, so one request stays well under any payload limit."""
MAX_BACKOFF = 5.0
_FIRST_BACKOFF = 0.2
_UNEXPECTED_ATTEMPTS = 3


@dataclass(slots=True)
class _Params:
    values: dict[str, ParamValue]


@dataclass(slots=True)
class _Tags:
    values: dict[str, str]


@dataclass(slots=True)
class _End:
    end: RunEnd


@dataclass(slots=True)
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)
    target: int = 0


_Item = tuple[int, int, dict[str, float]] | _Params | _Tags | _End | _Flush


@dataclass(slots=True)
class WriterStats:
    """What the writer has done so far (read by tests and the CLI; approximate while running)."""

    batches_spooled: int = 0
    batches_sent: int = 0
    points_sent: int = 0
    batches_rejected: int = 0
    last_error: str | None = None


def _poll(deadline: float | None) -> float:
    """How long to wait before checking again: at most half a second, never past ``deadline``."""
    if deadline is None:
        return 0.5
    return max(0.0, min(0.5, deadline - time.monotonic()))


class _BatchBuilder:
    """Accumulates queue items into one columnar batch."""

    def __init__(self) -> None:
        self.metrics: dict[str, tuple[list[int], list[int], list[float]]] = {}
        self.params: dict[str, ParamValue] = {}
        self.tags: dict[str, str] = {}
        self.end: RunEnd | None = None
        self.points = 0

    def add_metrics(self, step: int, timestamp: int, values: dict[str, float]) -> None:
        columns = self.metrics
        for key, value in values.items():
            cols = columns.get(key)
            if cols is None:
                cols = columns[key] = ([], [], [])
            cols[0].append(step)
            cols[1].append(timestamp)
            cols[2].append(value)
        self.points += len(values)

    def __bool__(self) -> bool:
        return bool(self.metrics or self.params or self.tags or self.end)

    def build(self) -> IngestBatch:
        metrics = {k: MetricColumns(s, t, v) for k, (s, t, v) in self.metrics.items()}
        return IngestBatch(new_id(), metrics, self.params, self.tags, self.end)


class BatchWriter:
    """Batches, spools and sends one run's metrics, params, tags and end.

    Thread safe for callers; :meth:`put_metrics` does no I/O and takes no lock.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        spool_dir: Path,
        flush_interval: float,
    ) -> None:
        self.run_id = run_id
        self.stats = WriterStats()
        self._store = store
        self._interval = flush_interval
        self._queue: deque[_Item] = deque()
        self._enqueued = 0
        self._drained = 0
        self._wake = threading.Event()
        self._send_wake = threading.Event()
        self._closing = False
        self._spooled_all = False
        self._abandon = threading.Event()
        self._outbox: deque[IngestBatch] = deque()
        self._lock = threading.Lock()
        self._waiters: list[_Flush] = []
        self._built = 0
        self._handled = 0
        self._retry_at = 0.0
        self._backoff = 0.0
        self._attempts = 0
        self._warned: set[str] = set()
        self._spool = SpoolWriter(spool_dir, run_id)
        name = run_id[:8]
        self._spooler = threading.Thread(
            target=self._spool_loop, name=f"shipyard-spool-{name}", daemon=True
        )
        self._sender = threading.Thread(
            target=self._send_loop, name=f"shipyard-send-{name}", daemon=True
        )
        self._spooler.start()
        self._sender.start()

    # -- caller side -------------------------------------------------------------------------
    def put_metrics(
        self, step: int, values: dict[str, float], timestamp: int | None = None
    ) -> None:
        """Enqueue validated values at ``step`` (the hot path: one deque append)."""
        ts = time.time_ns() // 1_000_000 if timestamp is None else timestamp
        self._queue.append((step, ts, values))
        self._enqueued += len(values)
        if self._enqueued - self._drained >= WAKE_POINTS:
            self._wake.set()

    def put_params(self, params: Mapping[str, ParamValue]) -> None:
        """Enqueue validated params."""
        self._queue.append(_Params(dict(params)))

    def put_tags(self, tags: Mapping[str, str]) -> None:
        """Enqueue validated tags."""
        self._queue.append(_Tags(dict(tags)))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything enqueued so far was handled by the backend (sent or rejected).

        Returns ``False`` when ``timeout`` passed first (the data stays spooled).
        """
        marker = _Flush()
        self._queue.append(marker)
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not marker.done.wait(_poll(deadline)):
            if not (self._spooler.is_alive() and self._sender.is_alive()):
                return False  # only after a bug stopped a thread: do not wait forever
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    def close(self, end: RunEnd | None, timeout: float) -> bool:
        """Enqueue the run's end, spool everything, and wait up to ``timeout`` seconds for acks.

        Returns ``True`` when every batch was handled; ``False`` leaves them in the spool.
        """
        if end is not None:
            self._queue.append(_End(end))
        self._closing = True
        self._wake.set()
        self._spooler.join()  # local I/O only: every batch is spooled before we return
        self._sender.join(timeout)
        if self._sender.is_alive():
            self._abandon.set()
            self._send_wake.set()
            self._sender.join(1.0)
        return not self._outbox

    @property
    def pending_batches(self) -> int:
        """Batches spooled but not yet acknowledged or rejected."""
        return len(self._outbox)

    # -- spooler thread ----------------------------------------------------------------------
    def _spool_loop(self) -> None:
        try:
            while True:
                self._wake.wait(self._interval)
                self._wake.clear()
                closing = self._closing  # read before draining: nothing may follow the last drain
                self._drain()
                if closing and not self._queue:
                    break
        except Exception:  # a bug here must not kill training; the spool keeps what it has
            logger.exception("shipyard writer for run %s stopped spooling", self.run_id)
        finally:
            self._spool_close()

    def _spool_close(self) -> None:
        try:
            self._spool.close_data()
        except OSError as exc:
            self._warn("spool", f"could not close the spool of run {self.run_id}: {exc}")
        self._spooled_all = True
        self._send_wake.set()

    def _drain(self) -> None:
        builder = _BatchBuilder()
        markers: list[_Flush] = []
        queue = self._queue
        while queue:
            item = queue.popleft()
            if isinstance(item, tuple):
                builder.add_metrics(*item)
                self._drained += len(item[2])
            elif isinstance(item, _Flush):
                markers.append(item)
            else:
                builder = self._add_update(builder, item)
            if builder.points >= MAX_BATCH_POINTS:
                builder = self._emit_built(builder)
        self._emit_built(builder)
        self._sync_spool()
        self._register(markers)

    def _add_update(self, builder: _BatchBuilder, item: _Params | _Tags | _End) -> _BatchBuilder:
        """Add params, tags or the end to the batch being built; returns the builder to use."""
        if isinstance(item, _Tags):
            builder.tags.update(item.values)
        elif isinstance(item, _End):
            builder.end = item.end
        else:  # params travel alone, so a refused param never takes metrics down with it
            builder = self._emit_built(builder)
            self._emit(IngestBatch(new_id(), params=item.values))
        return builder

    def _emit_built(self, builder: _BatchBuilder) -> _BatchBuilder:
        """Emit the builder's batch if it holds anything; returns a fresh builder."""
        if builder:
            self._emit(builder.build())
            return _BatchBuilder()
        return builder

    def _emit(self, batch: IngestBatch) -> None:
        try:
            self._spool.append(batch)
        except OSError as exc:
            self._warn("spool", f"could not spool a batch of run {self.run_id}: {exc}")
        self.stats.batches_spooled += 1
        self._built += 1
        self._outbox.append(batch)
        self._send_wake.set()

    def _sync_spool(self) -> None:
        try:
            self._spool.sync()
        except OSError as exc:
            self._warn("spool", f"could not fsync the spool of run {self.run_id}: {exc}")

    def _register(self, markers: list[_Flush]) -> None:
        with self._lock:
            for marker in markers:
                marker.target = self._built
                self._waiters.append(marker)
        self._notify_waiters()

    def _notify_waiters(self) -> None:
        with self._lock:
            done = [w for w in self._waiters if self._handled >= w.target]
            self._waiters = [w for w in self._waiters if self._handled < w.target]
        for waiter in done:
            waiter.done.set()

    # -- sender thread -----------------------------------------------------------------------
    def _send_loop(self) -> None:
        try:
            while not self._abandon.is_set():
                self._send_wake.wait(self._send_delay())
                self._send_wake.clear()
                finished = self._spooled_all  # read first: no batch can arrive after it is set
                self._send_ready()
                if finished and not self._outbox:
                    break
        except Exception:
            logger.exception("shipyard writer for run %s stopped sending", self.run_id)
        finally:
            self._send_close()

    def _send_close(self) -> None:
        if not self._spooled_all:  # only after a bug: the spooler still owns the files
            return
        try:
            self._spool.finish(delete=not self._outbox)
        except OSError as exc:
            self._warn("spool", f"could not clean up the spool of run {self.run_id}: {exc}")

    def _send_delay(self) -> float:
        if self._outbox:
            return max(0.0, min(1.0, self._retry_at - time.monotonic()))
        return 1.0

    def _send_ready(self) -> None:
        while self._outbox and not self._abandon.is_set():
            if time.monotonic() < self._retry_at:
                return
            batch = self._outbox[0]
            if not self._send(batch):
                self._schedule_retry()
                return
            self._outbox.popleft()
            self._handled += 1
            self._notify_waiters()

    def _send(self, batch: IngestBatch) -> bool:
        """Send one batch. ``True`` when it is done with (acked or rejected), ``False`` to retry."""
        try:
            self._store.ingest(self.run_id, batch)
        except Unavailable as exc:
            self.stats.last_error = str(exc)
            self._warn(
                "unavailable", f"backend unavailable, run {self.run_id} keeps spooling: {exc}"
            )
            return False
        except ShipyardError as exc:
            self._reject(batch, exc)
            return True
        except Exception as exc:  # not ours: retry a few times, then keep it aside
            self._attempts += 1
            if self._attempts < _UNEXPECTED_ATTEMPTS:
                self.stats.last_error = repr(exc)
                return False
            self._reject(batch, exc)
            return True
        self._acked(batch)
        return True

    def _acked(self, batch: IngestBatch) -> None:
        if self._backoff:
            logger.info("shipyard backend reachable again; run %s resumes sending", self.run_id)
        self._backoff = 0.0
        self._attempts = 0
        try:
            self._spool.ack(batch.batch_id)
        except OSError as exc:  # a lost ack only means a harmless resend by `shipyard sync`
            self._warn("spool", f"could not record an ack for run {self.run_id}: {exc}")
        self.stats.batches_sent += 1
        self.stats.points_sent += batch.point_count

    def _reject(self, batch: IngestBatch, exc: Exception) -> None:
        self._attempts = 0
        self.stats.batches_rejected += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        try:
            self._spool.reject(batch, self.stats.last_error)
        except OSError as spool_exc:
            self._warn("spool", f"could not keep a rejected batch of {self.run_id}: {spool_exc}")
        self._warn(
            "rejected",
            f"the backend refused a batch of run {self.run_id} ({self.stats.last_error}); it was "
            f"kept in {self._spool.segment.file('.rejected')}",
        )

    def _schedule_retry(self) -> None:
        self._backoff = min(MAX_BACKOFF, self._backoff * 2 if self._backoff else _FIRST_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff

    def _warn(self, kind: str, message: str) -> None:
        """Log a problem once per kind (never ``warnings``: it could raise in a test's thread)."""
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning(message)
