"""Train the benchmark's iris classifier with MLflow's scikit-learn and save it as an MLflow
model folder (run by the MLflow venv's Python; prints {"path": ...}).

    python serving_model.py OUT_DIR

Same data, same estimator and parameters as benchmarks/bench_serving.py trains on our side (the
pickles cannot be shared: each venv has its own scikit-learn)."""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from _common import emit, log
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def main() -> None:
    out = Path(sys.argv[1])
    features, labels = load_iris(return_X_y=True)
    frame = pd.DataFrame(features, columns=COLUMNS)
    model = LogisticRegression(max_iter=500).fit(frame, labels)
    signature = infer_signature(frame.head(5), model.predict(frame.head(5)))
    mlflow.sklearn.save_model(
        model,
        str(out),
        signature=signature,
        input_example=frame.head(2),
        pip_requirements=["scikit-learn"],  # skip the slow requirement inference
    )
    log(f"saved the MLflow model in {out}")
    emit({"path": str(out)})


if __name__ == "__main__":
    main()
