"""Tracking through the real MLflow client: experiments, runs, params, metrics, tags, artifacts,
history, search, delete/restore. Prints one JSON object (the last line of stdout)."""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType

EXPERIMENT = sys.argv[1] if len(sys.argv) > 1 else "compat-demo"


def main() -> dict[str, object]:
    out: dict[str, object] = {"mlflow": mlflow.__version__}
    exp = mlflow.set_experiment(EXPERIMENT)
    out["experiment_id"] = exp.experiment_id
    work = Path(tempfile.mkdtemp())
    (work / "notes.txt").write_text("hello from mlflow\n")
    (work / "data").mkdir()
    (work / "data" / "a.csv").write_text("x,y\n1,2\n")
    (work / "data" / "sub").mkdir()
    (work / "data" / "sub" / "b.txt").write_text("b")
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params({"lr": 0.01, "depth": 3, "opt": "adam"})
        mlflow.log_param("single", "x")
        mlflow.set_tag("stage", "dev")
        for i in range(3):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        mlflow.log_metric("loss", 0.25, step=1)  # repeated step, out of order
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.log_metric("weird", float("nan"))
        mlflow.log_metric("big", float("inf"))
        mlflow.log_artifact(str(work / "notes.txt"))
        mlflow.log_artifacts(str(work / "data"), artifact_path="data")
        run_id = run.info.run_id
    client = MlflowClient()
    got = client.get_run(run_id)
    out["run"] = {
        "id": run_id,
        "status": got.info.status,
        "name": got.info.run_name,
        "experiment_id": got.info.experiment_id,
        "params": got.data.params,
        "metrics": {k: (v if math.isfinite(v) else str(v)) for k, v in got.data.metrics.items()},
        "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.source")},
        "artifact_uri": got.info.artifact_uri,
        "end_time_set": got.info.end_time is not None,
    }
    history = client.get_metric_history(run_id, "loss")
    out["history"] = sorted([m.step, m.value] for m in history)
    out["artifacts"] = sorted([a.path, a.is_dir] for a in client.list_artifacts(run_id)) + sorted(
        [a.path, a.is_dir] for a in client.list_artifacts(run_id, "data")
    )
    dest = Path(tempfile.mkdtemp())
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="notes.txt", dst_path=str(dest)
    )
    out["downloaded"] = Path(local).read_text()
    folder = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="data", dst_path=str(dest)
    )
    out["downloaded_dir"] = sorted(
        str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()
    )
    found = client.search_runs(
        [exp.experiment_id],
        filter_string="metrics.acc > 0.5 and params.opt = 'adam' "
        "and attributes.status = 'FINISHED'",
        order_by=["metrics.acc DESC"],
    )
    out["search_ids"] = [r.info.run_id for r in found]
    none = client.search_runs([exp.experiment_id], filter_string="metrics.acc > 0.95")
    out["search_none"] = len(none)
    by_name = client.search_runs(
        [exp.experiment_id], filter_string="tags.`mlflow.runName` = 'train'"
    )
    out["search_by_name"] = len(by_name)
    frame = mlflow.search_runs(experiment_names=[EXPERIMENT])
    out["pandas_rows"] = len(frame)

    # a second run, paging, delete and restore
    second = client.create_run(exp.experiment_id, run_name="second")
    client.log_batch(
        second.info.run_id,
        metrics=[mlflow.entities.Metric("acc", 0.5, 0, 0)],
        params=[mlflow.entities.Param("opt", "sgd")],
        tags=[mlflow.entities.RunTag("team", "a")],
    )
    client.set_terminated(second.info.run_id, status="KILLED")
    page = client.search_runs(
        [exp.experiment_id], max_results=1, order_by=["attributes.start_time ASC"]
    )
    rest = client.search_runs(
        [exp.experiment_id],
        max_results=1,
        order_by=["attributes.start_time ASC"],
        page_token=page.token,
    )
    out["paged"] = [page[0].info.run_id, rest[0].info.run_id]
    client.delete_run(second.info.run_id)
    out["after_delete"] = len(client.search_runs([exp.experiment_id]))
    out["deleted_only"] = len(
        client.search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)
    )
    client.restore_run(second.info.run_id)
    out["after_restore"] = len(client.search_runs([exp.experiment_id]))
    client.delete_tag(second.info.run_id, "team")
    out["second_tags"] = sorted(client.get_run(second.info.run_id).data.tags)

    # experiments
    client.set_experiment_tag(exp.experiment_id, "owner", "ml-team")
    out["experiment_tags"] = client.get_experiment(exp.experiment_id).tags
    names = [e.name for e in client.search_experiments()]
    out["experiment_listed"] = EXPERIMENT in names
    other = client.create_experiment(f"{EXPERIMENT}-tmp")
    client.delete_experiment(other)
    out["deleted_experiment_stage"] = client.get_experiment(other).lifecycle_stage
    out["deleted_listed"] = f"{EXPERIMENT}-tmp" in [e.name for e in client.search_experiments()]
    client.restore_experiment(other)
    out["restored_stage"] = client.get_experiment(other).lifecycle_stage
    try:
        client.create_experiment(EXPERIMENT)
        out["duplicate_error"] = None
    except mlflow.exceptions.MlflowException as exc:
        out["duplicate_error"] = exc.error_code
    try:
        client.get_run("0" * 32)
        out["missing_error"] = None
    except mlflow.exceptions.MlflowException as exc:
        out["missing_error"] = exc.error_code

    # the default experiment "0"
    default_run = client.create_run("0")
    client.set_terminated(default_run.info.run_id)
    out["default_experiment"] = client.get_experiment("0").name
    out["default_run_experiment"] = client.get_run(default_run.info.run_id).info.experiment_id
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
