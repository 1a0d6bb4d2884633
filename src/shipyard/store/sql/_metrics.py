"""Metric ingest and history.

Points are stored as chunks: one ``metric_chunks`` row per key per batch, holding little-endian
int64 steps and timestamps and float64 values as three blobs, so a 100,000-point batch is one row,
not 100,000. Next to them, ``metric_summaries`` keeps per (run, key) the last value (the value at
the highest step, ties broken by the latest timestamp, then by arrival), the NaN-free extremes and
the count, which is what search and run listings read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import MetricSeries, ParamValue, RunStatus
from shipyard.domain.validation import validate_key, validate_params, validate_tags
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store._downsample import downsample
from shipyard.store.sql._runs import (
    affected_rows,
    dialect_insert,
    now_ms,
    require_run,
    write_params,
    write_tags,
)
from shipyard.store.sql.models import IngestBatchRow, MetricChunkRow, MetricSummaryRow, RunRow

Int64s = npt.NDArray[np.int64]
Float64s = npt.NDArray[np.float64]

MAX_BATCH_ID = 64

_INT = np.dtype("<i8")
_FLOAT = np.dtype("<f8")
_CHUNKS = cast(sa.Table, MetricChunkRow.__table__)
_SUMMARIES = cast(sa.Table, MetricSummaryRow.__table__)


@dataclass(frozen=True, slots=True)
class PackedMetric:
    """The points of one key of a batch as numpy columns, validated."""

    key: str
    steps: Int64s
    timestamps: Int64s
    values: Float64s


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A batch that passed validation, with its metrics packed."""

    batch_id: str
    params: dict[str, ParamValue]
    tags: dict[str, str]
    metrics: list[PackedMetric]
    end: RunEnd | None


@dataclass(frozen=True, slots=True)
class _Summary:
    """A summary in storage terms: ``None`` for a NaN last value or for no min/max."""

    last: float | None
    last_step: int
    last_timestamp: int
    min: float | None
    max: float | None
    count: int


def validate_batch(batch: IngestBatch) -> CheckedBatch:
    """Check a batch (id, keys, params, tags, columns) and pack its metrics; no I/O.

    Raises ``InvalidArgument`` naming what is wrong.
    """
    batch_id = batch.batch_id
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > MAX_BATCH_ID:
        raise InvalidArgument(
            f"invalid batch id {batch_id!r}",
            hint=f"use a non-empty string of at most {MAX_BATCH_ID} characters (e.g. a new id)",
        )
    return CheckedBatch(
        batch_id=batch_id,
        params=validate_params(batch.params),
        tags=validate_tags(batch.tags),
        metrics=[_pack(key, cols) for key, cols in batch.metrics.items() if len(cols.values)],
        end=None if batch.end is None else _checked_end(batch.end),
    )


def _checked_end(end: RunEnd) -> RunEnd:
    try:
        status = RunStatus(end.status)
    except ValueError:
        choices = ", ".join(s.value for s in RunStatus)
        raise InvalidArgument(
            f"invalid run status {end.status!r} in the batch's run end",
            hint=f"use one of {choices}",
        ) from None
    if isinstance(end.end_time, bool) or not isinstance(end.end_time, int):
        raise InvalidArgument(
            f"invalid run end time {end.end_time!r}", hint="give milliseconds since the epoch"
        )
    return RunEnd(status=status, end_time=end.end_time, error=end.error)


def apply_batch(session: Session, run: RunRow, batch: CheckedBatch) -> bool:
    """Apply a validated batch to a locked run in the caller's transaction.

    Returns ``False``, changing nothing, when the run already has this batch id.
    """
    marker = dialect_insert(session, IngestBatchRow).values(
        run_id=run.id, batch_id=batch.batch_id, applied_at=now_ms()
    )
    if affected_rows(session, marker.on_conflict_do_nothing()) == 0:
        return False
    write_params(session, run.id, batch.params)
    write_tags(session, run.id, batch.tags)
    write_metrics(session, run.id, batch.metrics)
    if batch.end is not None:
        run.status = batch.end.status.value
        run.end_time = batch.end.end_time
        run.error = batch.end.error
    return True


def write_metrics(session: Session, run_id: str, metrics: Sequence[PackedMetric]) -> None:
    """Store one chunk per key and fold the points into the keys' summaries."""
    if not metrics:
        return
    session.execute(_CHUNKS.insert(), [_chunk_row(run_id, m) for m in metrics])
    keys = [metric.key for metric in metrics]
    stored = {
        row.key: _Summary(
            last=row.last_value,
            last_step=row.last_step,
            last_timestamp=row.last_timestamp,
            min=row.min_value,
            max=row.max_value,
            count=row.count,
        )
        for row in session.scalars(
            sa.select(MetricSummaryRow).where(
                MetricSummaryRow.run_id == run_id, MetricSummaryRow.key.in_(keys)
            )
        )
    }
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for metric in metrics:
        old = stored.get(metric.key)
        merged = _summarize(metric) if old is None else _merge(old, _summarize(metric))
        (inserts if old is None else updates).append(_summary_row(run_id, metric.key, merged))
    if inserts:
        session.execute(_SUMMARIES.insert(), inserts)
    if updates:
        session.execute(sa.update(MetricSummaryRow), updates)


