"""Ingest: 100,000 metric points from one process to a server over HTTP, Shipyard vs MLflow.

Shipyard: ``run.log_metrics`` in a loop through the SDK against ``shipyard.server``; the clock runs
from the first call until the run has ended (every point acknowledged by the server), and the
points are then counted back through the server. MLflow: ``MlflowClient.log_batch`` with 1000
metrics per call (its maximum), synchronous, then ``set_terminated``.
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import (
    Json,
    emit,
    log,
    mlflow_server,
    mlflow_side,
    parse_args,
    ratio,
    shipyard_server,
    workdir,
)

import shipyard
from shipyard.settings import Settings

KEYS = 10
TARGET_RATIO = 20.0


def metric_value(step: int, key_index: int) -> float:
    """The value both sides log for (step, key) (same formula as ``mlflow_side/_common.py``)."""
    return (step % 1000) * 0.001 + key_index


def shipyard_ingest(url: str, home: Path, steps: int) -> Json:
    """Log ``KEYS x steps`` points through the SDK and time it until the run has ended."""
    settings = Settings(tracking_uri=url, home=home, end_timeout=3600)
    keys = [f"metric_{j}" for j in range(KEYS)]
    rows = [{k: metric_value(s, j) for j, k in enumerate(keys)} for s in range(steps)]
    run = shipyard.start_run(project="bench-ingest", name="ingest", settings=settings)
    with run:
        start = time.perf_counter()
        for step, values in enumerate(rows):
            run.log_metrics(values, step=step)
        enqueued = time.perf_counter() - start
    elapsed = time.perf_counter() - start
    with shipyard.Client(settings=settings) as client:
        record = client.get_run(run.id)
    stored = sum(summary.count for summary in record.metrics.values())
    points = KEYS * steps
    return {
        "points": points,
        "seconds": round(elapsed, 3),
        "points_per_s": round(points / elapsed),
        "enqueue_seconds": round(enqueued, 3),
        "points_stored": stored,
        "run_status": record.status.value,
        "writer": {"batches_sent": run.writer_stats.batches_sent},
    }


def main() -> None:
    """Run both sides and print the comparison."""
    args = parse_args(__doc__ or "")
    steps = 2_000 if args.quick else 10_000
    with workdir("ingest") as data:
        with shipyard_server(data) as server:
            log(f"shipyard: logging {KEYS * steps:,} points via the SDK")
            ours = shipyard_ingest(server.url, data / "home", steps)
        log(f"shipyard: {ours['points_per_s']:,} points/s")
        with mlflow_server(data) as server:
            theirs = mlflow_side("ingest.py", "--uri", server.url, "--keys", KEYS, "--steps", steps)
        log(f"mlflow: {theirs['points_per_s']:,} points/s")
    speedup = ratio(ours["points_per_s"], theirs["points_per_s"])
    emit(
        {
            "benchmark": "ingest",
            "points": KEYS * steps,
            "shipyard": ours,
            "mlflow": theirs,
            "ratio_shipyard_over_mlflow": speedup,
            "target": f"ratio >= {TARGET_RATIO:g}",
            "meets_target": speedup is not None
            and speedup >= TARGET_RATIO
            and ours["points_stored"] == ours["points"],
        }
    )


if __name__ == "__main__":
    main()
