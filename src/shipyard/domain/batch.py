"""The unit of ingest: one idempotent batch of metric points and run updates.

The SDK's background writer builds these; every store applies one atomically, and a batch whose
``batch_id`` was already applied to the run is ignored, so replays after a crash or a retry never
duplicate points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shipyard.domain.entities import ParamValue, RunStatus


@dataclass(frozen=True, slots=True)
class MetricColumns:
    """Points of one metric key, as parallel columns (same length)."""

    steps: Sequence[int]
    timestamps: Sequence[int]
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class RunEnd:
    """Ends the run."""

    status: RunStatus
    end_time: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """Everything a writer flushes in one go. Applied in order: params, tags, metrics, end."""

    batch_id: str
    metrics: Mapping[str, MetricColumns] = field(default_factory=dict)
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    end: RunEnd | None = None

    @property
    def point_count(self) -> int:
        """How many metric points the batch carries."""
        return sum(len(c.values) for c in self.metrics.values())
