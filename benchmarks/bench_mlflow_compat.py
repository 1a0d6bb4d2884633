"""MLflow compatibility: the SAME MLflow 3 client (``.mlflow-clients/v3``) against a real
``mlflow server`` and against ``shipyard server``, in one run.

1. A typical training script's logging (10 params, 3 tags, 20 epochs x 3 metrics with
   ``mlflow.log_metrics``, one artifact), start to end of run.
2. ``search_runs`` over 10,000 runs (10 params, 5 metrics, 2 tags): a filtered, ordered page of
   100, and a full scan (1,000 per page).

Both data sets are loaded without HTTP (Shipyard: ``SqlRunStore``; MLflow: its own
``SqlAlchemyStore``); one server runs at a time. Prints one JSON object.
"""

from __future__ import annotations

import _harness
from _dataset import ORDER_MLFLOW, SEARCH_FILTER_MLFLOW, write_runs
from _harness import (
    ROOT,
    Json,
    emit,
    log,
    machine,
    mlflow_db_uri,
    mlflow_server,
    mlflow_side,
    parse_args,
    ratio,
    shipyard_server,
    workdir,
)
from bench_search import PROJECT, load_shipyard

from shipyard.store.factory import open_store

CLIENT_VENV = ROOT / ".mlflow-clients" / "v3"
LIMIT = 100


def use_client_venv() -> str:
    """Run the MLflow side (client and server) from ``.mlflow-clients/v3`` when it exists."""
    if (CLIENT_VENV / "bin" / "mlflow").exists():
        _harness.MLFLOW_PYTHON = CLIENT_VENV / "bin" / "python"
        _harness.MLFLOW_CLI = CLIENT_VENV / "bin" / "mlflow"
    return str(_harness.MLFLOW_PYTHON.parent.parent.relative_to(ROOT))


def measure(url: str, reps: int) -> Json:
    """The three timings through one server with the MLflow client."""
    train = mlflow_side("compat_client.py", "train", "--uri", url, "--reps", reps)
    search = mlflow_side(
        "search.py", "--uri", url, "--experiment", PROJECT, "--filter", SEARCH_FILTER_MLFLOW,
        "--order-by", ORDER_MLFLOW, "--limit", LIMIT, "--reps", reps * 2,
    )  # fmt: skip
    scan = mlflow_side("compat_client.py", "scan", "--uri", url, "--reps", max(2, reps // 2))
    return {
        "training_script_ms": train["latency_ms"],
        "search_page_ms": search["latency_ms"],
        "search_page_rows": search["rows"],
        "search_names": search["names"],
        "full_scan_ms": scan["latency_ms"],
        "full_scan_runs": scan["runs"],
    }


def main() -> None:
    """Load both sides, measure both with the same client, print the comparison."""
    args = parse_args(__doc__ or "")
    runs, reps = (2_000, 3) if args.quick else (10_000, 5)
    venv = use_client_venv()
    with workdir("mlflow-compat") as data:
        write_runs(data / "runs.jsonl", runs)
        log(f"shipyard: loading {runs:,} runs")
        store = open_store(f"sqlite:///{data / 'shipyard.db'}", auto_create=True)
        load_shipyard(store, data / "runs.jsonl")
        store.close()
        mlflow_side(
            "load_runs.py", "--db-uri", mlflow_db_uri(data), "--artifact-root",
            data / "mlartifacts", "--data", data / "runs.jsonl", "--experiment", PROJECT,
        )  # fmt: skip
        with shipyard_server(data) as server:
            ours = measure(server.url, reps)
        with mlflow_server(data) as server:
            theirs = measure(server.url, reps)
    same = ours.pop("search_names") == theirs.pop("search_names")
    emit(
        {
            "benchmark": "mlflow_compat",
            "client": f"mlflow 3 from {venv}",
            "runs": runs,
            "shipyard_server": ours,
            "mlflow_server": theirs,
            "same_first_page": same,
            "speedup": {
                key: ratio(theirs[key]["median"], ours[key]["median"])
                for key in ("training_script_ms", "search_page_ms", "full_scan_ms")
            },
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
