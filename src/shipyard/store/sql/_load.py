"""Rows to domain runs, in a fixed number of queries (never one query per run).

Also the encoding of typed params into their three columns, which search relies on:

* ``value_json``: the exact typed value as JSON (``4``, ``0.5``, ``true``, ``null``, ``"adam"``);
* ``value_text``: the string itself for a ``str``, else the JSON text (``"4"``, ``"true"``);
* ``value_num``: the number for an ``int`` or ``float`` (not ``bool``), else NULL.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.entities import MetricSummary, ParamValue, Run, RunStatus
from shipyard.store.sql.models import MetricSummaryRow, ParamRow, ProjectRow, RunRow, TagRow

_IN_CHUNK = 500
"""Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits."""


def encode_param(value: ParamValue) -> tuple[str, str, float | None]:
    """``(value_json, value_text, value_num)`` of a typed param value.

    >>> encode_param(4), encode_param(True), encode_param("rf")
    (('4', '4', 4.0), ('true', 'true', None), ('"rf"', 'rf', None))
    """
    as_json = json.dumps(value)
    text = value if isinstance(value, str) else as_json
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    if number is not None and math.isnan(number):
        number = None  # NaN compares as nothing: keep it out of numeric filters and ordering
    return as_json, text, number


def decode_param(value_json: str) -> ParamValue:
    """The typed value back from ``value_json`` (ints stay ints, bools stay bools)."""
    value: ParamValue = json.loads(value_json)
    return value


def load_runs(session: Session, run_ids: Sequence[str]) -> list[Run]:
    """The runs with these ids, with params, tags and metric summaries, in the order of ``run_ids``.

    Ids that do not exist are left out. Costs four queries per 500 ids.
    """
    wanted = list(dict.fromkeys(run_ids))
    by_id: dict[str, Run] = {}
    for chunk in _chunks(wanted):
        by_id.update(_load_chunk(session, chunk))
    return [by_id[run_id] for run_id in run_ids if run_id in by_id]


def summary_from_row(row: Mapping[Any, Any]) -> MetricSummary:
    """A :class:`MetricSummary` from ``metric_summaries`` columns by name (NULL last = NaN)."""
    last, low, high = row["last_value"], row["min_value"], row["max_value"]
    return MetricSummary(
        key=row["key"],
        last=math.nan if last is None else float(last),
        last_step=int(row["last_step"]),
        last_timestamp=int(row["last_timestamp"]),
        min=None if low is None else float(low),
        max=None if high is None else float(high),
        count=int(row["count"]),
    )


def _load_chunk(session: Session, run_ids: list[str]) -> dict[str, Run]:
    params: dict[str, dict[str, ParamValue]] = defaultdict(dict)
    for row in session.execute(
        sa.select(ParamRow.run_id, ParamRow.key, ParamRow.value_json)
        .where(ParamRow.run_id.in_(run_ids))
        .order_by(ParamRow.run_id, ParamRow.key)
    ):
        params[row.run_id][row.key] = decode_param(row.value_json)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for row in session.execute(
        sa.select(TagRow.run_id, TagRow.key, TagRow.value)
        .where(TagRow.run_id.in_(run_ids))
        .order_by(TagRow.run_id, TagRow.key)
    ):
        tags[row.run_id][row.key] = row.value
    metrics = _load_summaries(session, run_ids)
    return {
        row.id: _run_from_row(row, params[row.id], tags[row.id], metrics[row.id])
        for row in session.execute(_RUN_COLUMNS.where(RunRow.id.in_(run_ids)))
    }


def _load_summaries(session: Session, run_ids: list[str]) -> dict[str, dict[str, MetricSummary]]:
    metrics: dict[str, dict[str, MetricSummary]] = defaultdict(dict)
    table = cast(sa.Table, MetricSummaryRow.__table__)
    for row in session.execute(
        sa.select(table).where(table.c.run_id.in_(run_ids)).order_by(table.c.run_id, table.c.key)
    ):
        metrics[row.run_id][row.key] = summary_from_row(row._mapping)
    return metrics


_RUN_COLUMNS = sa.select(
    RunRow.id,
    ProjectRow.name.label("project"),
    RunRow.name,
    RunRow.status,
    RunRow.user,
    RunRow.start_time,
    RunRow.end_time,
    RunRow.parent_id,
    RunRow.error,
    RunRow.notes,
    RunRow.deleted,
).join(ProjectRow, ProjectRow.id == RunRow.project_id)


def _run_from_row(
    row: Any,
    params: dict[str, ParamValue],
    tags: dict[str, str],
    metrics: dict[str, MetricSummary],
) -> Run:
    return Run(
        id=row.id,
        project=row.project,
        name=row.name,
        status=RunStatus(row.status),
        user=row.user,
        start_time=int(row.start_time),
        end_time=None if row.end_time is None else int(row.end_time),
        parent_id=row.parent_id,
        error=row.error,
        notes=row.notes,
        deleted=bool(row.deleted),
        params=params,
        tags=tags,
        metrics=metrics,
    )


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]
