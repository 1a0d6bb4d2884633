"""Shipyard quickstart: train a few scikit-learn models with different params and track everything.

Runs embedded (no server): data lands in ./.shipyard/. Run it with `scripts/quickstart`, then look:

    .venv/bin/shipyard runs list --project quickstart --order-by -metrics.val_acc
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path

from sklearn.datasets import load_wine
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

import shipyard

GRID = [
    {"learning_rate": 0.3, "max_depth": 1, "n_estimators": 60},
    {"learning_rate": 0.1, "max_depth": 2, "n_estimators": 60},
    {"learning_rate": 0.05, "max_depth": 3, "n_estimators": 60},
]


def train(params: dict[str, float | int], seed: int = 0) -> str:
    """Train one model, log a learning curve, its final scores and the pickled model."""
    x, y = load_wine(return_X_y=True)
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    name = f"gbt-lr{params['learning_rate']}-d{params['max_depth']}"
    with shipyard.start_run(
        project="quickstart", name=name, params={**params, "seed": seed}, tags={"dataset": "wine"}
    ) as run:
        model = GradientBoostingClassifier(random_state=seed, **params).fit(x_tr, y_tr)  # type: ignore[arg-type]
        for step, proba in enumerate(model.staged_predict_proba(x_val)):
            run.log_metrics(
                {
                    "val_loss": log_loss(y_val, proba, labels=model.classes_),
                    "val_acc": accuracy_score(y_val, model.classes_[proba.argmax(axis=1)]),
                },
                step=step,
            )
        run.log_metrics({"train_acc": accuracy_score(y_tr, model.predict(x_tr))}, step=step)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pkl"
            path.write_bytes(pickle.dumps(model))
            run.log_artifact(path)
        return run.id


def main() -> int:
    """Train the grid and say where to look."""
    ids = [train(params) for params in GRID]
    client = shipyard.Client()
    best = client.search_runs("quickstart", order_by="-metrics.val_acc", limit=1).items[0]
    print(f"logged {len(ids)} runs into ./.shipyard (project 'quickstart')")
    print(f"best run: {best.name} ({best.id}) val_acc={best.metrics['val_acc'].last:.3f}")
    print("look at them with:")
    print("  .venv/bin/shipyard runs list --project quickstart --order-by -metrics.val_acc")
    print(f"  .venv/bin/shipyard runs show {best.id}")
    print(f"  .venv/bin/shipyard artifacts ls {best.id}")
    print("or serve them to your team: .venv/bin/shipyard server --port 8080  (then open /docs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
