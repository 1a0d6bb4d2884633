"""What the hub's pages need to know about a store beyond the ``RunStore`` protocol.

Run counts, last activity and the param/metric/tag keys present in a project are one aggregate
query each on a SQL store (fast with 10,000+ runs); any other ``RunStore`` gets the same answers
by paging through ``search_runs``, capped at :data:`SCAN_LIMIT` runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from shipyard.domain.entities import Project, Run
from shipyard.store.base import RunStore, SearchQuery
from shipyard.store.sql.engine import translate_errors
from shipyard.store.sql.models import MetricSummaryRow, ParamRow, RunRow, TagRow
from shipyard.store.sql.store import SqlRunStore

SCAN_LIMIT = 10_000
"""Most runs a non-SQL store is scanned for (counts beyond show as a lower bound)."""
MAX_KEYS = 1_000
"""Most keys of each kind listed for a project's column picker."""
_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """A project with its number of (live) runs and the time of its latest activity."""

    name: str
    description: str
    created_at: int
    run_count: int
    last_activity: int | None
    count_is_lower_bound: bool = False


@dataclass(frozen=True, slots=True)
class ColumnKeys:
    """The param, metric and tag keys present in a project's runs, each sorted."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]
    tags: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        """JSON-able form."""
        return {"params": list(self.params), "metrics": list(self.metrics), "tags": list(self.tags)}


def project_summaries(store: RunStore) -> list[ProjectSummary]:
    """Every project with its run count and last activity, by name."""
    projects = store.list_projects()
    if isinstance(store, SqlRunStore):
        return _sql_summaries(store, projects)
    return [_scanned_summary(store, p) for p in projects]


def column_keys(store: RunStore, project: str) -> ColumnKeys:
    """The keys present in the live runs of ``project``. Raises ``NotFound`` for no such project."""
    project_id = store.get_project(project).id
    if isinstance(store, SqlRunStore):
        return _sql_keys(store, project_id)
    return _keys_of(_scan(store, project))


# -- SQL fast path --------------------------------------------------------------------------


def _sql_summaries(store: SqlRunStore, projects: Sequence[Project]) -> list[ProjectSummary]:
    live = RunRow.deleted.is_(False)
    runs = (
        sa.select(
            RunRow.project_id,
            sa.func.count(),
            sa.func.max(RunRow.start_time),
            sa.func.max(RunRow.end_time),
        )
        .where(live)
        .group_by(RunRow.project_id)
    )
    metrics = (
        sa.select(RunRow.project_id, sa.func.max(MetricSummaryRow.last_timestamp))
        .join(MetricSummaryRow, MetricSummaryRow.run_id == RunRow.id)
        .where(live)
        .group_by(RunRow.project_id)
    )
    with translate_errors(store.engine.url), store.engine.connect() as conn:
        counts = {row[0]: (int(row[1]), row[2], row[3]) for row in conn.execute(runs)}
        latest = {row[0]: row[1] for row in conn.execute(metrics)}
    summaries = []
    for project in projects:
        count, started, ended = counts.get(project.id, (0, None, None))
        last = _latest(started, ended, latest.get(project.id))
        summaries.append(
            ProjectSummary(project.name, project.description, project.created_at, count, last)
        )
    return summaries


def _sql_keys(store: SqlRunStore, project_id: str) -> ColumnKeys:
    runs = sa.select(RunRow.id).where(RunRow.project_id == project_id, RunRow.deleted.is_(False))

    def distinct(
        table: type[ParamRow] | type[TagRow] | type[MetricSummaryRow],
    ) -> sa.Select[tuple[str]]:
        return (
            sa.select(table.key)
            .where(table.run_id.in_(runs))
            .distinct()
            .order_by(table.key)
            .limit(MAX_KEYS)
        )

    with translate_errors(store.engine.url), store.engine.connect() as conn:
        params, metrics, tags = (
            tuple(conn.scalars(distinct(t))) for t in (ParamRow, MetricSummaryRow, TagRow)
        )
    return ColumnKeys(params, metrics, tags)


def _latest(*times: int | None) -> int | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


# -- any RunStore ---------------------------------------------------------------------------


def _scan(store: RunStore, project: str) -> Iterator[Run]:
    """The project's runs, newest first, at most :data:`SCAN_LIMIT` of them."""
    token: str | None = None
    seen = 0
    while seen < SCAN_LIMIT:
        page = store.search_runs(SearchQuery(project=project, limit=_PAGE, page_token=token))
        yield from page.items
        seen += len(page.items)
        token = page.next_page_token
        if token is None:
            return


def _scanned_summary(store: RunStore, project: Project) -> ProjectSummary:
    count, last = 0, None
    for run in _scan(store, project.name):
        count += 1
        metric_times = (m.last_timestamp for m in run.metrics.values())
        last = _latest(last, run.start_time, run.end_time, *metric_times)
    return ProjectSummary(
        project.name,
        project.description,
        project.created_at,
        count,
        last,
        count_is_lower_bound=count >= SCAN_LIMIT,
    )


def _keys_of(runs: Iterable[Run]) -> ColumnKeys:
    params: set[str] = set()
    metrics: set[str] = set()
    tags: set[str] = set()
    for run in runs:
        params.update(run.params)
        metrics.update(run.metrics)
        tags.update(run.tags)
    return ColumnKeys(
        tuple(sorted(params)[:MAX_KEYS]),
        tuple(sorted(metrics)[:MAX_KEYS]),
        tuple(sorted(tags)[:MAX_KEYS]),
    )
