"""``mlflow.sklearn.autolog()`` through the real MLflow client. Prints one JSON object."""

from __future__ import annotations

import json
import sys

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

EXPERIMENT = sys.argv[1] if len(sys.argv) > 1 else "compat-autolog"


def main() -> dict[str, object]:
    mlflow.set_experiment(EXPERIMENT)
    mlflow.sklearn.autolog(log_input_examples=False, silent=True)
    x, y = load_iris(return_X_y=True)
    with mlflow.start_run(run_name="auto") as run:
        RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(x, y)
    got = MlflowClient().get_run(run.info.run_id)
    files = [a.path for a in MlflowClient().list_artifacts(run.info.run_id)]
    return {
        "mlflow": mlflow.__version__,
        "run_id": run.info.run_id,
        "params": got.data.params,
        "metrics": sorted(got.data.metrics),
        "tags": sorted(k for k in got.data.tags if k.startswith("estimator")),
        "artifacts": sorted(files),
        "status": got.info.status,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
