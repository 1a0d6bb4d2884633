"""``runs/search`` over the native keyset search.

One experiment: the native search with its own page token (fast at any depth). Several
experiments: each one's first ``offset + max_results`` runs are merged in Python and the page
token is an offset (``o:<n>``).
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.domain.entities import Run
from shipyard.domain.filter import OrderTerm, parse_order_by
from shipyard.errors import InvalidArgument
from shipyard.server.mlflow import _convert
from shipyard.server.mlflow._access import CompatStore
from shipyard.server.mlflow._filter import translate_filter, translate_order
from shipyard.server.mlflow._wire import Fields
from shipyard.store.base import SearchQuery

MAX_RESULTS = 50_000
_VIEWS = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")


def search_runs(store: CompatStore, ids: list[int], fields: Fields) -> dict[str, Any]:
    """The ``SearchRuns`` response for experiments ``ids``."""
    view = fields.text("run_view_type", "ACTIVE_ONLY") or "ACTIVE_ONLY"
    if view not in _VIEWS:
        raise InvalidArgument(f"invalid run_view_type {view!r}", hint="use " + ", ".join(_VIEWS))
    limit = fields.integer("max_results", 1000) or 1000
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidArgument(
            f"max_results must be between 1 and {MAX_RESULTS}, got {limit}",
            hint="page with next_page_token",
        )
    projects = [store.mlflow_experiment(i).name for i in ids]
    query = SearchQuery(
        filter=translate_filter(fields.text("filter")),
        order_by=translate_order([str(t) for t in fields.items("order_by")]),
        limit=limit,
        include_deleted=view != "ACTIVE_ONLY",
    )
    token = fields.text("page_token")
    if len(projects) == 1:
        runs, next_token = _one(store, projects[0], query, token)
    else:
        runs, next_token = _many(store, projects, query, token)
    if view == "DELETED_ONLY":
        runs = [r for r in runs if r.deleted]
    exp_ids = store.mlflow_experiment_ids(sorted({r.project for r in runs})) if runs else {}
    body: dict[str, Any] = {"runs": [_convert.run(r, exp_ids[r.project]) for r in runs]}
    if next_token:
        body["next_page_token"] = next_token
    return body


def _one(
    store: CompatStore, project: str, query: SearchQuery, token: str | None
) -> tuple[list[Run], str | None]:
    page = store.search_runs(_with(query, project=project, page_token=token or None))
    return list(page.items), page.next_page_token


def _many(
    store: CompatStore, projects: list[str], query: SearchQuery, token: str | None
) -> tuple[list[Run], str | None]:
    offset = _offset(token)
    wanted = offset + query.limit
    found: list[Run] = []
    for project in projects:
        found.extend(_first(store, _with(query, project=project), wanted))
    terms = parse_order_by(query.order_by)
    found.sort(key=lambda r: (r.start_time, r.id), reverse=True)
    for term in reversed(terms):
        found.sort(key=lambda r, t=term: _sort_value(r, t), reverse=term.descending)  # type: ignore[misc]
    page = found[offset:wanted]
    more = len(found) > wanted
    return page, f"o:{wanted}" if more else None


def _first(store: CompatStore, query: SearchQuery, count: int) -> list[Run]:
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < count:
        page = store.search_runs(_with(query, page_token=token, limit=min(1000, count)))
        runs.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    return runs[: count + 1]


def _sort_value(run: Run, term: OrderTerm) -> tuple[int, Any]:
    """A sortable value: missing values last whatever the direction."""
    field = term.field
    value: Any
    if field.kind == "metric":
        summary = run.metrics.get(field.key)
        value = None if summary is None else getattr(summary, field.agg or "last")
        if isinstance(value, float) and math.isnan(value):
            value = None
    elif field.kind == "param":
        value = run.params.get(field.key)
        value = None if value is None else str(value)
    elif field.kind == "tag":
        value = run.tags.get(field.key)
    else:
        value = getattr(run, field.key, None)
    missing = value is None
    rank = (1 if missing else 0) if not term.descending else (0 if missing else 1)
    return rank, "" if missing else value


def _with(query: SearchQuery, **changes: Any) -> SearchQuery:
    from dataclasses import replace

    return replace(query, **changes)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.startswith("o:") or not token[2:].isdigit():
        raise InvalidArgument(f"invalid page token {token!r}", hint="pass next_page_token back")
    return int(token[2:])
