"""History: one run with a 1,000,000-point metric, read back through the server.

Shipyard: ``Client.metric_history(run, key, max_points=1000)`` (server-side downsampling that keeps
shape and extremes), and the full series for comparison. MLflow: ``get_metric_history`` (the
client API: every point, no downsampling) and the ``get-history-bulk-interval`` endpoint its UI uses
(server-side even sampling). Both data sets are loaded without HTTP (``SqlRunStore.ingest`` in
20,000-point batches, the SDK writer's size; MLflow's ``SqlAlchemyStore.log_batch`` in 1,000-point
batches, its limit).
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import (
    Json,
    emit,
    log,
    mlflow_db_uri,
    mlflow_server,
    mlflow_side,
    parse_args,
    shipyard_server,
    summarize,
    timed_ms,
    workdir,
)

import shipyard
from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.ids import new_id
from shipyard.settings import Settings
from shipyard.store.base import RunStore
from shipyard.store.factory import open_store

KEY = "loss"
MAX_POINTS = 1000
BATCH = 20_000
REPS = 10
FULL_REPS = 3
MLFLOW_FULL_REPS = 1
"""MLflow's client reads a long series in 25,000-point pages with OFFSET: minutes per read."""
TARGET_MS = 100.0
BASE_TIME_MS = 1_760_000_000_000


def metric_value(step: int) -> float:
    """The value both sides log at ``step`` (same formula as ``mlflow_side/_common.py``)."""
    return (step % 1000) * 0.001


def load_shipyard(store: RunStore, points: int) -> tuple[str, float]:
    """Create a run holding ``points`` points of ``KEY``; returns its id and the load seconds."""
    run_id = store.create_run("bench-history", name="history", start_time=BASE_TIME_MS).id
    start = time.perf_counter()
    for first in range(0, points, BATCH):
        steps = list(range(first, min(first + BATCH, points)))
        columns = MetricColumns(
            steps=steps,
            timestamps=[BASE_TIME_MS + s for s in steps],
            values=[metric_value(s) for s in steps],
        )
        store.ingest(run_id, IngestBatch(batch_id=new_id(), metrics={KEY: columns}))
    return run_id, time.perf_counter() - start


def shipyard_history(url: str, home: Path, run_id: str, points: int) -> Json:
    """Time the downsampled and the full read through the server."""
    with shipyard.Client(settings=Settings(tracking_uri=url, home=home)) as client:
        sampled = client.metric_history(run_id, KEY, max_points=MAX_POINTS)
        sampled_ms = timed_ms(client.metric_history, REPS, run_id, KEY, max_points=MAX_POINTS)
        log(f"shipyard: {FULL_REPS} full reads of {points:,} points")
        full = client.metric_history(run_id, KEY)
        full_ms = timed_ms(client.metric_history, FULL_REPS, run_id, KEY)
    return {
        "sampled": {
            "latency_ms": summarize(sampled_ms, "ms"),
            "points": len(sampled.values),
            "total": sampled.total,
        },
        "full": {"latency_ms": summarize(full_ms, "ms"), "points": len(full.values)},
    }


def main() -> None:
    """Load both sides, read both, print the comparison."""
    args = parse_args(__doc__ or "")
    points = 20_000 if args.quick else 1_000_000
    with workdir("history") as data:
        log(f"shipyard: loading {points:,} points through SqlRunStore")
        store = open_store(f"sqlite:///{data / 'shipyard.db'}", auto_create=True)
        run_id, load_s = load_shipyard(store, points)
        direct = summarize(timed_ms(store.metric_history, REPS, run_id, KEY, MAX_POINTS), "ms")
        store.close()
        with shipyard_server(data) as server:
            ours = shipyard_history(server.url, data / "home", run_id, points)
        log(f"shipyard: median {ours['sampled']['latency_ms']['median']} ms (max_points=1000)")
        loaded = mlflow_side(
            "load_history.py", "--db-uri", mlflow_db_uri(data), "--artifact-root",
            data / "mlartifacts", "--points", points, "--key", KEY,
        )  # fmt: skip
        with mlflow_server(data) as server:
            theirs = mlflow_side(
                "history.py", "--uri", server.url, "--run-id", loaded["run_id"], "--key", KEY,
                "--max-points", MAX_POINTS, "--reps", REPS, "--full-reps",
                FULL_REPS if args.quick else MLFLOW_FULL_REPS,
            )  # fmt: skip
    median = ours["sampled"]["latency_ms"]["median"]
    emit(
        {
            "benchmark": "history",
            "points": points,
            "max_points": MAX_POINTS,
            "shipyard": {**ours, "store_direct_sampled_ms": direct, "load_s": round(load_s, 1),
                         "loaded_via": "SqlRunStore.ingest"},
            "mlflow": {**theirs, "load_s": loaded["load_s"], "loaded_via": loaded["via"]},
            "target": f"shipyard sampled median <= {TARGET_MS:g} ms",
            "meets_target": median <= TARGET_MS,
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
