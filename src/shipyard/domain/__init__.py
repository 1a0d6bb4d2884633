"""Typed entities, ids, enums and validation. Rule: standard library only, no I/O."""

from shipyard.domain.entities import (
    Artifact,
    MetricSeries,
    MetricSummary,
    Page,
    ParamValue,
    Project,
    Run,
    RunInput,
    RunStatus,
)
from shipyard.domain.ids import new_id

__all__ = [
    "Artifact",
    "MetricSeries",
    "MetricSummary",
    "Page",
    "ParamValue",
    "Project",
    "Run",
    "RunInput",
    "RunStatus",
    "new_id",
]
