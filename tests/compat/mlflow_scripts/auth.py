"""The real MLflow client against a server with auth on: ``MLFLOW_TRACKING_TOKEN`` carries a
Shipyard token; the caller sees only its projects. Prints one JSON object."""

from __future__ import annotations

import json
import os

import mlflow
from mlflow import MlflowClient


def _error(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except mlflow.exceptions.MlflowException as exc:
        return exc.error_code
    return None


def main() -> dict[str, object]:
    client = MlflowClient()
    out: dict[str, object] = {}
    out["visible"] = sorted(e.name for e in client.search_experiments())
    exp = client.get_experiment_by_name("shared")
    run = client.create_run(exp.experiment_id, run_name="with-token")
    client.log_metric(run.info.run_id, "acc", 0.7)
    client.set_terminated(run.info.run_id)
    out["run_id"] = run.info.run_id
    out["user"] = client.get_run(run.info.run_id).info.user_id
    out["secret_by_name"] = client.get_experiment_by_name("secret") is None
    out["secret_run"] = _error(lambda: client.get_run(os.environ["SECRET_RUN"]))
    out["secret_search"] = _error(lambda: client.search_runs([os.environ["SECRET_EXP"]]))
    token = os.environ.pop("MLFLOW_TRACKING_TOKEN")
    out["no_token"] = _error(lambda: MlflowClient().search_runs([exp.experiment_id]))
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
