"""Frozen domain entities.

Stores convert their rows to these; the API converts these to wire models.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

ParamValue = str | int | float | bool | None
"""A parameter keeps its type: ``{"lr": 0.01, "depth": 4, "opt": "adam", "bn": True}``."""

T = TypeVar("T")


class RunStatus(enum.StrEnum):
    """Lifecycle of a run. ``RUNNING`` until it ends as one of the other three."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended."""
        return self is not RunStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Project:
    """A named collection of runs (MLflow: an experiment)."""

    id: str
    name: str
    created_at: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """What search needs of one metric of one run: the last value and the extremes.

    ``last`` is the value at the highest step (ties broken by the latest timestamp).
    NaN values count in ``count`` and can be ``last`` but never ``min``/``max``.
    """

    key: str
    last: float
    last_step: int
    last_timestamp: int
    min: float | None
    max: float | None
    count: int


@dataclass(frozen=True, slots=True)
class Run:
    """One tracked execution. Times are milliseconds since the epoch (UTC)."""

    id: str
    project: str
    name: str
    status: RunStatus
    user: str
    start_time: int
    end_time: int | None = None
    parent_id: str | None = None
    error: str | None = None
    notes: str = ""
    deleted: bool = False
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, MetricSummary] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """Wall-clock duration, or ``None`` while running."""
        return None if self.end_time is None else self.end_time - self.start_time


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file logged by a run: its path inside the run, and its content address."""

    path: str
    size: int
    sha256: str
    media_type: str
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class RunInput:
    """Something a run consumed or produced (a dataset version...), for lineage."""

    kind: str
    name: str
    version: str
    direction: str = "input"
    digest: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A metric's history as three parallel columns."""

    key: str
    steps: Sequence[int]
    timestamps: Sequence[int]
    values: Sequence[float]
    total: int = 0
    """How many points are stored; ``len(steps)`` is smaller when the series was downsampled."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, with the opaque token that fetches the next (``None`` at the end)."""

    items: Sequence[T]
    next_page_token: str | None = None
