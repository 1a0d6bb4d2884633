"""Model registry routes: registered models, versions, tags and aliases.

Access: a registered model's project decides (``READ`` to look, ``WRITE`` to change, ``ADMIN``
to delete). Creating one needs ``WRITE`` on the project named in the body, checked in the
handler since the rule runs before the body is read. Alias moves and deletes are audited with
their before and after versions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from shipyard.api import models as api
from shipyard.api.models import (
    AliasIn,
    AliasMoved,
    DescriptionPatch,
    ModelVersionCreate,
    ModelVersionList,
    ModelVersionOut,
    RegisteredModelCreate,
    RegisteredModelList,
    RegisteredModelOut,
    TagValueIn,
)
from shipyard.domain.models import LATEST, ModelVersion
from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.registry import latest_version
from shipyard.server._deps import errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, rule
from shipyard.server.audit import audit
from shipyard.store.registry import RegistryStore
from shipyard.store.triggers import emit_event

router = APIRouter(tags=["models"])
NO_CONTENT = 204


def get_registry(request: Request) -> RegistryStore:
    """The app's metadata store, as a registry store."""
    store = request.app.state.store
    if not isinstance(store, RegistryStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) has no model registry",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


Registry = Annotated[RegistryStore, Depends(get_registry)]


def model_project(request: Request) -> str:
    """The project of the registered model named in the path (``NotFound`` when missing)."""
    return get_registry(request).get_registered_model(str(request.path_params["name"])).project


READ_MODEL = [rule(Need.READ, project=model_project)]
WRITE_MODEL = [rule(Need.WRITE, project=model_project)]
ADMIN_MODEL = [rule(Need.ADMIN, project=model_project)]


def parse_version(registry: RegistryStore, name: str, version: str) -> int:
    """A ``{version}`` path segment: a number from 1, or ``latest``."""
    if version == LATEST:
        return latest_version(registry, name).version
    if not version.isdigit() or int(version) < 1:
        raise InvalidArgument(
            f"invalid model version {version!r}", hint="use a version number from 1, or 'latest'"
        )
    return int(version)


def _version(version: ModelVersion, status_code: int = 200) -> Response:
    return json_response(ModelVersionOut.of(version), status_code=status_code)


def _author(request: Request, caller: Caller, given: str) -> str:
    """Who created something: the signed-in caller, or what the client says when auth is off."""
    return caller.user if getattr(request.app.state, "auth", None) is not None else given


# -- registered models ----------------------------------------------------------------------


@router.get(
    api.MODELS,
    response_model=RegisteredModelList,
    responses=errors(),
    dependencies=[rule(Need.USER)],
    summary="List registered models",
    description="Registered models the caller may see, by name; `project` keeps one project's.",
)
def list_models(registry: Registry, caller: CallerDep, project: str | None = None) -> Response:
    """Registered models."""
    found = registry.list_registered_models(project=project)
    visible = [RegisteredModelOut.of(m) for m in found if caller.sees(m.project)]
    return json_response(RegisteredModelList(models=visible))


@router.post(
    api.MODELS,
    response_model=RegisteredModelOut,
    status_code=201,
    responses=errors(404, 409),
    dependencies=[rule(Need.USER)],
    summary="Create a registered model",
    description="Create a registered model in `project` (needs write access to that project; "
    "the project is created when the caller may). 409 when the name is taken.",
)
def create_model(body: RegisteredModelCreate, registry: Registry, caller: CallerDep) -> Response:
    """Create a registered model."""
    caller.require(body.project, Need.WRITE)
    model = registry.create_registered_model(
        body.name, project=body.project, description=body.description, tags=body.tags
    )
    return json_response(RegisteredModelOut.of(model), status_code=201)


@router.get(
    api.MODEL,
    response_model=RegisteredModelOut,
    responses=errors(404),
    dependencies=READ_MODEL,
    summary="Get a registered model",
    description="A registered model with its tags, aliases and newest version number.",
)
def get_model(name: str, registry: Registry) -> Response:
    """One registered model."""
    return json_response(RegisteredModelOut.of(registry.get_registered_model(name)))


@router.patch(
    api.MODEL,
    response_model=RegisteredModelOut,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Edit a registered model",
    description="Change the registered model's description.",
)
def update_model(name: str, body: DescriptionPatch, registry: Registry) -> Response:
    """Change the description."""
    model = registry.update_registered_model(name, description=body.description)
    return json_response(RegisteredModelOut.of(model))


@router.delete(
    api.MODEL,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=ADMIN_MODEL,
    summary="Delete a registered model",
    description="Delete a registered model with its versions, tags and aliases (the runs and "
    "their model files stay). Needs admin on the model's project.",
)
def delete_model(name: str, registry: Registry, request: Request) -> Response:
    """Delete a registered model."""
    before = registry.get_registered_model(name)
    registry.delete_registered_model(name)
    audit(
        request,
        "model.delete",
        f"models/{name}",
        before={"latest_version": before.latest_version, "aliases": dict(before.aliases)},
    )
    return Response(status_code=NO_CONTENT)


@router.put(
    api.MODEL_TAG,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Set a registered model tag",
    description="Set (or overwrite) one tag of a registered model.",
)
def set_model_tag(name: str, key: str, body: TagValueIn, registry: Registry) -> Response:
    """Set a tag."""
    registry.set_registered_model_tag(name, key, body.value)
    return Response(status_code=NO_CONTENT)


@router.delete(
    api.MODEL_TAG,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Delete a registered model tag",
    description="Remove one tag of a registered model; 404 when it is not set.",
)
def delete_model_tag(name: str, key: str, registry: Registry) -> Response:
    """Remove a tag."""
    registry.delete_registered_model_tag(name, key)
    return Response(status_code=NO_CONTENT)


