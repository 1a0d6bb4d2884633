"""Search: 10,000 runs (10 params, 5 metrics, 2 tags) in one project, one filtered, ordered page.

Both data sets are loaded without HTTP for speed (Shipyard: ``SqlRunStore`` through
``open_store``; MLflow: its own ``SqlAlchemyStore``), then queried through each server's HTTP API
with each SDK (``shipyard.Client.search_runs`` / ``MlflowClient.search_runs``): a filter on a metric
and a param, ordered by a metric, a page of 100. Both sides must return the same 100 runs.
"""

from __future__ import annotations

import time
from pathlib import Path

from _dataset import (
    ORDER_MLFLOW,
    ORDER_SHIPYARD,
    SEARCH_FILTER_MLFLOW,
    SEARCH_FILTER_SHIPYARD,
    read_runs,
    write_runs,
)
from _harness import (
    Json,
    emit,
    log,
    mlflow_db_uri,
    mlflow_server,
    mlflow_side,
    parse_args,
    shipyard_server,
    summarize,
    timed_ms,
    workdir,
)

import shipyard
from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.ids import new_id
from shipyard.settings import Settings
from shipyard.store.base import RunStore, SearchQuery
from shipyard.store.factory import open_store

PROJECT = "bench-search"
LIMIT = 100
REPS = 30
WARMUP = 3
TARGET_MS = 50.0


def load_shipyard(store: RunStore, data: Path) -> float:
    """Create every run of the data set in ``store``; returns the seconds it took."""
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
            log(f"shipyard: loaded {count:,} runs")
    return time.perf_counter() - start


def store_direct_ms(store: RunStore) -> Json:
    """The same query on the store itself (no HTTP): where the server's time goes."""
    query = SearchQuery(
        project=PROJECT, filter=SEARCH_FILTER_SHIPYARD, order_by=(ORDER_SHIPYARD,), limit=LIMIT
    )
    timed_ms(store.search_runs, WARMUP, query)
    return summarize(timed_ms(store.search_runs, REPS, query), "ms")


def shipyard_search(url: str, home: Path) -> Json:
    """Time the query through the server with ``shipyard.Client``."""
    with shipyard.Client(settings=Settings(tracking_uri=url, home=home)) as client:

        def query() -> list[str]:
            page = client.search_runs(
                PROJECT, filter=SEARCH_FILTER_SHIPYARD, order_by=[ORDER_SHIPYARD], limit=LIMIT
            )
            return [run.name for run in page.items]

        timed_ms(query, WARMUP)
        samples = timed_ms(query, REPS)
        names = query()
    return {"latency_ms": summarize(samples, "ms"), "rows": len(names), "names": names}


def main() -> None:
    """Load both sides, query both, print the comparison."""
    args = parse_args(__doc__ or "")
    runs = 2_000 if args.quick else 10_000
    with workdir("search") as data:
        write_runs(data / "runs.jsonl", runs)
        log(f"shipyard: loading {runs:,} runs through SqlRunStore")
        store = open_store(f"sqlite:///{data / 'shipyard.db'}", auto_create=True)
        ours_load_s = load_shipyard(store, data / "runs.jsonl")
        direct = store_direct_ms(store)
        store.close()
        with shipyard_server(data) as server:
            ours = shipyard_search(server.url, data / "home")
        log(f"shipyard: median {ours['latency_ms']['median']} ms")
        loaded = mlflow_side(
            "load_runs.py", "--db-uri", mlflow_db_uri(data), "--artifact-root",
            data / "mlartifacts", "--data", data / "runs.jsonl", "--experiment", PROJECT,
        )  # fmt: skip
        with mlflow_server(data) as server:
            theirs = mlflow_side(
                "search.py", "--uri", server.url, "--experiment", PROJECT,
                "--filter", SEARCH_FILTER_MLFLOW, "--order-by", ORDER_MLFLOW,
                "--limit", LIMIT, "--reps", REPS,
            )  # fmt: skip
    same = ours.pop("names") == theirs.pop("names")
    emit(
        {
            "benchmark": "search",
            "runs": runs,
            "query": {"filter": SEARCH_FILTER_SHIPYARD, "order_by": ORDER_SHIPYARD, "limit": LIMIT},
            "shipyard": {**ours, "store_direct_ms": direct, "load_s": round(ours_load_s, 1),
                         "loaded_via": "SqlRunStore (open_store)"},
            "mlflow": {**theirs, "load_s": loaded["load_s"], "loaded_via": loaded["via"]},
            "same_first_page": same,
            "target": f"shipyard median <= {TARGET_MS:g} ms",
            "meets_target": ours["latency_ms"]["median"] <= TARGET_MS,
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
