"""Run every benchmark (Shipyard vs MLflow 3, same machine, same run) and save the results.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only ingest,search]

Each benchmark runs in its own process; its JSON lands under its name in
``benchmarks/results/latest.json`` (``latest-quick.json`` with ``--quick``), next to the machine
description and a summary with each target. Progress goes to stderr, the whole result to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from _harness import BENCH_DIR, MLFLOW_PYTHON, MLFLOW_SIDE, ROOT, Json, emit, log, machine

BENCHMARKS = ("ingest", "hotpath", "search", "history", "artifacts")
RESULTS = BENCH_DIR / "results"


def run_one(name: str, quick: bool) -> Json:
    """Run ``bench_<name>.py`` in a fresh process and return its JSON (or the failure), with the
    machine's load average before and after (other work on the machine skews every figure)."""
    argv = [sys.executable, str(BENCH_DIR / f"bench_{name}.py"), *(["--quick"] if quick else [])]
    log(f"=== {name} === (load average {os.getloadavg()[0]:.2f})")
    load_before = round(os.getloadavg()[0], 2)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, cwd=ROOT, check=False)
    elapsed = round(time.perf_counter() - start, 1)
    context = {"wall_s": elapsed, "load_avg_1m": [load_before, round(os.getloadavg()[0], 2)]}
    if done.returncode != 0:
        log(f"{name} FAILED (exit {done.returncode})")
        return {"benchmark": name, "error": f"exit code {done.returncode}", **context}
    result: Json = json.loads(done.stdout)
    return {**result, **context}


def wait_for_quiet(max_load: float, patience_s: float) -> None:
    """Wait (at most ``patience_s``) until the 1-minute load average is below ``max_load``."""
    deadline = time.monotonic() + patience_s
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        log(f"waiting for a quieter machine (load {os.getloadavg()[0]:.2f} >= {max_load})")
        time.sleep(30)


def versions() -> Json:
    """Versions of both systems and the commit measured."""
    mlflow = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
        check=False,
    )  # fmt: skip
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("shipyard")
    except PackageNotFoundError:
        ours = "unknown"
    return {
        "shipyard": ours,
        "mlflow": mlflow.stdout.strip() or "missing",
        "commit": commit.stdout.strip() or "uncommitted",
    }


def summary(results: dict[str, Json]) -> list[dict[str, Any]]:
    """One line per benchmark: its target and whether this run met it."""
    return [
        {"benchmark": name, "target": r.get("target"), "meets_target": r.get("meets_target")}
        for name, r in results.items()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks, write the results file, print it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument(
        "--max-load", type=float, default=None,
        help="before each benchmark, wait for the 1-min load average to be below this",
    )  # fmt: skip
    parser.add_argument(
        "--patience", type=float, default=900, help="seconds --max-load waits at most (900)"
    )
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    if not MLFLOW_PYTHON.exists():
        parser.error(f"MLflow is missing at {MLFLOW_PYTHON}: run benchmarks/setup_mlflow.sh")
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results: dict[str, Json] = {}
    for name in chosen:
        if args.max_load is not None:
            wait_for_quiet(args.max_load, patience_s=args.patience)
        results[name] = run_one(name, args.quick)
    report = {
        "started": started,
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "mlflow_side_scripts": str(MLFLOW_SIDE.relative_to(ROOT)),
        "summary": summary(results),
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / ("latest-quick.json" if args.quick else "latest.json")
    partial = target.with_suffix(".json.tmp")
    partial.write_text(json.dumps(report, indent=2) + "\n")
    partial.replace(target)
    log(f"wrote {target.relative_to(ROOT)}")
    emit(report)
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
