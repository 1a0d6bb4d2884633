"""MLflow side of the hot-path benchmark: the cost of one ``mlflow.log_metrics`` call.

Measured twice: the default (synchronous: one HTTP request per call) and with
``synchronous=False`` (MLflow's async logging queue, the closest thing to Shipyard's writer).
"""

from __future__ import annotations

import argparse
import time

import mlflow
from _common import emit, log, parser, summarize

WARMUP = 20


def main() -> None:
    """Time each call of both modes and print the distributions."""
    args = _args()
    mlflow.set_tracking_uri(args.uri)
    mlflow.set_experiment("bench-hotpath")
    log(f"{args.calls:,} synchronous log_metrics calls")
    with mlflow.start_run(run_name="hotpath-sync"):
        sync_ns = _time_calls(args.calls, synchronous=True)
    log(f"{args.async_calls:,} log_metrics(synchronous=False) calls")
    with mlflow.start_run(run_name="hotpath-async"):
        async_ns = _time_calls(args.async_calls, synchronous=False)
        start = time.perf_counter()
        mlflow.flush_async_logging()
        flush_s = time.perf_counter() - start
    emit(
        {
            "sync_us": summarize([ns / 1000 for ns in sync_ns], "us"),
            "async_us": summarize([ns / 1000 for ns in async_ns], "us"),
            "async_flush_at_end_s": round(flush_s, 3),
        }
    )


def _time_calls(calls: int, *, synchronous: bool) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    for i in range(-WARMUP, calls):
        metrics = {"loss": 1.0 / (i + WARMUP + 1), "acc": 0.5, "lr": 0.001, "grad_norm": 2.0}
        start = clock()
        mlflow.log_metrics(metrics, step=i + WARMUP, synchronous=synchronous)
        elapsed = clock() - start
        if i >= 0:
            samples.append(elapsed)
    return samples


def _args() -> argparse.Namespace:
    p = parser(__doc__ or "")
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--async-calls", type=int, required=True)
    return p.parse_args()


if __name__ == "__main__":
    main()
