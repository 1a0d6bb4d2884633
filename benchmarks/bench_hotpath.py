"""Hot path: what one ``run.log_metrics({...4 floats...}, step=i)`` costs the training loop.

Each call is timed with ``time.perf_counter_ns`` while the SDK's background writer is sending to a
real server (the writer's threads compete for the GIL, as in real training). The cost of the
timer pair itself is measured and reported separately, not subtracted. MLflow's
``mlflow.log_metrics`` is timed the same way, synchronous (its default) and ``synchronous=False``.
"""

from __future__ import annotations

import gc
import time
from array import array
from pathlib import Path

from _harness import (
    Json,
    emit,
    log,
    mlflow_server,
    mlflow_side,
    parse_args,
    shipyard_server,
    summarize,
    workdir,
)

import shipyard
from shipyard.settings import Settings

TARGET_US = 10.0
WARMUP = 1_000


def timer_overhead_ns(samples: int = 100_000) -> float:
    """Median cost of an empty ``perf_counter_ns`` pair (what every sample includes)."""
    clock = time.perf_counter_ns
    times = array("q", bytes(8 * samples))
    for i in range(samples):
        start = clock()
        times[i] = clock() - start
    return float(sorted(times)[samples // 2])


def shipyard_hotpath(url: str, home: Path, calls: int) -> Json:
    """Time ``calls`` calls of ``run.log_metrics`` against the server."""
    settings = Settings(tracking_uri=url, home=home, end_timeout=3600)
    clock = time.perf_counter_ns
    times = array("q", bytes(8 * calls))
    with shipyard.start_run(project="bench-hotpath", name="hotpath", settings=settings) as run:
        for i in range(WARMUP):
            run.log_metrics({"loss": 1.0 / (i + 1), "acc": 0.5, "lr": 0.001, "grad_norm": 2.0}, i)
        gc.collect()
        for i in range(WARMUP, WARMUP + calls):
            metrics = {"loss": 1.0 / (i + 1), "acc": 0.5, "lr": 0.001, "grad_norm": 2.0}
            start = clock()
            run.log_metrics(metrics, step=i)
            times[i - WARMUP] = clock() - start
        end_start = time.perf_counter()
    end_s = time.perf_counter() - end_start
    with shipyard.Client(settings=settings) as client:
        stored = client.get_run(run.id).metrics["loss"].count
    return {
        "calls": calls,
        "per_call_us": summarize([t / 1000 for t in times], "us"),
        "p999_us": round(sorted(times)[int(calls * 0.999)] / 1000, 3),
        "run_end_flush_s": round(end_s, 3),
        "points_stored": stored * 4,
        "points_logged": (calls + WARMUP) * 4,
    }


def main() -> None:
    """Run both sides and print the comparison."""
    args = parse_args(__doc__ or "")
    calls = 20_000 if args.quick else 200_000
    sync_calls, async_calls = (200, 500) if args.quick else (1_000, 2_000)
    overhead = timer_overhead_ns()
    with workdir("hotpath") as data:
        with shipyard_server(data) as server:
            log(f"shipyard: timing {calls:,} log_metrics calls")
            ours = shipyard_hotpath(server.url, data / "home", calls)
        log(f"shipyard: median {ours['per_call_us']['median']} us")
        with mlflow_server(data) as server:
            theirs = mlflow_side(
                "hotpath.py", "--uri", server.url, "--calls", sync_calls,
                "--async-calls", async_calls,
            )  # fmt: skip
    median = ours["per_call_us"]["median"]
    emit(
        {
            "benchmark": "hotpath",
            "timer_overhead_ns": overhead,
            "shipyard": ours,
            "mlflow": theirs,
            "target": f"shipyard median <= {TARGET_US:g} us",
            "meets_target": median <= TARGET_US,
        }
    )


if __name__ == "__main__":
    main()
