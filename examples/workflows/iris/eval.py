"""Score the model version the workflow passes in on the test split; log ``accuracy``."""

import csv
import os

import numpy as np

import shipyard

name, _, version = os.environ["SHIPYARD_INPUT_DATA"].partition("@")
with shipyard.start_run() as run:
    folder = run.use_dataset(name, int(version))
    with (folder / "test.csv").open(newline="") as fh:
        values = np.array(list(csv.reader(fh))[1:], dtype=float)
    model = shipyard.load_model(os.environ["SHIPYARD_INPUT_MODEL"])  # models:/iris-clf/N
    predicted = np.asarray(model.predict(values[:, :-1]))
    accuracy = float((predicted == values[:, -1].astype(int)).mean())
    run.log_metrics({"accuracy": accuracy})
    print("accuracy", accuracy)
