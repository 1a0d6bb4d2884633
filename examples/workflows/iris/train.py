"""Train a logistic regression on the dataset version the workflow passes in, and register it."""

import argparse
import csv
import os

import numpy as np
from sklearn.linear_model import LogisticRegression

import shipyard


def read(path: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    values = np.array(rows, dtype=float)
    return values[:, :-1], values[:, -1].astype(int)


parser = argparse.ArgumentParser()
parser.add_argument("--c", type=float, default=1.0)
args = parser.parse_args()

name, _, version = os.environ["SHIPYARD_INPUT_DATA"].partition("@")  # e.g. iris-clean@3
with shipyard.start_run() as run:
    folder = run.use_dataset(name, int(version))
    x, y = read(str(folder / "train.csv"))
    model = LogisticRegression(C=args.c, max_iter=500).fit(x, y)
    run.log_metrics({"train_accuracy": float(model.score(x, y))})
    logged = run.log_model(model, "iris-clf", input_example=x[:5], register_as="iris-clf")
    print("registered", logged.version)
