"""Run routes: create, read, update, delete/restore, params, tags and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from shipyard.api import routes
from shipyard.api.schemas import (
    ParamsIn,
    RunCreate,
    RunOut,
    RunPage,
    RunUpdate,
    SearchRequest,
    TagsIn,
)
from shipyard.server._deps import Store, errors, json_response
from shipyard.store.base import SearchQuery

router = APIRouter(tags=["runs"])

NO_CONTENT = 204


def _search(store: Store, request: SearchRequest) -> Response:
    query = SearchQuery(
        project=request.project,
        filter=request.filter,
        order_by=tuple(request.order_by),
        limit=request.limit,
        page_token=request.page_token,
        include_deleted=request.include_deleted,
    )
    page = store.search_runs(query)
    runs = [RunOut.of(run) for run in page.items]
    return json_response(RunPage(runs=runs, next_page_token=page.next_page_token))


@router.post(
    routes.RUNS,
    response_model=RunOut,
    status_code=201,
    responses=errors(404),
    summary="Create a run",
    description="Create a RUNNING run, creating the project when missing. With `run_id` the call "
    "is idempotent: the same id in the same project returns the existing run.",
)
def create_run(body: RunCreate, store: Store) -> Response:
    """Create a run."""
    run = store.create_run(
        body.project,
        name=body.name,
        user=body.user,
        params=body.params,
        tags=body.tags,
        parent_id=body.parent_id,
        start_time=body.start_time,
        run_id=body.run_id,
    )
    return json_response(RunOut.of(run), status_code=201)


@router.post(
    routes.RUNS_SEARCH,
    response_model=RunPage,
    responses=errors(404),
    summary="Search runs",
    description="Filter (`metrics.acc > 0.9 AND params.model = 'rf'`), order "
    "(`-metrics.acc`, `start_time DESC`) and page runs; pass `next_page_token` back as "
    "`page_token` for the next page. 400 `filter_syntax` names the offending token.",
)
def search_runs(body: SearchRequest, store: Store) -> Response:
    """Search runs (JSON body)."""
    return _search(store, body)


@router.get(
    routes.RUNS,
    response_model=RunPage,
    responses=errors(404),
    summary="Search runs (query string)",
    description="The same search as `POST /api/v1/runs/search`, for curl: `order_by` may be "
    "repeated or comma-separated.",
)
def list_runs(
    store: Store,
    project: str | None = None,
    filter: str = "",
    order_by: Annotated[list[str] | None, Query()] = None,
    limit: int = 100,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> Response:
    """Search runs (query string)."""
    terms = [t.strip() for item in order_by or () for t in item.split(",") if t.strip()]
    request = SearchRequest(
        project=project,
        filter=filter,
        order_by=terms,
        limit=limit,
        page_token=page_token,
        include_deleted=include_deleted,
    )
    return _search(store, request)


@router.get(
    routes.RUN,
    response_model=RunOut,
    responses=errors(404),
    summary="Get a run",
    description="A run with its params, tags and metric summaries (last, min, max, count).",
)
def get_run(run_id: str, store: Store) -> Response:
    """One run."""
    return json_response(RunOut.of(store.get_run(run_id)))


@router.patch(
    routes.RUN,
    response_model=RunOut,
    responses=errors(404),
    summary="Update a run",
    description="Change the given fields (name, notes, status, end_time, error); returns the run.",
)
def update_run(run_id: str, body: RunUpdate, store: Store) -> Response:
    """Update a run."""
    run = store.update_run(run_id, **body.model_dump(exclude_unset=True))
    return json_response(RunOut.of(run))


@router.delete(
    routes.RUN,
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Delete a run (soft)",
    description="Soft-delete: the run disappears from searches until restored.",
)
def delete_run(run_id: str, store: Store) -> Response:
    """Soft-delete a run."""
    store.delete_run(run_id)
    return Response(status_code=NO_CONTENT)


@router.post(
    routes.RUN_RESTORE,
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Restore a deleted run",
    description="Undo a soft delete.",
)
def restore_run(run_id: str, store: Store) -> Response:
    """Restore a run."""
    store.restore_run(run_id)
    return Response(status_code=NO_CONTENT)


@router.post(
    routes.RUN_PARAMS,
    status_code=NO_CONTENT,
    responses=errors(404, 409),
    summary="Log params",
    description="Add params (typed: string, number, boolean or null). Setting a param again with "
    "the same value is a no-op; another value is 409 `conflict`.",
)
def log_params(run_id: str, body: ParamsIn, store: Store) -> Response:
    """Add params."""
    store.log_params(run_id, body.params)
    return Response(status_code=NO_CONTENT)


@router.post(
    routes.RUN_TAGS,
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Set tags",
    description="Set or overwrite string tags.",
)
def set_tags(run_id: str, body: TagsIn, store: Store) -> Response:
    """Set tags."""
    store.set_tags(run_id, body.tags)
    return Response(status_code=NO_CONTENT)


@router.delete(
    routes.RUN_TAG.replace("{key}", "{key:path}"),  # tag keys may contain '/'
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Delete a tag",
    description="Remove a tag; 404 when it is not set. Percent-encode '/' in the key.",
)
def delete_tag(run_id: str, key: str, store: Store) -> Response:
    """Remove a tag."""
    store.delete_tag(run_id, key)
    return Response(status_code=NO_CONTENT)
