"""What the page templates show, computed from domain entities (no I/O, no HTML).

Kept apart from the routes so that the shape of each page's data is plain and testable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.api.schemas import RunOut
from shipyard.domain.entities import Run
from shipyard.server.ui._catalog import ColumnKeys
from shipyard.server.ui._templates import duration, number, param_text

SYSTEM_PREFIX = "system/"
PALETTE = (
    "#4f6bed", "#e8590c", "#0ca678", "#d6336c", "#7048e8",
    "#1c7ed6", "#f59f00", "#37b24d", "#ae3ec9", "#868e96",
)  # fmt: skip
"""Run colours on the compare page (charts, swatches and parallel coordinates agree)."""
DEFAULT_METRIC_COLUMNS = 4
DEFAULT_PARAM_COLUMNS = 3
MISSING = "—"


def quote_filter_text(value: str) -> str:
    """A filter-grammar string literal: ``'it''s'``."""
    return "'" + value.replace("'", "''") + "'"


def default_columns(keys: ColumnKeys) -> list[str]:
    """The columns a runs table shows until someone picks: a few metrics, then a few params."""
    metrics = [k for k in keys.metrics if not k.startswith(SYSTEM_PREFIX)]
    return [f"metrics.{k}" for k in metrics[:DEFAULT_METRIC_COLUMNS]] + [
        f"params.{k}" for k in keys.params[:DEFAULT_PARAM_COLUMNS]
    ]


def split_metrics(run: Run) -> tuple[list[str], list[str]]:
    """A run's metric keys: training metrics first, ``system/...`` ones second, each sorted."""
    keys = sorted(run.metrics)
    return (
        [k for k in keys if not k.startswith(SYSTEM_PREFIX)],
        [k for k in keys if k.startswith(SYSTEM_PREFIX)],
    )


def run_json(run: Run) -> str:
    """The wire form of a run, for the page's scripts."""
    return RunOut.of(run).model_dump_json()


@dataclass(frozen=True, slots=True)
class CompareRow:
    """One row of the compare table: a key and its value in each run; ``differs`` if not all
    equal (a missing value differs from any value)."""

    section: str
    key: str
    values: tuple[str, ...]
    differs: bool


def compare_sections(runs: Sequence[Run]) -> list[tuple[str, list[CompareRow]]]:
    """The compare table: run attributes, then params, then metrics (every key any run has)."""
    attributes = [
        _row("run", "status", [r.status.value for r in runs]),
        _row("run", "user", [r.user or MISSING for r in runs]),
        _row("run", "duration", [duration(r.duration_ms) for r in runs]),
    ]
    params = [
        _row("params", key, [_param(r.params, key) for r in runs])
        for key in sorted({k for r in runs for k in r.params})
    ]
    metrics = [
        _row(
            "metrics",
            key,
            [number(r.metrics[key].last) if key in r.metrics else MISSING for r in runs],
        )
        for key in sorted({k for r in runs for k in r.metrics}, key=_metric_order)
    ]
    return [
        (name, rows)
        for name, rows in (("run", attributes), ("params", params), ("metrics", metrics))
        if rows
    ]


def compare_json(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """What the compare page's scripts need of each run: id, name, colour, params, metrics."""
    return [
        {
            "id": run.id,
            "name": run.name or run.id,
            "color": PALETTE[i % len(PALETTE)],
            "params": dict(run.params),
            "metrics": {k: _finite(m.last) for k, m in run.metrics.items()},
        }
        for i, run in enumerate(runs)
    ]


def _row(section: str, key: str, values: list[str]) -> CompareRow:
    return CompareRow(section, key, tuple(values), len(set(values)) > 1)


def _param(params: Mapping[str, Any], key: str) -> str:
    return param_text(params[key]) if key in params else MISSING


def _metric_order(key: str) -> tuple[bool, str]:
    return key.startswith(SYSTEM_PREFIX), key


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None
