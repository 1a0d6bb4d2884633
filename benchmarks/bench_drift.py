"""Drift: the time of one drift check over a 10,000-row window against a summarised reference.

The reference (50,000 rows of 10 numeric features and 2 categorical ones, so the distance tests
apply: Wasserstein and Jensen-Shannon) is summarised once; a check then only reads the window.
Also timed: a 1,000-row reference (p-value tests: Kolmogorov-Smirnov and chi-squared), reading a
10,000-row window back from prediction-log files, and the summary's JSON size. Prints one JSON
object (medians of ``--repeats`` runs, milliseconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.serving.drift import check_drift, summarize
from shipyard.serving.drift_data import prediction_window

NUMERIC = 10
CATEGORIES = ("a", "b", "c", "d")


def table(rows: int, shift: float, seed: int) -> np.ndarray:
    """Rows of numeric features plus two categorical ones."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(loc=shift, size=(rows, NUMERIC)).astype(object)
    categories = rng.choice(CATEGORIES, size=(rows, 2))
    return np.hstack([numbers, categories])


def median_ms(func: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``func`` in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def write_predlog(folder: Path, window: np.ndarray) -> None:
    """The window as prediction-log lines (100 rows per logged request)."""
    now = time.time()
    hour = time.strftime("%Y%m%dT%H", time.gmtime(now))
    with (folder / f"predictions-{hour}-1.jsonl").open("w") as handle:
        for start in range(0, len(window), 100):
            rows = window[start : start + 100].tolist()
            line = {"ts": now - 1, "model": "m", "version": "1", "protocol": "v2",
                    "columns": None, "inputs": rows, "outputs": [0] * len(rows)}  # fmt: skip
            handle.write(json.dumps(line) + "\n")


def main() -> None:
    """Run and print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    big = table(50_000, 0.0, 1)
    small = table(1_000, 0.0, 2)
    window = table(10_000, 0.3, 3)
    started = time.perf_counter()
    summary = summarize(big)
    summarize_ms = round((time.perf_counter() - started) * 1000, 2)
    small_summary = summarize(small)
    report = check_drift(summary, window)
    with tempfile.TemporaryDirectory() as tmp:
        write_predlog(Path(tmp), window[:, :NUMERIC].astype(float))
        read_ms = median_ms(lambda: prediction_window(Path(tmp), window_s=3600), args.repeats)
    result = {
        "benchmark": "drift",
        "window_rows": len(window),
        "features": window.shape[1],
        "check_ms_large_reference": median_ms(lambda: check_drift(summary, window), args.repeats),
        "check_ms_small_reference": median_ms(
            lambda: check_drift(small_summary, window), args.repeats
        ),
        "summarize_ms_50k_rows": summarize_ms,
        "read_window_ms_10k_rows": read_ms,
        "summary_json_bytes": len(json.dumps(summary.to_dict())),
        "dataset_drift": report["dataset_drift"],
        "share_drifted": round(report["share_drifted"], 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
