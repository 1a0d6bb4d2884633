"""HTML pages of the hub: projects, a project's runs, one run, and runs compared.

Each page has a stable URL whose query string holds its state (filter, order, columns,
selection), so a link shows a colleague exactly what you see. Pages render what is cheap on the
server (tables of params, Markdown notes) and leave charts, artifact previews and live updates
to the page's own script, which talks to the REST API under ``/api/v1``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from shipyard.api.schemas import RunOut, RunPage
from shipyard.domain.entities import Run
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.server._deps import Store
from shipyard.server.access import CallerDep, Need, by_path, by_run, rule
from shipyard.server.ui import _views as views
from shipyard.server.ui._catalog import column_keys, project_summaries
from shipyard.server.ui._markdown import render_markdown
from shipyard.server.ui._sweep_views import sweep_link
from shipyard.server.ui._templates import render
from shipyard.store.base import RunStore, SearchQuery

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_CHILDREN = 100
MIN_COMPARE, MAX_COMPARE = 2, 10


def _page(request: Request, build: Callable[[], Response]) -> Response:
    """Build a page; a Shipyard error becomes an HTML error page with its status."""
    try:
        return build()
    except ShipyardError as exc:
        return render(request, "error.html", status_code=exc.http_status, error=exc, title="Error")


@router.get("/", dependencies=[rule(Need.USER)])
def projects_page(request: Request, store: Store, caller: CallerDep) -> Response:
    """Every project the caller may see, with its run count and last activity."""
    return _page(
        request,
        lambda: render(
            request,
            "projects.html",
            title="Projects",
            nav="projects",
            projects=[p for p in project_summaries(store) if caller.sees(p.name)],
        ),
    )


@router.get("/projects/{name}", dependencies=[rule(Need.READ, project=by_path("name"))])
def runs_page(
    request: Request,
    name: str,
    store: Store,
    filter: str = "",
    order: str = "",
    limit: int = DEFAULT_PAGE_SIZE,
    after: str | None = None,
) -> Response:
    """The runs table of a project; its first page is embedded so rows show at once."""

    def build() -> Response:
        project = store.get_project(name)
        keys = column_keys(store, name)
        query = {"filter": filter, "order": order, "limit": _page_size(limit), "after": after}
        data = {
            "project": project.name,
            "keys": keys.as_dict(),
            "defaultColumns": views.default_columns(keys),
            "pageSizes": list(PAGE_SIZES),
            "query": query,
            "initial": _first_page(store, project.name, query),
        }
        return render(request, "runs.html", title=project.name, project=project, data=data)

    return _page(request, build)


@router.get("/runs/{run_id}", dependencies=[rule(Need.READ, project=by_run())])
def run_page(request: Request, run_id: str, store: Store) -> Response:
    """One run: overview, params, metrics, system, artifacts, environment and inputs."""

    def build() -> Response:
        run = store.get_run(run_id)
        metrics, system = views.split_metrics(run)
        return render(
            request,
            "run.html",
            title=run.name or run.id,
            run=run,
            parent=_parent(store, run),
            children=_children(store, run),
            sweep=sweep_link(run),
            notes_html=render_markdown(run.notes),
            metric_keys=metrics,
            system_keys=system,
            run_json=views.run_json(run),
        )

    return _page(request, build)


@router.get("/compare", dependencies=[rule(Need.USER)])
def compare_page(request: Request, store: Store, caller: CallerDep, runs: str = "") -> Response:
    """Two to ten runs side by side: charts, differing values, parallel coordinates, code."""

    def build() -> Response:
        chosen = [store.get_run(run_id) for run_id in _compare_ids(runs)]
        for run in chosen:
            caller.require(run.project, Need.READ)
        return render(
            request,
            "compare.html",
            title="Compare runs",
            runs=chosen,
            colors=[views.PALETTE[i % len(views.PALETTE)] for i in range(len(chosen))],
            sections=views.compare_sections(chosen),
            compare_json=views.compare_json(chosen),
        )

    return _page(request, build)


# -- helpers --------------------------------------------------------------------------------


def _page_size(limit: int) -> int:
    return limit if limit in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _first_page(store: RunStore, project: str, query: dict[str, Any]) -> dict[str, Any]:
    """The page the URL names, as the API would answer it (an error body on a bad filter)."""
    order = [t.strip() for t in str(query["order"]).split(",") if t.strip()]
    search = SearchQuery(
        project=project,
        filter=str(query["filter"]),
        order_by=tuple(order),
        limit=int(query["limit"]),
        page_token=query["after"],
    )
    try:
        page = store.search_runs(search)
    except InvalidArgument as exc:
        return {"error": exc.to_dict()}
    wire = RunPage(runs=[RunOut.of(r) for r in page.items], next_page_token=page.next_page_token)
    # through JSON text, so that NaN and infinities become strings as in API responses
    return {"page": json.loads(wire.model_dump_json())}


def _parent(store: RunStore, run: Run) -> Run | None:
    if run.parent_id is None:
        return None
    try:
        return store.get_run(run.parent_id)
    except NotFound:
        return None


def _children(store: RunStore, run: Run) -> list[Run]:
    query = SearchQuery(
        project=run.project,
        filter=f"parent_id = {views.quote_filter_text(run.id)}",
        order_by=("start_time",),
        limit=MAX_CHILDREN,
    )
    return list(store.search_runs(query).items)


def _compare_ids(text: str) -> list[str]:
    ids = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not MIN_COMPARE <= len(ids) <= MAX_COMPARE:
        raise InvalidArgument(
            f"compare takes {MIN_COMPARE} to {MAX_COMPARE} runs, got {len(ids)}",
            hint="pick runs with the checkboxes of a runs table, then press Compare",
        )
    return ids
