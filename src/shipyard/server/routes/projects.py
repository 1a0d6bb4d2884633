"""Health and project routes.

With auth on, a signed-in user who creates a project (here, or by starting a run in a new one)
becomes its admin: :func:`grant_creator`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from shipyard.api import routes
from shipyard.api.schemas import Health, ProjectCreate, ProjectList, ProjectOut
from shipyard.domain.auth import Role
from shipyard.server._deps import Store, errors, json_response, server_version
from shipyard.server.access import Caller, CallerDep, Need, by_path, rule
from shipyard.server.audit import audit
from shipyard.store.auth import AuthStore

router = APIRouter(tags=["projects"])


@router.get(
    routes.HEALTH,
    response_model=Health,
    tags=["health"],
    summary="Health check",
    description="Answers `{status: ok, version}` while the server runs; no store access.",
    dependencies=[rule(Need.PUBLIC)],
)
def health() -> Response:
    """Liveness probe."""
    return json_response(Health(status="ok", version=server_version()))


@router.get(
    routes.PROJECTS,
    response_model=ProjectList,
    summary="List projects",
    description="Every project the caller may see, ordered by name.",
    dependencies=[rule(Need.USER)],
)
def list_projects(store: Store, caller: CallerDep) -> Response:
    """Every project the caller sees."""
    projects = [ProjectOut.of(p) for p in store.list_projects() if caller.sees(p.name)]
    return json_response(ProjectList(projects=projects))


@router.post(
    routes.PROJECTS,
    response_model=ProjectOut,
    status_code=201,
    responses=errors(409),
    summary="Create a project",
    description="Create a project; 409 `already_exists` when the name is taken. With auth on, "
    "its creator becomes its admin.",
    dependencies=[rule(Need.USER)],
)
def create_project(
    body: ProjectCreate, store: Store, caller: CallerDep, request: Request
) -> Response:
    """Create a project."""
    project = store.create_project(body.name, body.description)
    grant_creator(request, caller, project.name)
    return json_response(ProjectOut.of(project), status_code=201)


@router.get(
    routes.PROJECT,
    response_model=ProjectOut,
    responses=errors(404),
    summary="Get a project",
    description="One project by name; 404 `not_found` naming it when it does not exist (or "
    "when the caller is not a member).",
    dependencies=[rule(Need.READ, project=by_path("name"))],
)
def get_project(name: str, store: Store) -> Response:
    """One project."""
    return json_response(ProjectOut.of(store.get_project(name)))


def grant_creator(request: Request, caller: Caller, project: str) -> None:
    """Make the signed-in creator of a new project its admin (auth on, not a server admin)."""
    store = request.app.state.store
    auth_on = getattr(request.app.state, "auth", None) is not None
    if not auth_on or caller.is_admin or not isinstance(store, AuthStore):
        return
    before = store.grant_role(project, caller.user, Role.ADMIN)
    audit(
        request,
        "project.create",
        f"projects/{project}",
        before={"role": None if before is None else before.value},
        after={"admin": caller.user},
    )
