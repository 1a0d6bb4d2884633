"""Models through the real MLflow client: sklearn ``log_model`` (MLflow 3: logged models),
``load_model`` from ``runs:/`` and ``models:/`` URIs, and the registry (versions, aliases, tags).
Prints one JSON object (the last line of stdout)."""

from __future__ import annotations

import json
import sys

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

EXPERIMENT = sys.argv[1] if len(sys.argv) > 1 else "compat-models"
MODEL = sys.argv[2] if len(sys.argv) > 2 else "iris-clf"
V3 = int(mlflow.__version__.split(".")[0]) >= 3


def log_model() -> tuple[dict[str, object], str, list[int]]:
    x, y = load_iris(return_X_y=True)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name="fit") as run:
        model = LogisticRegression(max_iter=300).fit(x, y)
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("train_acc", float(model.score(x, y)))
        if V3:
            info = mlflow.sklearn.log_model(model, name="model", input_example=x[:3])
        else:
            info = mlflow.sklearn.log_model(model, artifact_path="model", input_example=x[:3])
    expected = [int(v) for v in model.predict(x[:5])]
    out: dict[str, object] = {"run_id": run.info.run_id, "model_uri": info.model_uri}
    by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    out["runs_uri_predict"] = [int(v) for v in by_run.predict(x[:5])]
    native = mlflow.sklearn.load_model(info.model_uri)
    out["model_uri_predict"] = [int(v) for v in native.predict(x[:5])]
    return out, run.info.run_id, expected


def registry(run_id: str) -> dict[str, object]:
    from sklearn.datasets import load_iris as _load

    x, _ = _load(return_X_y=True)
    client = MlflowClient()
    out: dict[str, object] = {}
    version = mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    out["version"] = str(version.version)
    again = mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    out["second_version"] = str(again.version)
    client.set_registered_model_alias(MODEL, "champion", version.version)
    by_version = mlflow.pyfunc.load_model(f"models:/{MODEL}/1")
    by_alias = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    out["version_predict"] = [int(v) for v in by_version.predict(x[:5])]
    out["alias_predict"] = [int(v) for v in by_alias.predict(x[:5])]
    out["alias_version"] = str(client.get_model_version_by_alias(MODEL, "champion").version)
    client.set_registered_model_tag(MODEL, "team", "vision")
    client.set_model_version_tag(MODEL, "1", "validated", "yes")
    client.update_registered_model(MODEL, description="iris classifier")
    client.update_model_version(MODEL, "1", description="first")
    got = client.get_registered_model(MODEL)
    out["model"] = {
        "name": got.name,
        "description": got.description,
        "tags": got.tags,
        "aliases": {k: str(v) for k, v in got.aliases.items()},
    }
    mv = client.get_model_version(MODEL, "1")
    out["model_version"] = {
        "tags": mv.tags,
        "description": mv.description,
        "run_id": mv.run_id,
        "status": mv.status,
    }
    out["search_models"] = [m.name for m in client.search_registered_models()]
    out["search_versions"] = sorted(
        str(v.version) for v in client.search_model_versions(f"name='{MODEL}'")
    )
    client.delete_registered_model_alias(MODEL, "champion")
    out["aliases_after_delete"] = dict(client.get_registered_model(MODEL).aliases)
    client.delete_model_version_tag(MODEL, "1", "validated")
    client.delete_registered_model_tag(MODEL, "team")
    client.delete_model_version(MODEL, "2")
    out["versions_after_delete"] = sorted(
        str(v.version) for v in client.search_model_versions(f"name='{MODEL}'")
    )
    try:
        client.get_registered_model("no-such-model")
        out["missing_error"] = None
    except mlflow.exceptions.MlflowException as exc:
        out["missing_error"] = exc.error_code
    return out


def main() -> dict[str, object]:
    out, run_id, expected = log_model()
    out["expected"] = expected
    out["mlflow"] = mlflow.__version__
    if "--no-registry" not in sys.argv:
        out["registry"] = registry(run_id)
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
