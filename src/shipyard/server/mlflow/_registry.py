"""MLflow's model registry routes over the native registry (``shipyard.store.registry``).

Registered models belong to a project: the one named by the tag ``shipyard.project`` at creation,
else the ``Default`` project. Versions keep the run artifact path of their model folder as
``source``; MLflow clients see it as ``mlflow-artifacts:/<exp>/<run>/artifacts/<path>``. Stages are
not supported (aliases replace them): versions are always in stage ``None``.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request, Response

from shipyard.domain.models import ModelVersion, RegisteredModel
from shipyard.errors import InvalidArgument
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.audit import audit
from shipyard.server.mlflow import _access
from shipyard.server.mlflow._registry_search import clauses, matches, page
from shipyard.server.mlflow._sources import flavor_of, source_location
from shipyard.server.mlflow._wire import (
    Fields,
    MlflowRoute,
    fields_dependency,
    key_value_pairs,
    ok,
    request_fields,
)
from shipyard.store.mlflow import DEFAULT_EXPERIMENT
from shipyard.store.registry import RegistryStore

router = APIRouter(route_class=MlflowRoute, include_in_schema=False)
FieldsDep = Annotated[Fields, Depends(fields_dependency)]
PROJECT_TAG = "shipyard.project"


class RegistryCompatStore(_access.CompatStore, RegistryStore):
    """What the registry routes need of the app's store."""


def _store(request: Request) -> RegistryCompatStore:
    return cast(RegistryCompatStore, request.app.state.store)


StoreDep = Annotated[RegistryCompatStore, Depends(_store)]


def _by_model(request: Request) -> str:
    name = request_fields(request).need("name")
    return _store(request).get_registered_model(name).project


_READ = [rule(Need.READ, project=_by_model)]
_WRITE = [rule(Need.WRITE, project=_by_model)]
_ADMIN = [rule(Need.ADMIN, project=_by_model)]


# -- messages --------------------------------------------------------------------------------------


def registered_model(model: RegisteredModel, latest: list[ModelVersion]) -> dict[str, Any]:
    """A ``RegisteredModel`` message."""
    return {
        "name": model.name,
        "creation_timestamp": model.created_at,
        "last_updated_timestamp": model.updated_at,
        "description": model.description,
        "latest_versions": [model_version_message(v, None) for v in latest],
        "tags": [{"key": k, "value": v} for k, v in sorted(model.tags.items())],
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
    }


def model_version_message(version: ModelVersion, source_uri: str | None) -> dict[str, Any]:
    """A ``ModelVersion`` message (stage ``None``, status ``READY``)."""
    message: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.created_at,
        "last_updated_timestamp": version.created_at,
        "user_id": version.created_by,
        "current_stage": "None",
        "description": version.description,
        "source": source_uri or version.source,
        "status": "READY",
        "tags": [{"key": k, "value": v} for k, v in sorted(version.tags.items())],
        "aliases": list(version.aliases),
    }
    if version.run_id:
        message["run_id"] = version.run_id
    if version.source.startswith("models/m-"):
        message["model_id"] = version.source.split("/")[1]
    return message


def _uri(store: RegistryCompatStore, version: ModelVersion) -> str | None:
    if version.run_id is None:
        return None
    run = store.get_run(version.run_id)
    exp = store.mlflow_experiment_ids([run.project])[run.project]
    return f"mlflow-artifacts:/{exp}/{run.id}/artifacts/{version.source}"


def _version(store: RegistryCompatStore, version: ModelVersion) -> dict[str, Any]:
    return model_version_message(version, _uri(store, version))


def _number(fields: Fields) -> int:
    number = fields.integer("version")
    if number is None:
        raise InvalidArgument("missing value for required parameter 'version'", hint="send it")
    return number


def _latest(store: RegistryCompatStore, model: RegisteredModel) -> list[ModelVersion]:
    if model.latest_version is None:
        return []
    return [store.get_model_version(model.name, model.latest_version)]


# -- registered models -----------------------------------------------------------------------------