# -- versions -------------------------------------------------------------------------------


@router.get(
    api.MODEL_VERSIONS,
    response_model=ModelVersionList,
    responses=errors(404),
    dependencies=READ_MODEL,
    summary="List model versions",
    description="The versions of a registered model, newest first, with their aliases.",
)
def list_versions(name: str, registry: Registry) -> Response:
    """The versions of a registered model."""
    versions = [ModelVersionOut.of(v) for v in registry.list_model_versions(name)]
    return json_response(ModelVersionList(versions=versions))


@router.post(
    api.MODEL_VERSIONS,
    response_model=ModelVersionOut,
    status_code=201,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Create a model version",
    description="Record the next version (1, 2, 3...) of a registered model from a run's model "
    "folder (`source`, e.g. `models/iris-clf`). The caller must be able to read the run.",
)
def create_version(
    name: str, body: ModelVersionCreate, registry: Registry, caller: CallerDep, request: Request
) -> Response:
    """Create a version."""
    if body.run_id is not None:
        caller.require(request.app.state.store.get_run(body.run_id).project, Need.READ)
    version = registry.create_model_version(
        name,
        run_id=body.run_id,
        source=body.source,
        flavor=body.flavor,
        signature=body.signature,
        description=body.description,
        tags=body.tags,
        created_by=_author(request, caller, body.created_by),
    )
    return _version(version, status_code=201)


@router.get(
    api.MODEL_VERSION,
    response_model=ModelVersionOut,
    responses=errors(404),
    dependencies=READ_MODEL,
    summary="Get a model version",
    description="One version (`latest` for the newest) with its source run, signature, tags "
    "and aliases.",
)
def get_version(name: str, version: str, registry: Registry) -> Response:
    """One version."""
    return _version(registry.get_model_version(name, parse_version(registry, name, version)))


@router.patch(
    api.MODEL_VERSION,
    response_model=ModelVersionOut,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Edit a model version",
    description="Change a version's description.",
)
def update_version(name: str, version: str, body: DescriptionPatch, registry: Registry) -> Response:
    """Change a version's description."""
    number = parse_version(registry, name, version)
    return _version(registry.update_model_version(name, number, description=body.description))


@router.delete(
    api.MODEL_VERSION,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=ADMIN_MODEL,
    summary="Delete a model version",
    description="Delete a version and the aliases that point at it (its number is not reused). "
    "Needs admin on the model's project.",
)
def delete_version(name: str, version: str, registry: Registry, request: Request) -> Response:
    """Delete a version."""
    found = registry.get_model_version(name, parse_version(registry, name, version))
    registry.delete_model_version(name, found.version)
    audit(
        request,
        "model.version.delete",
        f"models/{name}/{found.version}",
        before={"run_id": found.run_id, "source": found.source, "aliases": list(found.aliases)},
    )
    return Response(status_code=NO_CONTENT)


@router.put(
    api.MODEL_VERSION_TAG,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Set a model version tag",
    description="Set (or overwrite) one tag of a version.",
)
def set_version_tag(
    name: str, version: str, key: str, body: TagValueIn, registry: Registry
) -> Response:
    """Set a version tag."""
    number = parse_version(registry, name, version)
    registry.set_model_version_tag(name, number, key, body.value)
    return Response(status_code=NO_CONTENT)


@router.delete(
    api.MODEL_VERSION_TAG,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Delete a model version tag",
    description="Remove one tag of a version; 404 when it is not set.",
)
def delete_version_tag(name: str, version: str, key: str, registry: Registry) -> Response:
    """Remove a version tag."""
    registry.delete_model_version_tag(name, parse_version(registry, name, version), key)
    return Response(status_code=NO_CONTENT)


# -- aliases --------------------------------------------------------------------------------


@router.get(
    api.MODEL_ALIAS,
    response_model=ModelVersionOut,
    responses=errors(404),
    dependencies=READ_MODEL,
    summary="Resolve a model alias",
    description="The version an alias (e.g. `champion`) points at.",
)
def get_alias(name: str, alias: str, registry: Registry) -> Response:
    """The version of an alias."""
    return _version(registry.get_model_version_by_alias(name, alias))


@router.put(
    api.MODEL_ALIAS,
    response_model=AliasMoved,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Set a model alias",
    description="Point an alias at a version (promotion without stages); returns the version it "
    "pointed at before. Audited.",
)
def set_alias(
    name: str, alias: str, body: AliasIn, registry: Registry, request: Request
) -> Response:
    """Move an alias."""
    previous = registry.set_model_alias(name, alias, body.version)
    audit(
        request,
        "model.alias.set",
        f"models/{name}@{alias}",
        before={"version": previous},
        after={"version": body.version},
    )
    event = {"name": name, "alias": alias, "version": body.version, "previous": previous}
    emit_event(request.app.state.store, "model_alias", event)
    moved = AliasMoved(name=name, alias=alias, version=body.version, previous=previous)
    return json_response(moved)


@router.delete(
    api.MODEL_ALIAS,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_MODEL,
    summary="Delete a model alias",
    description="Remove an alias; 404 when it is not set. Audited.",
)
def delete_alias(name: str, alias: str, registry: Registry, request: Request) -> Response:
    """Remove an alias."""
    before = registry.get_model_version_by_alias(name, alias).version
    registry.delete_model_alias(name, alias)
    audit(request, "model.alias.delete", f"models/{name}@{alias}", before={"version": before})
    return Response(status_code=NO_CONTENT)
