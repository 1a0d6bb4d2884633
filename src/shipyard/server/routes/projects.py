"""Health and project routes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shipyard.api import routes
from shipyard.api.schemas import Health, ProjectCreate, ProjectList, ProjectOut
from shipyard.server._deps import Store, errors, json_response, server_version

router = APIRouter(tags=["projects"])


@router.get(
    routes.HEALTH,
    response_model=Health,
    tags=["health"],
    summary="Health check",
    description="Answers `{status: ok, version}` while the server runs; no store access.",
)
def health() -> Response:
    """Liveness probe."""
    return json_response(Health(status="ok", version=server_version()))


@router.get(
    routes.PROJECTS,
    response_model=ProjectList,
    summary="List projects",
    description="Every project, ordered by name.",
)
def list_projects(store: Store) -> Response:
    """Every project."""
    return json_response(ProjectList(projects=[ProjectOut.of(p) for p in store.list_projects()]))


@router.post(
    routes.PROJECTS,
    response_model=ProjectOut,
    status_code=201,
    responses=errors(409),
    summary="Create a project",
    description="Create a project; 409 `already_exists` when the name is taken.",
)
def create_project(body: ProjectCreate, store: Store) -> Response:
    """Create a project."""
    project = store.create_project(body.name, body.description)
    return json_response(ProjectOut.of(project), status_code=201)


@router.get(
    routes.PROJECT,
    response_model=ProjectOut,
    responses=errors(404),
    summary="Get a project",
    description="One project by name; 404 `not_found` naming it when it does not exist.",
)
def get_project(name: str, store: Store) -> Response:
    """One project."""
    return json_response(ProjectOut.of(store.get_project(name)))
