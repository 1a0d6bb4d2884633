"""MLflow run routes: runs, params, tags, metrics, inputs and outputs over the native store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.entities import Run, RunInput
from shipyard.errors import InvalidArgument, NotFound
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.mlflow import _access, _convert
from shipyard.server.mlflow._search import search_runs
from shipyard.server.mlflow._wire import (
    Fields,
    MlflowRoute,
    double,
    fields_dependency,
    key_value_pairs,
    ok,
)
from shipyard.store.base import RunStore
from shipyard.store.mlflow import ACTIVE

router = APIRouter(route_class=MlflowRoute, include_in_schema=False)
FieldsDep = Annotated[Fields, Depends(fields_dependency)]
StoreDep = Annotated[_access.CompatStore, Depends(_access.compat_store)]

_READ_RUN = [rule(Need.READ, project=_access.by_run)]
_WRITE_RUN = [rule(Need.WRITE, project=_access.by_run)]
_MAX_METRICS, _MAX_PARAMS, _MAX_TAGS = 1000, 100, 100
_MODEL_HISTORY = "mlflow.log-model.history"
MODEL_OUTPUT = "mlflow-model"


def experiment_of(store: _access.CompatStore, run: Run) -> int:
    """The experiment id of a run's project."""
    return store.mlflow_experiment_ids([run.project])[run.project]


