"""Create an MLflow history with the real client (for the import tests and the benchmark):
two experiments, runs with params, tags, metric history (repeated and out-of-order steps, NaN),
artifacts in folders, a deleted run, a registered model with two versions and an alias.
Usage: MLFLOW_TRACKING_URI=... python make_history.py. Prints one JSON object."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

V3 = int(mlflow.__version__.split(".")[0]) >= 3


def main() -> dict[str, object]:
    client = MlflowClient()
    work = Path(tempfile.mkdtemp())
    (work / "report.txt").write_text("report\n")
    (work / "plots").mkdir()
    (work / "plots" / "loss.csv").write_text("step,loss\n0,1\n")
    runs: dict[str, str] = {}
    mlflow.set_experiment("import-a")
    mlflow.set_experiment_tag("team", "vision")
    for i in range(3):
        with mlflow.start_run(run_name=f"run-{i}") as run:
            mlflow.log_params({"lr": 0.1 * (i + 1), "opt": "adam"})
            mlflow.set_tag("idx", str(i))
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            mlflow.log_metric("loss", 0.5, step=2)
            mlflow.log_metric("odd", float("nan"), step=0)
            mlflow.log_artifact(str(work / "report.txt"))
            mlflow.log_artifacts(str(work / "plots"), artifact_path="plots")
            runs[f"run-{i}"] = run.info.run_id
    client.delete_run(runs["run-2"])
    mlflow.set_experiment("import-b")
    x, y = load_iris(return_X_y=True)
    with mlflow.start_run(run_name="fit") as run:
        model = LogisticRegression(max_iter=300).fit(x, y)
        mlflow.log_metric("acc", float(model.score(x, y)))
        if V3:
            mlflow.sklearn.log_model(model, name="model")
        else:
            mlflow.sklearn.log_model(model, artifact_path="model")
        runs["fit"] = run.info.run_id
    mlflow.register_model(f"runs:/{runs['fit']}/model", "imported-clf")
    mlflow.register_model(f"runs:/{runs['fit']}/model", "imported-clf")
    client.set_registered_model_alias("imported-clf", "champion", "2")
    client.set_registered_model_tag("imported-clf", "owner", "ml")
    return {"runs": runs, "mlflow": mlflow.__version__}


if __name__ == "__main__":
    print(json.dumps(main()))