def read_history(
    session: Session, run_id: str, key: str, max_points: int | None = None
) -> MetricSeries:
    """A metric's points ordered by step (stable: equal steps keep their arrival order),
    downsampled to ``max_points`` when there are more. Raises ``NotFound``."""
    query = sa.select(
        _CHUNKS.c.id, _CHUNKS.c.steps, _CHUNKS.c.timestamps, _CHUNKS.c["values"]
    ).where(_CHUNKS.c.run_id == run_id, _CHUNKS.c.key == key)
    # Arrival order, sorted here: an ORDER BY would make SQLite copy every blob into a sorter.
    rows = sorted(session.execute(query).all(), key=lambda row: int(row.id))
    if not rows:
        require_run(session, run_id)
        raise NotFound(
            f"metric {key!r} not found in run {run_id}",
            hint="check the key; the run's metric summaries list the keys it logged",
        )
    steps, timestamps, values = _sorted_by_step(*_unpack(rows))
    total = len(steps)
    if max_points is not None and max_points < total:
        steps, timestamps, values = downsample(steps, timestamps, values, max_points)
    return MetricSeries(
        key=key,
        steps=steps.tolist(),
        timestamps=timestamps.tolist(),
        values=values.tolist(),
        total=total,
    )


def _pack(key: str, columns: MetricColumns) -> PackedMetric:
    validate_key(key, "metric key")
    sizes = (len(columns.steps), len(columns.timestamps), len(columns.values))
    if len(set(sizes)) != 1:
        raise InvalidArgument(
            f"metric {key!r} has {sizes[0]} steps, {sizes[1]} timestamps and {sizes[2]} values",
            hint="send one step and one timestamp per value",
        )
    try:
        return PackedMetric(
            key=key,
            steps=np.asarray(columns.steps, dtype=_INT),
            timestamps=np.asarray(columns.timestamps, dtype=_INT),
            values=np.asarray(columns.values, dtype=_FLOAT),
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidArgument(
            f"metric {key!r} has a step, timestamp or value that is not a number: {exc}",
            hint="steps and timestamps are 64-bit integers; values are floats",
        ) from None


def _chunk_row(run_id: str, metric: PackedMetric) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "key": metric.key,
        "first_step": int(metric.steps.min()),
        "last_step": int(metric.steps.max()),
        "count": len(metric.steps),
        "steps": metric.steps.astype(_INT, copy=False).tobytes(),
        "timestamps": metric.timestamps.astype(_INT, copy=False).tobytes(),
        "values": metric.values.astype(_FLOAT, copy=False).tobytes(),
    }


def _summarize(metric: PackedMetric) -> _Summary:
    steps, timestamps, values = metric.steps, metric.timestamps, metric.values
    at_top = np.flatnonzero(steps == steps.max())
    # Among the points at the highest step: the latest timestamp, and of those the last to arrive.
    latest = at_top[len(at_top) - 1 - int(np.argmax(timestamps[at_top][::-1]))]
    return _Summary(
        last=_none_if_nan(float(values[latest])),
        last_step=int(steps[latest]),
        last_timestamp=int(timestamps[latest]),
        min=_none_if_nan(float(np.fmin.reduce(values))),
        max=_none_if_nan(float(np.fmax.reduce(values))),
        count=len(values),
    )


def _merge(old: _Summary, new: _Summary) -> _Summary:
    newer = (new.last_step, new.last_timestamp) >= (old.last_step, old.last_timestamp)
    latest = new if newer else old
    return _Summary(
        last=latest.last,
        last_step=latest.last_step,
        last_timestamp=latest.last_timestamp,
        min=_extreme(min, old.min, new.min),
        max=_extreme(max, old.max, new.max),
        count=old.count + new.count,
    )


def _extreme(pick: Any, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return float(pick(a, b))


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _summary_row(run_id: str, key: str, summary: _Summary) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "key": key,
        "last_value": summary.last,
        "last_step": summary.last_step,
        "last_timestamp": summary.last_timestamp,
        "min_value": summary.min,
        "max_value": summary.max,
        "count": summary.count,
    }


def _unpack(rows: Sequence[Any]) -> tuple[Int64s, Int64s, Float64s]:
    def column(index: int, dtype: np.dtype[Any]) -> Any:
        parts = [np.frombuffer(row[index], dtype=dtype) for row in rows]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    return column(1, _INT), column(2, _INT), column(3, _FLOAT)


def _sorted_by_step(
    steps: Int64s, timestamps: Int64s, values: Float64s
) -> tuple[Int64s, Int64s, Float64s]:
    if len(steps) < 2 or bool(np.all(steps[1:] >= steps[:-1])):
        return steps, timestamps, values  # the usual case: points arrived in step order
    order = np.argsort(steps, kind="stable")
    return steps[order], timestamps[order], values[order]
