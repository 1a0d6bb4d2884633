"""Load one long metric into MLflow through its own ``SqlAlchemyStore`` (no HTTP: fast).

``log_batch`` takes at most 1000 metrics per call, in the store as over HTTP.
"""

from __future__ import annotations

import argparse
import time

from _common import emit, fast_sqlite, log, metric_value
from mlflow.entities import Metric
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

BATCH = 1000


def main() -> None:
    """Create a run, log ``--points`` steps of ``--key`` and print the run id."""
    args = _args()
    store = SqlAlchemyStore(args.db_uri, args.artifact_root)
    fast_sqlite(store)
    experiment_id = store.create_experiment("bench-history")
    base = int(time.time() * 1000)
    run_id = store.create_run(experiment_id, "bench", base, [], "history").info.run_id
    start = time.perf_counter()
    for first in range(0, args.points, BATCH):
        steps = range(first, min(first + BATCH, args.points))
        metrics = [Metric(args.key, metric_value(s, 0), base + s, s) for s in steps]
        store.log_batch(run_id, metrics=metrics, params=[], tags=[])
        if (first + BATCH) % 100_000 == 0:
            log(f"loaded {first + BATCH:,} points")
    emit(
        {
            "run_id": run_id,
            "load_s": round(time.perf_counter() - start, 1),
            "via": "SqlAlchemyStore (PRAGMA synchronous=OFF)",
        }
    )


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db-uri", required=True)
    p.add_argument("--artifact-root", required=True)
    p.add_argument("--points", type=int, required=True)
    p.add_argument("--key", required=True)
    return p.parse_args()


if __name__ == "__main__":
    main()
