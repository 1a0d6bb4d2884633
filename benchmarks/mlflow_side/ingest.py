"""MLflow side of the ingest benchmark: ``MlflowClient.log_batch`` with 1000 metrics per call."""

from __future__ import annotations

import argparse
import time

from _common import emit, log, metric_value, parser
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

MAX_METRICS_PER_BATCH = 1000  # MLflow's limit per log_batch call


def main() -> None:
    """Log keys x steps points to the server and print the throughput."""
    args = _args()
    client = MlflowClient(tracking_uri=args.uri)
    experiment_id = client.create_experiment("bench-ingest")
    run_id = client.create_run(experiment_id, run_name="ingest").info.run_id
    keys = [f"metric_{j}" for j in range(args.keys)]
    log(f"logging {args.keys * args.steps:,} points with log_batch({MAX_METRICS_PER_BATCH})")
    start = time.perf_counter()
    batch: list[Metric] = []
    calls = 0
    for step in range(args.steps):
        now = int(time.time() * 1000)
        for j, key in enumerate(keys):
            batch.append(Metric(key, metric_value(step, j), now, step))
        if len(batch) >= MAX_METRICS_PER_BATCH:
            client.log_batch(run_id, metrics=batch[:MAX_METRICS_PER_BATCH])
            del batch[:MAX_METRICS_PER_BATCH]
            calls += 1
    while batch:
        client.log_batch(run_id, metrics=batch[:MAX_METRICS_PER_BATCH])
        del batch[:MAX_METRICS_PER_BATCH]
        calls += 1
    client.set_terminated(run_id)
    elapsed = time.perf_counter() - start
    points = args.keys * args.steps
    emit(
        {
            "points": points,
            "log_batch_calls": calls,
            "seconds": round(elapsed, 3),
            "points_per_s": round(points / elapsed),
        }
    )


def _args() -> argparse.Namespace:
    p = parser(__doc__ or "")
    p.add_argument("--keys", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    return p.parse_args()


if __name__ == "__main__":
    main()
