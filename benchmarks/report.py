"""Render a results file as the Markdown table used in ``docs/benchmarks.md``.

.venv/bin/python benchmarks/report.py [benchmarks/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import BENCH_DIR

Row = tuple[str, str, str, str]
"""(measure, Shipyard, MLflow, target / verdict)"""


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _verdict(result: dict[str, Any]) -> str:
    met = result.get("meets_target")
    return f"{result.get('target', '')}: **{'met' if met else 'MISSED'}**"


def ingest(r: dict[str, Any]) -> list[Row]:
    """Rows of the ingest benchmark."""
    ours, theirs = r["shipyard"], r["mlflow"]
    return [
        (
            f"ingest {_n(r['points'])} points over HTTP (points/s)",
            f"{_n(ours['points_per_s'])} ({ours['seconds']} s)",
            f"{_n(theirs['points_per_s'])} ({theirs['seconds']} s)",
            f"{r['ratio_shipyard_over_mlflow']}x; {_verdict(r)}",
        )
    ]


def hotpath(r: dict[str, Any]) -> list[Row]:
    """Rows of the hot-path benchmark."""
    ours, theirs = r["shipyard"]["per_call_us"], r["mlflow"]
    sync, async_ = theirs["sync_us"], theirs["async_us"]
    return [
        (
            "`log_metrics` (4 floats), median / p99 (us)",
            f"{ours['median']} / {ours['p99']}",
            f"sync {_n(sync['median'])} / {_n(sync['p99'])}",
            _verdict(r),
        ),
        (
            "same, MLflow `synchronous=False`; flush at run end",
            f"run end {r['shipyard']['run_end_flush_s']} s",
            f"{async_['median']} / {_n(async_['p99'])}; end {theirs['async_flush_at_end_s']} s",
            "reference",
        ),
    ]


def search(r: dict[str, Any]) -> list[Row]:
    """Rows of the search benchmark."""
    ours, theirs = r["shipyard"]["latency_ms"], r["mlflow"]["latency_ms"]
    same = "same 100 runs" if r["same_first_page"] else "DIFFERENT results"
    return [
        (
            f"search {_n(r['runs'])} runs, page of 100, median / p99 (ms)",
            f"{ours['median']} / {ours['p99']}",
            f"{_n(theirs['median'], 1)} / {_n(theirs['p99'], 1)}",
            f"{same}; {_verdict(r)}",
        )
    ]


def history(r: dict[str, Any]) -> list[Row]:
    """Rows of the history benchmark."""
    ours, theirs = r["shipyard"], r["mlflow"]
    return [
        (
            f"history of {_n(r['points'])} points, downsampled, median (ms)",
            f"{ours['sampled']['latency_ms']['median']} ({ours['sampled']['points']} points)",
            f"{_n(theirs['sampled']['latency_ms']['median'], 1)} "
            f"({theirs['sampled']['points']} points, UI endpoint)",
            _verdict(r),
        ),
        (
            f"history of {_n(r['points'])} points, every point, median (ms)",
            _n(ours["full"]["latency_ms"]["median"], 1),
            f"{_n(theirs['full']['latency_ms']['median'], 1)} "
            f"(n={theirs['full']['latency_ms']['n']})",
            "reference",
        ),
    ]


def artifacts(r: dict[str, Any]) -> list[Row]:
    """Rows of the artifact benchmark."""
    ours, theirs = r["shipyard"], r["mlflow"]
    again = ours["log_again"]
    return [
        (
            f"artifact {_n(r['bytes'] / 1e6)} MB upload / download (MB/s)",
            f"{ours['upload_mb_s']} / {ours['download_mb_s']}",
            f"{theirs['upload_mb_s']} / {theirs['download_mb_s']}",
            "reference",
        ),
        (
            "same file logged again: time; stored-bytes growth",
            f"{again['seconds']} s; {_n(again['growth_for_identical_file_bytes'])} bytes",
            "-",
            _verdict(r),
        ),
    ]


RENDERERS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "ingest": ingest,
    "hotpath": hotpath,
    "search": search,
    "history": history,
    "artifacts": artifacts,
}


def render(report: dict[str, Any]) -> str:
    """The Markdown table of a ``run_all.py`` report."""
    lines = [
        f"| measure | Shipyard {report['versions']['shipyard']} | "
        f"MLflow {report['versions']['mlflow']} | target |",
        "|---|---|---|---|",
    ]
    for name, result in report["results"].items():
        if "error" in result:
            lines.append(f"| {name} | failed: {result['error']} | | |")
            continue
        lines.extend(f"| {' | '.join(row)} |" for row in RENDERERS[name](result))
    return "\n".join(lines)


def main() -> None:
    """Print the table of the given (or the latest) results file."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH_DIR / "results" / "latest.json"
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
