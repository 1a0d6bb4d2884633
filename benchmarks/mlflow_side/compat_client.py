"""The MLflow client timing the MLflow-compatibility benchmark, against whichever server
``--uri`` names (a real ``mlflow server`` or ``shipyard server``).

``train``: a typical training script's logging (10 params, 3 tags, 20 epochs of 3 metrics via
``log_metrics``, one small artifact, start to end of run), ``--reps`` times.
``scan``: ``search_runs`` paging through every run of an experiment, 1,000 per page.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import mlflow
from _common import emit, log, parser, summarize
from mlflow.tracking import MlflowClient


def train_once(notes: Path) -> float:
    """One training script's logging; returns its wall time in ms."""
    start = time.perf_counter()
    with mlflow.start_run(run_name="train"):
        mlflow.log_params({f"p{i}": i * 0.1 for i in range(10)})
        mlflow.set_tags({"team": "vision", "stage": "dev", "dataset": "iris"})
        for epoch in range(20):
            mlflow.log_metrics(
                {"loss": 1 / (epoch + 1), "acc": epoch / 20, "val_loss": 1.1 / (epoch + 1)},
                step=epoch,
            )
        mlflow.log_artifact(str(notes))
    return (time.perf_counter() - start) * 1000


def train(args: object) -> None:
    """Time ``--reps`` training scripts (after one warm-up)."""
    mlflow.set_tracking_uri(args.uri)  # type: ignore[attr-defined]
    mlflow.set_experiment("bench-train")
    notes = Path(tempfile.mkdtemp()) / "notes.txt"
    notes.write_text("model notes\n" * 100)
    train_once(notes)
    samples = [train_once(notes) for _ in range(args.reps)]  # type: ignore[attr-defined]
    emit({"latency_ms": summarize(samples, "ms")})


def scan(args: object) -> None:
    """Time paging through every run of ``--experiment``."""
    client = MlflowClient(tracking_uri=args.uri)  # type: ignore[attr-defined]
    experiment = client.get_experiment_by_name(args.experiment)  # type: ignore[attr-defined]
    samples, total = [], 0
    for _ in range(args.reps):  # type: ignore[attr-defined]
        start, total, token = time.perf_counter(), 0, None
        while True:
            page = client.search_runs(
                [experiment.experiment_id], max_results=1000, page_token=token
            )
            total += len(page)
            token = page.token
            if not token:
                break
        samples.append((time.perf_counter() - start) * 1000)
        log(f"scanned {total} runs")
    emit({"latency_ms": summarize(samples, "ms"), "runs": total})


def main() -> None:
    """Dispatch ``train`` / ``scan``."""
    p = parser(__doc__ or "")
    p.add_argument("mode", choices=["train", "scan"])
    p.add_argument("--experiment", default="bench-search")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    train(args) if args.mode == "train" else scan(args)


if __name__ == "__main__":
    main()
