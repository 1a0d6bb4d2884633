"""Where Shipyard's time goes in the read benchmarks (search, history): a breakdown for the owners.

    .venv/bin/python benchmarks/profile_shipyard.py search [--runs 10000]
    .venv/bin/python benchmarks/profile_shipyard.py history [--points 1000000]

Loads the same data as ``bench_search.py`` / ``bench_history.py``, then times each layer on its
own (median of 20): the store call, the server's serialization of the result, the client's
decoding, the whole app in-process (no sockets), and the real server through ``shipyard.Client``.
Every SQL statement the store runs is timed too, and the store call is profiled with cProfile.
Prints one JSON object; the cProfile listing goes to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _dataset import ORDER_SHIPYARD, SEARCH_FILTER_SHIPYARD, write_runs
from _harness import Json, emit, log, shipyard_server, workdir
from bench_history import KEY, MAX_POINTS
from bench_history import load_shipyard as load_history
from bench_search import LIMIT, PROJECT
from bench_search import load_shipyard as load_search
from sqlalchemy import event
from sqlalchemy.engine import Engine

import shipyard
from shipyard.api import codec, routes
from shipyard.api.schemas import RunOut, RunPage
from shipyard.artifacts.base import open_artifact_store
from shipyard.server import create_app
from shipyard.settings import Settings
from shipyard.store.base import RunStore, SearchQuery
from shipyard.store.factory import open_store
from shipyard.store.sql.store import SqlRunStore

REPS = 20


def median_ms(fn: Callable[[], object], reps: int = REPS) -> float:
    """Median wall time of ``fn()`` in milliseconds, after one warm-up call."""
    fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 3)


@contextmanager
def sql_timings(engine: Engine) -> Iterator[dict[str, list[float]]]:
    """Record the wall time of every SQL statement run on ``engine`` while inside."""
    timings: dict[str, list[float]] = defaultdict(list)
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        key = " ".join(statement.split())[:160]
        timings[key].append((time.perf_counter() - started.pop()) * 1000)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield timings
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def sql_breakdown(store: RunStore, fn: Callable[[], object]) -> list[Json]:
    """Per-statement median milliseconds of one call of ``fn`` (median over ``REPS`` calls)."""
    assert isinstance(store, SqlRunStore)
    with sql_timings(store.engine) as timings:
        for _ in range(REPS):
            fn()
    rows = [
        {"sql": sql, "calls_per_op": len(t) // REPS, "median_ms": round(statistics.median(t), 3)}
        for sql, t in timings.items()
    ]
    return sorted(rows, key=lambda row: -row["median_ms"] * max(1, row["calls_per_op"]))


def profile(fn: Callable[[], object], title: str) -> None:
    """cProfile ``REPS`` calls of ``fn``; print the top functions by cumulative time to stderr."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(REPS):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    log(f"cProfile of {title} ({REPS} calls):\n{out.getvalue()}")


def app_ms(store: RunStore, data: Path, method: str, path: str, **kwargs: Any) -> float:
    """Median time of one request to the app in-process (no sockets, no uvicorn)."""
    from fastapi.testclient import TestClient

    app = create_app(store, open_artifact_store(str(data / "artifacts")))
    with TestClient(app) as client:

        def call() -> None:
            client.request(method, path, **kwargs).raise_for_status()

        return median_ms(call)


def search(data: Path, runs: int) -> Json:
    """The search breakdown."""
    write_runs(data / "runs.jsonl", runs)
    store = open_store(f"sqlite:///{data / 'shipyard.db'}", auto_create=True)
    log(f"loading {runs:,} runs")
    load_search(store, data / "runs.jsonl")
    query = SearchQuery(PROJECT, SEARCH_FILTER_SHIPYARD, (ORDER_SHIPYARD,), LIMIT)
    page = store.search_runs(query)
    body = RunPage(runs=[RunOut.of(r) for r in page.items]).model_dump_json()
    result = {
        "store_ms": median_ms(lambda: store.search_runs(query)),
        "serialize_ms": median_ms(
            lambda: RunPage(runs=[RunOut.of(r) for r in page.items]).model_dump_json()
        ),
        "decode_ms": median_ms(
            lambda: [r.to_domain() for r in RunPage.model_validate_json(body).runs]
        ),
        "response_bytes": len(body),
        "app_in_process_ms": app_ms(
            store,
            data,
            "POST",
            routes.RUNS_SEARCH,
            json={
                "project": PROJECT,
                "filter": SEARCH_FILTER_SHIPYARD,
                "order_by": [ORDER_SHIPYARD],
                "limit": LIMIT,
            },
        ),
        "sql": sql_breakdown(store, lambda: store.search_runs(query)),
    }
    profile(lambda: store.search_runs(query), "store.search_runs")
    store.close()
    with shipyard_server(data) as server, _client(server.url, data) as client:
        result["client_over_http_ms"] = median_ms(
            lambda: client.search_runs(PROJECT, SEARCH_FILTER_SHIPYARD, ORDER_SHIPYARD, LIMIT)
        )
    return result


def history(data: Path, points: int) -> Json:
    """The history breakdown (downsampled read)."""
    store = open_store(f"sqlite:///{data / 'shipyard.db'}", auto_create=True)
    log(f"loading {points:,} points")
    run_id, _ = load_history(store, points)
    series = store.metric_history(run_id, KEY, MAX_POINTS)
    body = codec.encode_series(series)  # the SDK asks for msgpack
    path = routes.url(routes.RUN_METRIC_HISTORY, run_id=run_id)
    result = {
        "store_ms": median_ms(lambda: store.metric_history(run_id, KEY, MAX_POINTS)),
        "serialize_msgpack_ms": median_ms(lambda: codec.encode_series(series)),
        "decode_msgpack_ms": median_ms(lambda: codec.decode_series(body)),
        "response_bytes": len(body),
        "app_in_process_ms": app_ms(
            store,
            data,
            "GET",
            path,
            params={"key": KEY, "max_points": MAX_POINTS},
            headers={"accept": routes.MSGPACK},
        ),
        "sql": sql_breakdown(store, lambda: store.metric_history(run_id, KEY, MAX_POINTS)),
    }
    profile(lambda: store.metric_history(run_id, KEY, MAX_POINTS), "store.metric_history")
    store.close()
    with shipyard_server(data) as server, _client(server.url, data) as client:
        result["client_over_http_ms"] = median_ms(
            lambda: client.metric_history(run_id, KEY, max_points=MAX_POINTS)
        )
    return result


@contextmanager
def _client(url: str, data: Path) -> Iterator[shipyard.Client]:
    with shipyard.Client(settings=Settings(tracking_uri=url, home=data / "home")) as client:
        yield client


def main() -> None:
    """Run the chosen breakdown and print it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["search", "history"])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    with workdir(f"profile-{args.what}") as data:
        if args.what == "search":
            result = {"profile": "search", "runs": args.runs, **search(data, args.runs)}
        else:
            result = {"profile": "history", "points": args.points, **history(data, args.points)}
    emit(result)


if __name__ == "__main__":
    main()
