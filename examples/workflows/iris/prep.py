"""Write the iris data set as CSV files and log them as a version of dataset ``iris-clean``."""

import csv
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

import shipyard

data = load_iris()
train, test = train_test_split(
    list(zip(data.data, data.target, strict=True)), test_size=0.3, random_state=0
)
folder = Path("out/iris-clean")
folder.mkdir(parents=True, exist_ok=True)
for name, rows in (("train.csv", train), ("test.csv", test)):
    with (folder / name).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*data.feature_names, "label"])
        writer.writerows([*features, label] for features, label in rows)

with shipyard.start_run() as run:  # continues the run the workflow engine created
    version = run.log_dataset("iris-clean", folder, message="iris, 70/30 split")
    print("logged", version.ref)
