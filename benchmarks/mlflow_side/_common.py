"""Helpers of the MLflow-side scripts (they run in the MLflow venv, so they cannot import ours)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any


def log(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}]   mlflow: {message}", file=sys.stderr, flush=True)


def emit(result: Mapping[str, Any]) -> None:
    """Write the result object as one JSON line to stdout (the harness parses the last line)."""
    print(json.dumps(result), flush=True)


def summarize(samples: Sequence[float], unit: str, digits: int = 3) -> dict[str, Any]:
    """Median, p99, mean, min and max of ``samples`` (already in ``unit``)."""
    ordered = sorted(samples)
    p99 = ordered[max(0, min(len(ordered) - 1, round(0.99 * (len(ordered) - 1))))]
    return {
        "unit": unit,
        "n": len(samples),
        "median": round(statistics.median(samples), digits),
        "p99": round(p99, digits),
        "mean": round(statistics.fmean(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
    }


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the tracking server URI option every script takes."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--uri", help="MLflow tracking server URL (http://127.0.0.1:N)")
    return result


def metric_value(step: int, key_index: int) -> float:
    """The value both sides log for (step, key): deterministic, cheap, not constant."""
    return (step % 1000) * 0.001 + key_index


def fast_sqlite(store: Any) -> None:
    """Turn off fsync on the loader's SQLite connections (``PRAGMA synchronous=OFF``).

    Only the bulk loaders use it, to keep the benchmark short; the data written is the same, and
    the MLflow server later reads it with its defaults.
    """
    from sqlalchemy import event

    def _on_connect(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA synchronous=OFF")

    event.listen(store.engine, "connect", _on_connect)
    store.engine.dispose()  # reconnect with the pragma
