"""Run routes: create, read, update, delete/restore, params, tags and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

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
from shipyard.errors import NotFound
from shipyard.server._deps import Store, errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, by_run, rule
from shipyard.server.audit import audit
from shipyard.server.routes.projects import grant_creator
from shipyard.store.base import SearchQuery

router = APIRouter(tags=["runs"])

NO_CONTENT = 204


def visible_projects(store: Store, caller: Caller) -> list[str] | None:
    """The projects a caller may search (``None``: every project, for server admins)."""
    if caller.is_admin:
        return None
    return [p.name for p in store.list_projects() if caller.sees(p.name)]


def _search(store: Store, request: SearchRequest, caller: Caller) -> Response:
    if request.project is not None:
        caller.require(request.project, Need.READ)
    query = SearchQuery(
        project=request.project,
        filter=request.filter,
        order_by=tuple(request.order_by),
        limit=request.limit,
        page_token=request.page_token,
        include_deleted=request.include_deleted,
        projects=None if request.project is not None else visible_projects(store, caller),
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
    "is idempotent: the same id in the same project returns the existing run. With auth on, "
    "writing to an existing project needs its editor role; whoever creates a project becomes its "
    "admin.",
    dependencies=[rule(Need.USER)],
)
def create_run(body: RunCreate, store: Store, caller: CallerDep, request: Request) -> Response:
    """Create a run."""
    try:
        store.get_project(body.project)
        new_project = False
    except NotFound:
        new_project = True
    if not new_project:
        caller.require(body.project, Need.WRITE)
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
    if new_project:
        grant_creator(request, caller, body.project)
    return json_response(RunOut.of(run), status_code=201)


@router.post(
    routes.RUNS_SEARCH,
    response_model=RunPage,
    responses=errors(404),
    summary="Search runs",
    description="Filter (`metrics.acc > 0.9 AND params.model = 'rf'`), order "
    "(`-metrics.acc`, `start_time DESC`) and page runs; pass `next_page_token` back as "
    "`page_token` for the next page. 400 `filter_syntax` names the offending token. Without a "
    "project, every project the caller may see is searched.",
    dependencies=[rule(Need.USER, reads=True)],
)
def search_runs(body: SearchRequest, store: Store, caller: CallerDep) -> Response:
    """Search runs (JSON body)."""
    return _search(store, body, caller)


@router.get(
    routes.RUNS,
    response_model=RunPage,
    responses=errors(404),
    summary="Search runs (query string)",
    description="The same search as `POST /api/v1/runs/search`, for curl: `order_by` may be "
    "repeated or comma-separated.",
    dependencies=[rule(Need.USER)],
)
def list_runs(
    store: Store,
    caller: CallerDep,
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
    return _search(store, request, caller)


@router.get(
    routes.RUN,
    response_model=RunOut,
    responses=errors(404),
    summary="Get a run",
    description="A run with its params, tags and metric summaries (last, min, max, count).",
    dependencies=[rule(Need.READ, project=by_run())],
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
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def update_run(run_id: str, body: RunUpdate, store: Store, request: Request) -> Response:
    """Update a run (a change of its notes is audited with the notes before and after)."""
    before = store.get_run(run_id).notes if body.notes is not None else None
    run = store.update_run(run_id, **body.model_dump(exclude_unset=True))
    if before is not None and before != run.notes:
        audit(
            request,
            "run.notes.update",
            f"runs/{run_id}",
            before={"notes": before},
            after={"notes": run.notes},
        )
    return json_response(RunOut.of(run))


@router.delete(
    routes.RUN,
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Delete a run (soft)",
    description="Soft-delete: the run disappears from searches until restored. Project admins "
    "only.",
    dependencies=[rule(Need.ADMIN, project=by_run())],
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
    description="Undo a soft delete. Project admins only.",
    dependencies=[rule(Need.ADMIN, project=by_run())],
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
    dependencies=[rule(Need.WRITE, project=by_run())],
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
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def set_tags(run_id: str, body: TagsIn, store: Store, request: Request) -> Response:
    """Set tags (audited with their values before and after)."""
    old = store.get_run(run_id).tags
    store.set_tags(run_id, body.tags)
    before = {key: old.get(key) for key in body.tags}
    audit(request, "run.tags.set", f"runs/{run_id}/tags", before=before, after=dict(body.tags))
    return Response(status_code=NO_CONTENT)


@router.delete(
    routes.RUN_TAG.replace("{key}", "{key:path}"),  # tag keys may contain '/'
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Delete a tag",
    description="Remove a tag; 404 when it is not set. Percent-encode '/' in the key.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def delete_tag(run_id: str, key: str, store: Store, request: Request) -> Response:
    """Remove a tag (audited with its value before)."""
    before = store.get_run(run_id).tags.get(key)
    store.delete_tag(run_id, key)
    audit(request, "run.tag.delete", f"runs/{run_id}/tags/{key}", before=before)
    return Response(status_code=NO_CONTENT)
