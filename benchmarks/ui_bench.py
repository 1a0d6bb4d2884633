"""Hub UI: time to first runs-table rows with 10,000 runs, and to a drawn 1,000,000-point chart.

The store is loaded directly (``open_store``), then served by ``python -m shipyard.server``;
Debian's Chromium, driven by Playwright, opens the pages. Times are read from the page itself:
``performance.mark``s that the UI sets when the first rows are in the table (``shipyard:rows``)
and when a chart is drawn (``shipyard:chart``), measured from the start of the navigation.
"cold" opens each page in a fresh browser context (empty cache: plotly.js is downloaded and
parsed again); "warm" navigates again in the same context.

    .venv/bin/python benchmarks/ui_bench.py [--quick]
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
from _dataset import SEARCH_FILTER_SHIPYARD, read_runs, write_runs
from _harness import Json, emit, log, parse_args, shipyard_server, summarize, workdir
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.ids import new_id
from shipyard.store.base import RunStore
from shipyard.store.factory import open_store

PROJECT = "bench-ui"
BIG_PROJECT = "bench-ui-history"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
CHUNK = 200_000
TIMEOUT_MS = 120_000


def load_runs(store: RunStore, data: Path) -> float:
    """Create every run of the data set; returns the seconds it took."""
    start = time.perf_counter()
    for count, run in enumerate(read_runs(data), 1):
        record = store.create_run(
            PROJECT, name=run["name"], user="bench", params=run["params"], tags=run["tags"],
            start_time=run["start_time"],
        )  # fmt: skip
        columns = {
            key: MetricColumns(steps=[0], timestamps=[run["start_time"]], values=[value])
            for key, value in run["metrics"].items()
        }
        store.ingest(record.id, IngestBatch(batch_id=new_id(), metrics=columns))
        if count % 2000 == 0:
            log(f"loaded {count:,} runs")
    return time.perf_counter() - start


def load_big_metric(store: RunStore, points: int) -> str:
    """A run with one metric of ``points`` points (a noisy decaying loss); returns its id."""
    run = store.create_run(BIG_PROJECT, name=f"loss-{points:,}")
    rng = np.random.default_rng(7)
    steps = np.arange(points, dtype=np.int64)
    values = 2.0 * np.exp(-steps / (points / 5)) + rng.normal(0, 0.05, points)
    for lo in range(0, points, CHUNK):
        hi = min(points, lo + CHUNK)
        columns = MetricColumns(
            steps=steps[lo:hi].tolist(),
            timestamps=(1_760_000_000_000 + steps[lo:hi] * 10).tolist(),
            values=values[lo:hi].tolist(),
        )
        store.ingest(run.id, IngestBatch(batch_id=new_id(), metrics={"loss": columns}))
    return run.id


def mark_ms(page: Page, name: str) -> float:
    """Milliseconds from the start of the navigation to the page's first mark ``name``."""
    page.wait_for_function(
        f"() => performance.getEntriesByName({name!r}).length > 0", timeout=TIMEOUT_MS
    )
    return float(page.evaluate(f"() => performance.getEntriesByName({name!r})[0].startTime"))


def measure(browser: Browser, url: str, mark: str, reps: int) -> Json:
    """Cold (fresh context each time) and warm (same context, reloaded) times to ``mark``."""
    cold: list[float] = []
    for _ in range(reps):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url)
        cold.append(mark_ms(page, mark))
        context.close()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url)
    mark_ms(page, mark)
    warm: list[float] = []
    for _ in range(reps):
        page.goto("about:blank")
        page.goto(url)
        warm.append(mark_ms(page, mark))
    context.close()
    return {"cold_ms": summarize(cold, "ms", 1), "warm_ms": summarize(warm, "ms", 1)}


def history_latency(url: str, reps: int) -> Json:
    """Server time for the downsampled history one chart asks for (~its pixel width)."""
    samples = []
    with httpx.Client(timeout=60) as client:
        client.get(url).raise_for_status()  # warm-up
        for _ in range(reps):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            samples.append((time.perf_counter() - start) * 1000)
    return summarize(samples, "ms", 1)


def main() -> None:
    """Load the store, serve it, measure in Chromium, print JSON."""
    args = parse_args(__doc__ or "")
    runs, points, reps = (2_000, 200_000, 3) if args.quick else (10_000, 1_000_000, 7)
    with workdir("ui") as data:
        write_runs(data / "runs.jsonl", runs)
        store = open_store(f"sqlite:///{data / 'shipyard.db'}", auto_create=True)
        log(f"loading {runs:,} runs through SqlRunStore")
        load_s = load_runs(store, data / "runs.jsonl")
        log(f"loading one metric of {points:,} points")
        big = load_big_metric(store, points)
        store.close()
        with shipyard_server(data) as server, sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            table_url = f"{server.url}/projects/{PROJECT}"
            query = httpx.QueryParams(filter=SEARCH_FILTER_SHIPYARD, order="-metrics.f1")
            log("runs table")
            table = measure(browser, table_url, "shipyard:rows", reps)
            log("runs table, filtered and sorted by a metric")
            sorted_table = measure(browser, f"{table_url}?{query}", "shipyard:rows", reps)
            log(f"{points:,}-point chart")
            chart = measure(browser, f"{server.url}/runs/{big}#metrics", "shipyard:chart", reps)
            history = history_latency(
                f"{server.url}/api/v1/runs/{big}/metrics/history?key=loss&max_points=1300", reps
            )
            browser.close()
    emit(
        {
            "benchmark": "ui",
            "runs": runs,
            "metric_points": points,
            "browser": "Debian Chromium (headless), 1400x900",
            "load_s": round(load_s, 1),
            "runs_table_first_rows": {"url": f"/projects/{PROJECT}", **table},
            "runs_table_filtered_sorted_first_rows": {"query": str(query), **sorted_table},
            "metric_chart_drawn": {"points": points, **chart},
            "history_request_ms": {"max_points": 1300, **history},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