@router.post("/registered-models/create", dependencies=[rule(Need.USER)])
def create_model(fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Create a registered model in the project named by its ``shipyard.project`` tag, else in
    ``Default`` (the caller needs the editor role there: checked here, as the model does not
    exist yet for the rule to find its project)."""
    tags = key_value_pairs(fields.items("tags"), "tag")
    project = tags.pop(PROJECT_TAG, None) or DEFAULT_EXPERIMENT
    caller.require(project, Need.WRITE)
    if project == DEFAULT_EXPERIMENT:
        store.mlflow_experiment(0)  # creates the Default project on demand
    model = store.create_registered_model(
        fields.need("name"),
        project=project,
        description=fields.text("description", "") or "",
        tags=tags,
    )
    return ok({"registered_model": registered_model(model, [])})


@router.get("/registered-models/get", dependencies=_READ)
def get_model(fields: FieldsDep, store: StoreDep) -> Response:
    """One registered model with its latest version."""
    model = store.get_registered_model(fields.need("name"))
    return ok({"registered_model": registered_model(model, _latest(store, model))})


@router.post("/registered-models/rename", dependencies=_ADMIN)
def rename_model(fields: FieldsDep) -> Response:
    """Not supported: registered model names are stable in Shipyard."""
    raise InvalidArgument(
        f"cannot rename registered model {fields.need('name')!r}",
        hint="Shipyard keeps model names stable; register the versions under a new name",
    )


@router.patch("/registered-models/update", dependencies=_WRITE)
def update_model(fields: FieldsDep, store: StoreDep) -> Response:
    """Change the description."""
    model = store.update_registered_model(
        fields.need("name"), description=fields.text("description", "") or ""
    )
    return ok({"registered_model": registered_model(model, _latest(store, model))})


@router.delete("/registered-models/delete", dependencies=_ADMIN)
def delete_model(request: Request, fields: FieldsDep, store: StoreDep) -> Response:
    """Delete a registered model and its versions (the runs' files stay)."""
    name = fields.need("name")
    store.delete_registered_model(name)
    audit(request, "model.delete", f"models/{name}", before={"name": name})
    return ok()


@router.get("/registered-models/search", dependencies=[rule(Need.USER)])
def search_models(fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Registered models the caller may see, filtered by name."""
    text = fields.text("filter")
    clauses(text)  # refuse a bad filter even when there is nothing to match
    models = [
        m
        for m in store.list_registered_models()
        if caller.sees(m.project) and matches({"name": m.name}, m.tags, text)
    ]
    models.sort(key=lambda m: m.name)
    items, token = page(models, fields)
    body: dict[str, Any] = {
        "registered_models": [registered_model(m, _latest(store, m)) for m in items]
    }
    if token:
        body["next_page_token"] = token
    return ok(body)


def latest_versions(fields: FieldsDep, store: StoreDep) -> Response:
    """The newest version (Shipyard has no stages: asking for other stages gives none)."""
    model = store.get_registered_model(fields.need("name"))
    stages = [str(s).lower() for s in fields.items("stages")]
    versions = _latest(store, model) if not stages or "none" in stages else []
    return ok({"model_versions": [_version(store, v) for v in versions]})


for _method in ("GET", "POST"):
    router.add_api_route(
        "/registered-models/get-latest-versions",
        latest_versions,
        methods=[_method],
        dependencies=_READ,
    )


@router.post("/registered-models/set-tag", dependencies=_WRITE)
def set_model_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Set a tag."""
    store.set_registered_model_tag(
        fields.need("name"), fields.need("key"), fields.text("value", "") or ""
    )
    return ok()


@router.delete("/registered-models/delete-tag", dependencies=_WRITE)
def delete_model_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Remove a tag."""
    store.delete_registered_model_tag(fields.need("name"), fields.need("key"))
    return ok()


@router.post("/registered-models/alias", dependencies=_WRITE)
def set_alias(request: Request, fields: FieldsDep, store: StoreDep) -> Response:
    """Point an alias at a version (audited with the version it pointed to before)."""
    name, alias, version = fields.need("name"), fields.need("alias"), _number(fields)
    before = store.set_model_alias(name, alias, version)
    target = f"models/{name}@{alias}"
    audit(
        request, "model.alias.set", target, before={"version": before}, after={"version": version}
    )
    return ok()


@router.delete("/registered-models/alias", dependencies=_WRITE)
def delete_alias(request: Request, fields: FieldsDep, store: StoreDep) -> Response:
    """Remove an alias."""
    name, alias = fields.need("name"), fields.need("alias")
    before = store.get_model_version_by_alias(name, alias).version
    store.delete_model_alias(name, alias)
    audit(request, "model.alias.delete", f"models/{name}@{alias}", before={"version": before})
    return ok()


@router.get("/registered-models/alias", dependencies=_READ)
def get_by_alias(fields: FieldsDep, store: StoreDep) -> Response:
    """The version an alias points at."""
    version = store.get_model_version_by_alias(fields.need("name"), fields.need("alias"))
    return ok({"model_version": _version(store, version)})


# -- model versions --------------------------------------------------------------------------------


@router.post("/model-versions/create", dependencies=_WRITE)
def create_version(request: Request, fields: FieldsDep, store: StoreDep) -> Response:
    """Register a model folder (``runs:/``, ``models:/m-...`` or ``mlflow-artifacts:`` URI)."""
    where = source_location(
        store, fields.need("source"), fields.text("run_id"), fields.text("model_id")
    )
    caller = getattr(request.state, "caller", None)
    version = store.create_model_version(
        fields.need("name"),
        run_id=where.run_id,
        source=where.path,
        flavor=flavor_of(store, request.app.state.artifacts, where),
        description=fields.text("description", "") or "",
        tags=key_value_pairs(fields.items("tags"), "tag"),
        created_by=getattr(caller, "user", "") or "",
    )
    return ok({"model_version": _version(store, version)})


@router.get("/model-versions/get", dependencies=_READ)
def get_version(fields: FieldsDep, store: StoreDep) -> Response:
    """One version."""
    version = store.get_model_version(fields.need("name"), _number(fields))
    return ok({"model_version": _version(store, version)})


@router.patch("/model-versions/update", dependencies=_WRITE)
def update_version(fields: FieldsDep, store: StoreDep) -> Response:
    """Change a version's description."""
    version = store.update_model_version(
        fields.need("name"), _number(fields), description=fields.text("description", "") or ""
    )
    return ok({"model_version": _version(store, version)})


@router.post("/model-versions/transition-stage", dependencies=_WRITE)
def transition_stage(fields: FieldsDep) -> Response:
    """Not supported: use aliases."""
    raise InvalidArgument(
        f"stages are not supported (asked for {fields.text('stage')!r})",
        hint="use aliases instead: client.set_registered_model_alias(name, 'champion', version)",
    )


@router.delete("/model-versions/delete", dependencies=_ADMIN)
def delete_version(request: Request, fields: FieldsDep, store: StoreDep) -> Response:
    """Delete a version."""
    name, number = fields.need("name"), _number(fields)
    store.delete_model_version(name, number)
    audit(request, "model.version.delete", f"models/{name}/{number}", before={"version": number})
    return ok()


@router.get("/model-versions/search", dependencies=[rule(Need.USER)])
def search_versions(fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Versions of the models the caller may see (``name = 'x'`` / ``run_id = 'y'`` filters)."""
    text = fields.text("filter")
    clauses(text)
    models = [m for m in store.list_registered_models() if caller.sees(m.project)]
    versions = [
        v
        for m in models
        for v in store.list_model_versions(m.name)
        if matches({"name": v.name, "run_id": v.run_id}, v.tags, text)
    ]
    versions.sort(key=lambda v: (v.name, -v.version))
    items, token = page(versions, fields)
    body: dict[str, Any] = {"model_versions": [_version(store, v) for v in items]}
    if token:
        body["next_page_token"] = token
    return ok(body)


@router.get("/model-versions/get-download-uri", dependencies=_READ)
def download_uri(fields: FieldsDep, store: StoreDep) -> Response:
    """Where the version's files are, as an ``mlflow-artifacts:`` URI."""
    version = store.get_model_version(fields.need("name"), _number(fields))
    return ok({"artifact_uri": _uri(store, version) or version.source})


@router.post("/model-versions/set-tag", dependencies=_WRITE)
def set_version_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Set a version tag."""
    store.set_model_version_tag(
        fields.need("name"), _number(fields), fields.need("key"), fields.text("value", "") or ""
    )
    return ok()


@router.delete("/model-versions/delete-tag", dependencies=_WRITE)
def delete_version_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Remove a version tag."""
    store.delete_model_version_tag(fields.need("name"), _number(fields), fields.need("key"))
    return ok()
