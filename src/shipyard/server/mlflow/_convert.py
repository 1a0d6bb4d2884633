"""Shipyard entities as MLflow messages (plain dicts, ready for ``orjson``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.domain.entities import ParamValue, Run, RunStatus
from shipyard.server.mlflow._wire import double
from shipyard.store.mlflow import DELETED, LoggedModel, MlflowExperiment

RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_TAG = "mlflow.parentRunId"


def artifact_root(experiment_id: int) -> str:
    """Where an experiment's artifacts live, for MLflow clients (the proxy resolves it)."""
    return f"mlflow-artifacts:/{experiment_id}"


def run_artifact_uri(experiment_id: int, run_id: str) -> str:
    """A run's artifact URI (``mlflow-artifacts:/<exp>/<run>/artifacts``)."""
    return f"{artifact_root(experiment_id)}/{run_id}/artifacts"


def experiment(exp: MlflowExperiment) -> dict[str, Any]:
    """An ``Experiment`` message."""
    return {
        "experiment_id": str(exp.experiment_id),
        "name": exp.name,
        "artifact_location": artifact_root(exp.experiment_id),
        "lifecycle_stage": exp.lifecycle_stage,
        "last_update_time": exp.last_update_time,
        "creation_time": exp.created_at,
        "tags": [{"key": k, "value": v} for k, v in sorted(exp.tags.items())],
    }


def param_text(value: ParamValue) -> str:
    """A typed Shipyard param as MLflow's string."""
    if value is None:
        return "None"
    return value if isinstance(value, str) else str(value)


def run_info(run: Run, experiment_id: int) -> dict[str, Any]:
    """A ``RunInfo`` message."""
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": str(experiment_id),
        "user_id": run.user,
        "status": run.status.value,
        "start_time": run.start_time,
        "artifact_uri": run_artifact_uri(experiment_id, run.id),
        "lifecycle_stage": DELETED if run.deleted else "active",
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def run_tags(run: Run) -> dict[str, str]:
    """A run's tags, with MLflow's own tags for what Shipyard keeps as fields."""
    tags = dict(run.tags)
    if run.name:
        tags.setdefault(RUN_NAME_TAG, run.name)
    if run.user:
        tags.setdefault(USER_TAG, run.user)
    if run.parent_id:
        tags.setdefault(PARENT_TAG, run.parent_id)
    return tags


def run(
    run: Run, experiment_id: int, outputs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A ``Run`` message: info, data (latest metric values, params, tags), inputs, outputs."""
    metrics = [
        {"key": m.key, "value": double(m.last), "timestamp": m.last_timestamp, "step": m.last_step}
        for m in run.metrics.values()
    ]
    data = {
        "metrics": metrics,
        "params": [{"key": k, "value": param_text(v)} for k, v in run.params.items()],
        "tags": [{"key": k, "value": v} for k, v in run_tags(run).items()],
    }
    message: dict[str, Any] = {"info": run_info(run, experiment_id), "data": data, "inputs": {}}
    message["outputs"] = {"model_outputs": outputs} if outputs else {}
    return message


def status(text: str | None) -> RunStatus | None:
    """An MLflow run status as Shipyard's (``SCHEDULED`` counts as running)."""
    if text is None:
        return None
    if text == "SCHEDULED":
        return RunStatus.RUNNING
    try:
        return RunStatus(text)
    except ValueError:
        from shipyard.errors import InvalidArgument

        raise InvalidArgument(
            f"invalid run status {text!r}",
            hint="use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED",
        ) from None


def logged_model(model: LoggedModel) -> dict[str, Any]:
    """A ``LoggedModel`` message."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": str(model.experiment_id),
        "name": model.name,
        "creation_timestamp_ms": model.created_at,
        "last_updated_timestamp_ms": model.updated_at,
        "artifact_uri": f"{artifact_root(model.experiment_id)}/models/{model.model_id}/artifacts",
        "status": model.status,
        "model_type": model.model_type,
        "tags": _pairs(model.tags),
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    return {"info": info, "data": {"params": _pairs(model.params), "metrics": []}}


def _pairs(mapping: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(mapping.items())]
