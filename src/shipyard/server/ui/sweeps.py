"""The hub's sweep page: a hyperparameter sweep read back from its runs.

Everything comes from the metadata store: the sweep's parent run (its id is the sweep id) and
its child runs, one per trial. Optuna's own storage is never opened here, so the page works on
any hub that holds the runs, wherever the sweep ran. The page renders the header, the best trial
and the trials table on the server and leaves the best-so-far chart, sorting and the parallel
coordinates to its script.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from shipyard.domain.entities import Run
from shipyard.server._deps import Store
from shipyard.server.access import Need, by_run, rule
from shipyard.server.ui import _sweep_views as views
from shipyard.server.ui._templates import render
from shipyard.server.ui._views import quote_filter_text
from shipyard.server.ui.pages import _page
from shipyard.store.base import RunStore, SearchQuery

router = APIRouter(include_in_schema=False)

MAX_TRIALS = 5000
"""Trials a page shows (the first ones started)."""
TRIALS_PER_QUERY = 1000
"""Child runs fetched per search."""


@router.get("/sweeps/{sweep_id}", dependencies=[rule(Need.READ, project=by_run("sweep_id"))])
def sweep_page(request: Request, sweep_id: str, store: Store) -> Response:
    """One sweep: progress, best trial, best-so-far chart, trials and parallel coordinates."""

    def build() -> Response:
        parent = store.get_run(sweep_id)
        children, more = sweep_children(store, parent, MAX_TRIALS)
        sweep = views.sweep_of(parent, children)
        return render(
            request,
            "sweep.html",
            title=f"{parent.name or parent.id} · sweep",
            sweep=sweep,
            counts=sweep.counts,
            best=sweep.best,
            truncated=more,
            labels=views.STATE_LABELS,
            sweep_json=views.sweep_json(sweep),
        )

    return _page(request, build)


def sweep_children(store: RunStore, parent: Run, limit: int = MAX_TRIALS) -> tuple[list[Run], bool]:
    """The first ``limit`` child runs of ``parent`` by start time, and whether there are more."""
    found: list[Run] = []
    token: str | None = None
    while len(found) < limit:
        query = SearchQuery(
            project=parent.project,
            filter=f"parent_id = {quote_filter_text(parent.id)}",
            order_by=("start_time",),
            limit=min(TRIALS_PER_QUERY, limit - len(found)),
            page_token=token,
        )
        page = store.search_runs(query)
        found.extend(page.items)
        token = page.next_page_token
        if token is None:
            return found, False
    return found, True
