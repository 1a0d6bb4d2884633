"""Load the search data set into MLflow through its own ``SqlAlchemyStore`` (no HTTP: fast).

Reads the JSON-lines file the harness wrote (one run per line: name, params, metrics, tags) and
creates each run with ``create_run`` + one ``log_batch``, exactly as the server would.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from _common import emit, fast_sqlite, log
from mlflow.entities import Metric, Param, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore


def main() -> None:
    """Create the experiment and its runs, and print how long it took."""
    args = _args()
    store = SqlAlchemyStore(args.db_uri, args.artifact_root)
    fast_sqlite(store)
    experiment_id = store.create_experiment(args.experiment)
    start = time.perf_counter()
    count = 0
    with Path(args.data).open() as lines:
        for line in lines:
            _load_run(store, experiment_id, json.loads(line))
            count += 1
            if count % 1000 == 0:
                log(f"loaded {count:,} runs")
    emit(
        {
            "runs": count,
            "load_s": round(time.perf_counter() - start, 1),
            "via": "SqlAlchemyStore (PRAGMA synchronous=OFF)",
        }
    )


def _load_run(store: SqlAlchemyStore, experiment_id: str, run: dict[str, Any]) -> None:
    start_time = int(run["start_time"])
    info = store.create_run(experiment_id, "bench", start_time, [], run["name"]).info
    store.log_batch(
        info.run_id,
        metrics=[Metric(k, float(v), start_time, 0) for k, v in run["metrics"].items()],
        params=[Param(k, str(v)) for k, v in run["params"].items()],
        tags=[RunTag(k, str(v)) for k, v in run["tags"].items()],
    )


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db-uri", required=True)
    p.add_argument("--artifact-root", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--experiment", required=True)
    return p.parse_args()


if __name__ == "__main__":
    main()
