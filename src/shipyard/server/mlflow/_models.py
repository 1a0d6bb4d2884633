"""MLflow 3 logged models (``/logged-models``): records in ``mlflow_logged_models``, files in
their run's artifacts under ``models/<model id>/``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from shipyard.errors import InvalidArgument
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.mlflow import _access, _convert
from shipyard.server.mlflow._artifacts import children
from shipyard.server.mlflow._wire import Fields, MlflowRoute, fields_dependency, key_value_pairs, ok
from shipyard.store.mlflow import LoggedModel

router = APIRouter(route_class=MlflowRoute, include_in_schema=False)
FieldsDep = Annotated[Fields, Depends(fields_dependency)]
StoreDep = Annotated[_access.CompatStore, Depends(_access.compat_store)]

_READ = [rule(Need.READ, project=_access.by_model)]
_WRITE = [rule(Need.WRITE, project=_access.by_model)]
HOLDER_TAG = "mlflow.loggedModelHolder"
_CLAUSE = re.compile(
    r"^\s*(?P<field>name|source_run_id|model_id|status|model_type|tags\.`?[\w.\-/: ]+`?)\s*"
    r"(?P<op>=|!=)\s*(?P<q>['\"])(?P<value>.*)(?P=q)\s*$",
    re.IGNORECASE,
)


@router.post("/logged-models", dependencies=[rule(Need.WRITE, project=_access.by_experiment)])
def create(request: Request, fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Record a new logged model; its files go to its source run (or a holder run)."""
    exp = store.mlflow_experiment(_access.experiment_id(fields.need("experiment_id")))
    name = fields.text("name", "model") or "model"
    source = fields.text("source_run_id")
    if source is not None and store.get_run(source).project != exp.name:
        raise InvalidArgument(
            f"run {source} is not in experiment {exp.experiment_id}",
            hint="log the model from a run of the same experiment",
        )
    run_id = source or store.create_run(exp.name, name=f"model {name}", tags={HOLDER_TAG: "1"}).id
    model = store.mlflow_create_logged_model(
        exp.experiment_id,
        name=name,
        run_id=run_id,
        source_run_id=source,
        model_type=fields.text("model_type", "") or "",
        creator=caller.user if getattr(request.app.state, "auth", None) is not None else "",
        tags=key_value_pairs(fields.items("tags"), "tag"),
        params=key_value_pairs(fields.items("params"), "param"),
    )
    return ok({"model": _convert.logged_model(model)})


@router.get("/logged-models/{model_id}", dependencies=_READ)
def get(model_id: str, store: StoreDep) -> Response:
    """One logged model."""
    return ok({"model": _convert.logged_model(store.mlflow_get_logged_model(model_id))})


@router.patch("/logged-models/{model_id}", dependencies=_WRITE)
def finalize(model_id: str, fields: FieldsDep, store: StoreDep) -> Response:
    """Set the status (``LOGGED_MODEL_READY`` / ``LOGGED_MODEL_UPLOAD_FAILED``)."""
    model = store.mlflow_update_logged_model(model_id, status=fields.need("status"))
    return ok({"model": _convert.logged_model(model)})


@router.delete("/logged-models/{model_id}", dependencies=_WRITE)
def delete(model_id: str, store: StoreDep) -> Response:
    """Delete a logged model (its files stay in the run)."""
    store.mlflow_update_logged_model(model_id, deleted=True)
    return ok()


@router.patch("/logged-models/{model_id}/tags", dependencies=_WRITE)
def set_tags(model_id: str, fields: FieldsDep, store: StoreDep) -> Response:
    """Set tags."""
    tags = key_value_pairs(fields.items("tags"), "tag")
    store.mlflow_update_logged_model(model_id, set_tags=tags)
    return ok()


@router.delete("/logged-models/{model_id}/tags/{tag_key}", dependencies=_WRITE)
def delete_tag(model_id: str, tag_key: str, store: StoreDep) -> Response:
    """Remove a tag."""
    store.mlflow_update_logged_model(model_id, delete_tags=[tag_key])
    return ok()


@router.post("/logged-models/{model_id}/params", dependencies=_WRITE)
def log_params(model_id: str, fields: FieldsDep, store: StoreDep) -> Response:
    """Add params."""
    params = key_value_pairs(fields.items("params"), "param")
    store.mlflow_update_logged_model(model_id, params=params)
    return ok()


@router.get("/logged-models/{model_id}/artifacts/directories", dependencies=_READ)
def list_files(model_id: str, request: Request, store: StoreDep) -> Response:
    """List a folder of the model's files."""
    model = store.mlflow_get_logged_model(model_id)
    sub = request.query_params.get("artifact_directory_path", "").strip("/")
    prefix = f"{model.artifact_path}/{sub}".rstrip("/")
    records = [
        r for r in store.list_artifacts(model.run_id, model.artifact_path) if r.path != prefix
    ]
    files = children(records, prefix, full=True)
    for item in files:
        item["path"] = item["path"][len(model.artifact_path) + 1 :]
    root = _convert.logged_model(model)["info"]["artifact_uri"]
    return ok({"root_uri": root, "files": files})


@router.post(
    "/logged-models/search", dependencies=[rule(Need.READ, project=_access.by_first_experiment)]
)
def search(fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Logged models of experiments matching ``name``/``source_run_id``/``tags.X`` clauses."""
    ids = [_access.experiment_id(i) for i in fields.items("experiment_ids")] or [0]
    _access.check_all(caller, store, ids, Need.READ)
    text = fields.text("filter")
    _matches(None, text)  # refuse a bad filter even when there is nothing to match
    found = [m for m in store.mlflow_list_logged_models(ids) if _matches(m, text)]
    limit = fields.integer("max_results", 100) or 100
    token = fields.text("page_token", "0") or "0"
    offset = int(token) if token.isdigit() else 0
    body: dict[str, Any] = {
        "models": [_convert.logged_model(m) for m in found[offset : offset + limit]]
    }
    if offset + limit < len(found):
        body["next_page_token"] = str(offset + limit)
    return ok(body)


def _matches(model: LoggedModel | None, text: str | None) -> bool:
    """Whether ``model`` passes the filter (``None``: only check the filter's syntax)."""
    if not text or not text.strip():
        return True
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if match is None:
            raise InvalidArgument(
                f"unsupported logged-model filter {part!r}",
                hint="use name, source_run_id, model_id, status, model_type or tags.X with = / !=",
            )
        if model is None:
            continue
        equal = _value(model, match.group("field")) == match.group("value")
        if equal != (match.group("op") == "="):
            return False
    return True


def _value(model: LoggedModel, field: str) -> str | None:
    lowered = field.lower()
    if lowered.startswith("tags."):
        return model.tags.get(field[5:].strip("`"))
    values = {
        "name": model.name,
        "source_run_id": model.source_run_id,
        "model_id": model.model_id,
        "status": model.status,
        "model_type": model.model_type,
    }
    return values.get(lowered)