@router.post("/runs/create", dependencies=[rule(Need.WRITE, project=_access.by_experiment)])
def create_run(request: Request, fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Start a run in an experiment (default ``0``)."""
    exp = store.mlflow_experiment(_access.experiment_id(fields.text("experiment_id", "0")))
    if exp.lifecycle_stage != ACTIVE:
        raise InvalidArgument(
            f"experiment {exp.name!r} is deleted", hint="restore it first, or use another one"
        )
    tags = key_value_pairs(fields.items("tags"), "tag")
    user = tags.get(_convert.USER_TAG) or fields.text("user_id") or ""
    if getattr(request.app.state, "auth", None) is not None:
        user = caller.user
    run = store.create_run(
        exp.name,
        name=fields.text("run_name") or tags.get(_convert.RUN_NAME_TAG) or "",
        user=user,
        tags=tags,
        parent_id=_parent(store, tags.get(_convert.PARENT_TAG), exp.name),
        start_time=fields.integer("start_time"),
    )
    return ok({"run": _convert.run(run, exp.experiment_id)})


def _parent(store: RunStore, parent_id: str | None, project: str) -> str | None:
    """The parent run id when it is a run of the same project (else only the tag keeps it)."""
    if not parent_id:
        return None
    try:
        return parent_id if store.get_run(parent_id).project == project else None
    except (NotFound, InvalidArgument):
        return None


@router.get("/runs/get", dependencies=_READ_RUN)
def get_run(fields: FieldsDep, store: StoreDep) -> Response:
    """One run with its latest metrics, params, tags and model outputs."""
    run = store.get_run(fields.run_id())
    outputs = [
        {"model_id": i.name, "step": int(i.version or 0)}
        for i in store.list_run_inputs(run.id)
        if i.kind == MODEL_OUTPUT and i.direction == "output"
    ]
    return ok({"run": _convert.run(run, experiment_of(store, run), outputs)})


@router.post("/runs/update", dependencies=_WRITE_RUN)
def update_run(fields: FieldsDep, store: StoreDep) -> Response:
    """Change a run's status, end time or name."""
    status = _convert.status(fields.text("status"))
    end_time = fields.integer("end_time")
    run = store.update_run(
        fields.run_id(), name=fields.text("run_name"), status=status, end_time=end_time
    )
    if fields.text("run_name"):
        store.set_tags(run.id, {_convert.RUN_NAME_TAG: run.name})
    return ok({"run_info": _convert.run_info(run, experiment_of(store, run))})


@router.post("/runs/delete", dependencies=_WRITE_RUN)
def delete_run(fields: FieldsDep, store: StoreDep) -> Response:
    """Soft-delete a run."""
    store.delete_run(fields.run_id())
    return ok()


@router.post("/runs/restore", dependencies=_WRITE_RUN)
def restore_run(fields: FieldsDep, store: StoreDep) -> Response:
    """Undo ``delete``."""
    store.restore_run(fields.run_id())
    return ok()


@router.post("/runs/log-metric", dependencies=_WRITE_RUN)
def log_metric(fields: FieldsDep, store: StoreDep) -> Response:
    """Append one metric point (steps may repeat and come out of order)."""
    point = {
        "key": fields.need("key"),
        "value": fields.number("value"),
        "timestamp": fields.integer("timestamp"),
        "step": fields.integer("step", 0),
    }
    store.ingest(fields.run_id(), IngestBatch(uuid.uuid4().hex, metrics=_columns([point])))
    return ok()


@router.post("/runs/log-parameter", dependencies=_WRITE_RUN)
def log_param(fields: FieldsDep, store: StoreDep) -> Response:
    """Log one param (MLflow params are text)."""
    store.log_params(fields.run_id(), {fields.need("key"): fields.text("value", "") or ""})
    return ok()


@router.post("/runs/set-tag", dependencies=_WRITE_RUN)
def set_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Set a tag (``mlflow.runName`` also renames the run)."""
    run_id, key, value = fields.run_id(), fields.need("key"), fields.text("value", "") or ""
    store.set_tags(run_id, {key: value})
    _rename_from(store, run_id, {key: value})
    return ok()


@router.post("/runs/delete-tag", dependencies=_WRITE_RUN)
def delete_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Remove a tag."""
    store.delete_tag(fields.run_id(), fields.need("key"))
    return ok()


@router.post("/runs/log-batch", dependencies=_WRITE_RUN)
def log_batch(fields: FieldsDep, store: StoreDep) -> Response:
    """Log metrics, params and tags in one atomic batch."""
    metrics, params, tags = fields.items("metrics"), fields.items("params"), fields.items("tags")
    if len(metrics) > _MAX_METRICS or len(params) > _MAX_PARAMS or len(tags) > _MAX_TAGS:
        raise InvalidArgument(
            f"a batch holds at most {_MAX_METRICS} metrics, {_MAX_PARAMS} params and "
            f"{_MAX_TAGS} tags; got {len(metrics)}, {len(params)} and {len(tags)}",
            hint="split the batch",
        )
    tag_map = key_value_pairs(tags, "tag")
    batch = IngestBatch(
        uuid.uuid4().hex,
        metrics=_columns([_point(m) for m in metrics]),
        params=key_value_pairs(params, "param"),
        tags=tag_map,
    )
    run_id = fields.run_id()
    store.ingest(run_id, batch)
    _rename_from(store, run_id, tag_map)
    return ok()


@router.post("/runs/log-inputs", dependencies=_WRITE_RUN)
def log_inputs(fields: FieldsDep, store: StoreDep) -> Response:
    """Record dataset inputs as lineage records (kind ``dataset``)."""
    records = [_dataset_input(item) for item in fields.items("datasets")]
    store.add_run_inputs(fields.run_id(), [r for r in records if r is not None])
    return ok()


@router.post("/runs/outputs", dependencies=_WRITE_RUN)
def log_outputs(fields: FieldsDep, store: StoreDep) -> Response:
    """Record logged models as outputs of the run."""
    records = [
        RunInput(MODEL_OUTPUT, str(m["model_id"]), str(m.get("step") or 0), direction="output")
        for m in fields.items("models")
        if isinstance(m, dict) and m.get("model_id")
    ]
    store.add_run_inputs(fields.run_id(), records)
    return ok()


@router.post("/runs/log-model", dependencies=_WRITE_RUN)
def log_model(fields: FieldsDep, store: StoreDep) -> Response:
    """MLflow 2: remember a logged model's ``MLmodel`` in the ``mlflow.log-model.history`` tag."""
    run_id = fields.run_id()
    try:
        model = json.loads(fields.need("model_json"))
    except json.JSONDecodeError:
        raise InvalidArgument("model_json is not JSON", hint="send the MLmodel as JSON") from None
    history = json.loads(store.get_run(run_id).tags.get(_MODEL_HISTORY, "[]"))
    history.append(model)
    while len(json.dumps(history)) > 8000 and len(history) > 1:
        history.pop(0)
    store.set_tags(run_id, {_MODEL_HISTORY: json.dumps(history)[:8000]})
    return ok()


@router.get("/metrics/get-history", dependencies=_READ_RUN)
def metric_history(fields: FieldsDep, store: StoreDep) -> Response:
    """Every point of a metric (empty for a metric never logged)."""
    key = fields.need("metric_key")
    try:
        series = store.metric_history(fields.run_id(), key)
    except NotFound:
        return ok({"metrics": []})
    points = [
        {"key": key, "value": double(v), "timestamp": t, "step": s}
        for s, t, v in zip(series.steps, series.timestamps, series.values, strict=True)
    ]
    return ok({"metrics": points})


@router.post("/runs/search", dependencies=[rule(Need.READ, project=_access.by_first_experiment)])
def search(fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Search runs of experiments (filter, order, paging)."""
    ids = [_access.experiment_id(i) for i in fields.items("experiment_ids")] or [0]
    _access.check_all(caller, store, ids, Need.READ)
    return ok(search_runs(store, ids, fields))


router.add_api_route(
    "/runs/search",
    search,
    methods=["GET"],
    dependencies=[rule(Need.READ, project=_access.by_first_experiment)],
)


def _point(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidArgument("each metric must be an object", hint="send {key, value, ...}")
    fields = Fields(item)
    return {
        "key": fields.need("key"),
        "value": fields.number("value"),
        "timestamp": fields.integer("timestamp"),
        "step": fields.integer("step", 0),
    }


def _columns(points: list[dict[str, Any]]) -> dict[str, MetricColumns]:
    """Points grouped by key into columns (a missing timestamp is now)."""
    import time

    now = int(time.time() * 1000)
    grouped: dict[str, tuple[list[int], list[int], list[float]]] = {}
    for p in points:
        steps, stamps, values = grouped.setdefault(p["key"], ([], [], []))
        steps.append(p["step"])
        stamps.append(now if p["timestamp"] is None else p["timestamp"])
        values.append(p["value"])
    return {k: MetricColumns(s, t, v) for k, (s, t, v) in grouped.items()}


def _rename_from(store: RunStore, run_id: str, tags: Mapping[str, str]) -> None:
    name = tags.get(_convert.RUN_NAME_TAG)
    if name:
        store.update_run(run_id, name=name)


def _dataset_input(item: Any) -> RunInput | None:
    dataset = item.get("dataset") if isinstance(item, dict) else None
    if not isinstance(dataset, dict) or not dataset.get("name"):
        return None
    digest = str(dataset.get("digest") or "")[:128]
    extra = {
        "source_type": str(dataset.get("source_type") or "")[:256],
        "source": str(dataset.get("source") or "")[:2000],
        "origin": "mlflow",
    }
    return RunInput(
        "dataset", str(dataset["name"])[:256], digest or "-", digest=digest, extra=extra
    )
