"""The search data set: deterministic runs with 10 params, 5 metrics and 2 tags each.

Written once as JSON lines, so both sides load exactly the same runs (MLflow stores params as
strings; Shipyard keeps their types).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SEARCH_FILTER_SHIPYARD = "metrics.val_acc > 0.5 AND params.optimizer = 'adam'"
SEARCH_FILTER_MLFLOW = "metrics.val_acc > 0.5 and params.optimizer = 'adam'"
ORDER_SHIPYARD = "-metrics.f1"
ORDER_MLFLOW = "metrics.f1 DESC"
BASE_TIME_MS = 1_760_000_000_000


def generate_runs(count: int, seed: int = 42) -> Iterator[dict[str, Any]]:
    """``count`` runs as plain dicts: name, start_time, params, metrics, tags."""
    rng = random.Random(seed)
    for i in range(count):
        yield {
            "name": f"run-{i:05d}",
            "start_time": BASE_TIME_MS + i * 1000,
            "params": _params(rng, i),
            "metrics": {
                "val_acc": rng.random(),
                "val_loss": rng.random() * 2,
                "train_acc": rng.random(),
                "train_loss": rng.random() * 2,
                "f1": rng.random(),
            },
            "tags": {"team": rng.choice(["vision", "nlp", "speech"]), "dataset": f"ds-{i % 20}"},
        }


def _params(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "optimizer": rng.choice(["adam", "sgd", "rmsprop", "adamw"]),
        "lr": round(10 ** rng.uniform(-5, -1), 7),
        "depth": rng.randint(1, 12),
        "batch_size": rng.choice([16, 32, 64, 128, 256]),
        "dropout": round(rng.uniform(0, 0.5), 3),
        "seed": i,
        "model": rng.choice(["resnet18", "resnet50", "vit-b16", "convnext-t"]),
        "epochs": rng.randint(5, 100),
        "weight_decay": round(10 ** rng.uniform(-6, -2), 8),
        "augment": rng.choice(["none", "light", "heavy"]),
    }


def write_runs(path: Path, count: int) -> None:
    """Write the data set as JSON lines."""
    with path.open("w") as out:
        for run in generate_runs(count):
            out.write(json.dumps(run) + "\n")


def read_runs(path: Path) -> Iterator[dict[str, Any]]:
    """Read the data set back."""
    with path.open() as lines:
        for line in lines:
            yield json.loads(line)
