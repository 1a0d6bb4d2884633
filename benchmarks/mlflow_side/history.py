"""MLflow side of the history benchmark, through the server.

* ``get_metric_history``: the client API; it returns every point (no downsampling).
* ``get-history-bulk-interval``: the endpoint MLflow's own UI charts use; it samples evenly on the
  server (``max_results`` <= 2500). Not in the Python client, so it is called with ``requests``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import requests
from _common import emit, log, parser, summarize
from mlflow.tracking import MlflowClient

SAMPLED_PATH = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"


def main() -> None:
    """Time both reads and print their latency and sizes."""
    args = _args()
    client = MlflowClient(tracking_uri=args.uri)
    params = {"run_ids": args.run_id, "metric_key": args.key, "max_results": args.max_points}
    with requests.Session() as http:

        def sampled() -> int:
            response = http.get(args.uri + SAMPLED_PATH, params=params, timeout=600)
            response.raise_for_status()
            return len(response.json().get("metrics", []))

        log(f"{args.reps} x get-history-bulk-interval (max_results={args.max_points})")
        sampled_ms, sampled_points = _time(sampled, args.reps, warm_up=True)
    # The sampled reads warmed the server up; a full read of a long series takes minutes, so
    # it is not repeated for a warm-up.
    log(f"{args.full_reps} x get_metric_history (all points)")
    full_ms, full_points = _time(
        lambda: len(client.get_metric_history(args.run_id, args.key)), args.full_reps
    )
    emit(
        {
            "full": {"latency_ms": summarize(full_ms, "ms"), "points": full_points},
            "sampled": {"latency_ms": summarize(sampled_ms, "ms"), "points": sampled_points},
        }
    )


def _time(fn: Callable[[], int], reps: int, warm_up: bool = False) -> tuple[list[float], int]:
    if warm_up:
        fn()
    samples: list[float] = []
    count = 0
    for _ in range(reps):
        start = time.perf_counter()
        count = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, count


def _args() -> argparse.Namespace:
    p = parser(__doc__ or "")
    p.add_argument("--run-id", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--max-points", type=int, default=1000)
    p.add_argument("--reps", type=int, required=True)
    p.add_argument("--full-reps", type=int, required=True)
    return p.parse_args()


if __name__ == "__main__":
    main()
