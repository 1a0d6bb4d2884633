"""HTML pages of the hub's datasets: every dataset, one dataset's versions and lineage, and one
version's files.

Pages render their tables on the server; a version's manifest (up to hundreds of thousands of
files) is left to the page's script, which fetches it from the REST API once and filters and
pages it in the browser. ``/datasets/{name}?version=3`` is the same page as
``/datasets/{name}/versions/3``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from shipyard.api.datasets import DATASET_VERSION
from shipyard.domain.datasets import DatasetUsage, DatasetVersion, validate_dataset_name
from shipyard.domain.entities import Run
from shipyard.server._deps import Store
from shipyard.server.access import Caller, CallerDep, Need, rule
from shipyard.server.routes.datasets import get_datasets, parse_version
from shipyard.server.ui import _dataset_views as views
from shipyard.server.ui._templates import render
from shipyard.server.ui._views import quote_filter_text
from shipyard.server.ui.pages import _page
from shipyard.store.base import RunStore, SearchQuery

router = APIRouter(include_in_schema=False)

MAX_LINEAGE_ROWS = 200
"""Lineage records a page shows (the most recent ones)."""
RUNS_PER_QUERY = 100
"""Run ids looked up per ``id IN (...)`` search."""
MANIFEST_PAGE_SIZES = (50, 100, 250, 500)
DEFAULT_MANIFEST_PAGE_SIZE = 100


@router.get("/datasets", dependencies=[rule(Need.USER)])
def datasets_page(request: Request) -> Response:
    """Every dataset with its latest version."""

    def build() -> Response:
        datasets = get_datasets(request).list_datasets()
        return render(request, "datasets.html", title="Datasets", nav="datasets", datasets=datasets)

    return _page(request, build)


@router.get("/datasets/{name}", dependencies=[rule(Need.USER)])
def dataset_page(
    request: Request, name: str, store: Store, caller: CallerDep, version: str | None = None
) -> Response:
    """A dataset's versions, newest first, and the runs that consumed or produced them."""

    def build() -> Response:
        if version is not None:
            return RedirectResponse(version_url(name, version), status_code=303)
        datasets = get_datasets(request)
        versions = list(reversed(datasets.list_dataset_versions(name)))
        usages = datasets.runs_using_dataset(name)
        return render(
            request,
            "dataset.html",
            title=name,
            nav="datasets",
            name=name,
            versions=versions,
            counts=views.usage_counts(usages),
            **_lineage(store, usages, caller),
        )

    return _page(request, build)


@router.get("/datasets/{name}/versions/{version}", dependencies=[rule(Need.USER)])
def version_page(
    request: Request, name: str, version: str, store: Store, caller: CallerDep
) -> Response:
    """One version: its details, the runs that used it, and its files (filtered, paged)."""

    def build() -> Response:
        datasets = get_datasets(request)
        found = datasets.get_dataset_version(name, parse_version(version))
        older, newer = views.neighbours(datasets.list_dataset_versions(name), found.version)
        usages = datasets.runs_using_dataset(name, found.version)
        return render(
            request,
            "dataset_version.html",
            title=f"{found.name} v{found.version}",
            nav="datasets",
            version=found,
            older=older,
            newer=newer,
            data=_manifest_data(found),
            **_lineage(store, usages, caller),
        )

    return _page(request, build)


def version_url(name: str, version: str) -> str:
    """The page of one version (``version`` is checked: a number from 1, or ``latest``)."""
    validate_dataset_name(name)
    number = parse_version(version)
    segment = "latest" if number is None else str(number)
    return f"/datasets/{quote(name, safe='')}/versions/{segment}"


def runs_by_id(store: RunStore, run_ids: Iterable[str]) -> dict[str, Run]:
    """The runs with these ids that exist (deleted ones included), by id."""
    ids = sorted(run_ids)
    found: dict[str, Run] = {}
    for start in range(0, len(ids), RUNS_PER_QUERY):
        chunk = ids[start : start + RUNS_PER_QUERY]
        listed = ", ".join(quote_filter_text(run_id) for run_id in chunk)
        query = SearchQuery(filter=f"id IN ({listed})", limit=len(chunk), include_deleted=True)
        found.update((run.id, run) for run in store.search_runs(query).items)
    return found


def _lineage(store: RunStore, usages: Sequence[DatasetUsage], caller: Caller) -> dict[str, Any]:
    """The most recent lineage records with their runs, and how many records there are. Runs in
    projects the caller may not see are left out."""
    if not caller.is_admin:
        everything = runs_by_id(store, {usage.run_id for usage in usages})
        usages = [
            u
            for u in usages
            if u.run_id in everything and caller.sees(everything[u.run_id].project)
        ]
    shown = views.newest_usages(usages, MAX_LINEAGE_ROWS)
    runs = runs_by_id(store, {usage.run_id for usage in shown})
    return {"lineage": views.lineage_rows(shown, runs), "lineage_total": len(set(usages))}


def _manifest_data(version: DatasetVersion) -> dict[str, Any]:
    """What the manifest script needs: where the files are listed, and the paging choices."""
    url = DATASET_VERSION.format(name=quote(version.name, safe=""), version=version.version)
    return {
        "name": version.name,
        "version": version.version,
        "fileCount": version.file_count,
        "manifestUrl": url,
        "pageSizes": list(MANIFEST_PAGE_SIZES),
        "defaultPageSize": DEFAULT_MANIFEST_PAGE_SIZE,
    }
