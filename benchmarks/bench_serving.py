"""Model serving: `shipyard serve` vs `mlflow models serve`, same model, same machine, same run.

    .venv/bin/python benchmarks/bench_serving.py [--quick]

Both sides train the same scikit-learn model (LogisticRegression on iris, named columns) in their
own venv and serve it with one server process. A load generator of N client *processes* (each a
keep-alive ``http.client`` connection in a closed loop, so the clients' GIL is not the limit) sends
the same single-row request for a fixed time; we report requests per second and p50/p99 latency:

* ``mlflow`` - ``POST /invocations`` (``dataframe_split``), ``mlflow models serve --env-manager
  local`` (1 worker, its default);
* ``shipyard_invocations`` / ``shipyard_v2`` - the same body on ``/invocations``, and the Open
  Inference Protocol request on ``/v2/models/iris/infer``;
* ``shipyard_batching`` - ``--batch-size 32 --batch-wait-ms 2``;
* the ``_16_clients`` variants: the same with 16 clients.

The three servers run side by side and the targets are measured in interleaved rounds, so load
changes on the machine hit every target alike. Server and clients share the machine's cores; the
load average is recorded next to the figures.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import (
    MLFLOW_CLI,
    MLFLOW_ENV,
    ROOT,
    Json,
    Server,
    _serve,
    emit,
    free_port,
    log,
    machine,
    mlflow_side,
    parse_args,
    percentile,
    ratio,
    workdir,
)

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROW = [5.1, 3.5, 1.4, 0.2]
SPLIT_BODY = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [ROW]}}).encode()
V2_BODY = json.dumps(
    {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]}
).encode()


# -- load generator --------------------------------------------------------------------------


def _client(port: int, path: str, body: bytes, start_at: float, stop_at: float) -> list[float]:
    """One closed-loop client: requests until ``stop_at``; latencies (s) after ``start_at``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    while True:
        began = time.perf_counter()
        now = time.time()
        if now >= stop_at:
            break
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        if now >= start_at:
            latencies.append(time.perf_counter() - began)
    conn.close()
    return latencies


def load(port: int, path: str, body: bytes, clients: int, seconds: float) -> list[float]:
    """Latencies (s) of ``clients`` client processes against ``path`` for ``seconds`` (after a
    short warm-up)."""
    start_at = time.time() + 1.0  # processes start, then warm up for a while
    stop_at = start_at + seconds
    with mp.get_context("fork").Pool(clients) as pool:
        parts = pool.starmap(_client, [(port, path, body, start_at, stop_at)] * clients)
    return [lat for part in parts for lat in part]


def figures(latencies: list[float], clients: int, seconds: float, loads: list[float]) -> Json:
    """Requests per second and p50/p99 latency of one target over all rounds."""
    return {
        "clients": clients,
        "seconds": seconds,
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "load_avg_1m": [min(loads), max(loads)],
    }


def check_answer(port: int, path: str, body: bytes) -> Any:
    """One request's decoded answer (both sides must predict the same class)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    return answer


# -- servers ---------------------------------------------------------------------------------


def save_shipyard_model(folder: Path) -> Path:
    """Train the iris classifier with our scikit-learn and save it with the sklearn flavor."""
    sys.path.insert(0, str(ROOT / "src"))
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from shipyard.flavors import save_model

    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    example = {name: features[:5, i] for i, name in enumerate(COLUMNS)}
    save_model(model, folder, input_example=example)
    return folder


@contextmanager
def shipyard_serve(model: Path, data: Path, label: str, *extra: str) -> Iterator[Server]:
    """``shipyard serve MODEL`` (one worker) with extra options."""
    port = free_port()
    argv = [
        sys.executable, "-m", "shipyard.cli", "serve", str(model), "--name", "iris",
        "--port", str(port), *extra,
    ]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT / "src")}
    log_path = data / f"shipyard-serve-{label}.log"
    with _serve(f"shipyard-{label}", argv, env, log_path, "/v2/health/ready", port) as s:
        yield s


@contextmanager
def mlflow_serve(model: Path, data: Path) -> Iterator[Server]:
    """``mlflow models serve -m MODEL --env-manager local`` (its default single worker)."""
    port = free_port()
    argv = [
        str(MLFLOW_CLI), "models", "serve", "-m", str(model), "--env-manager", "local",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    # It execs `uvicorn` through bash: the MLflow venv's bin must come first on PATH.
    env = {**MLFLOW_ENV, "PATH": f"{MLFLOW_CLI.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with _serve("mlflow", argv, env, data / "mlflow-serve.log", "/ping", port) as s:
        yield s


def _port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Target:
    """One measured configuration: a server, a path, a body and a number of clients."""

    name: str
    server: str
    path: str
    body: bytes
    clients: int


TARGETS = (
    Target("mlflow", "mlflow", "/invocations", SPLIT_BODY, 4),
    Target("shipyard_invocations", "shipyard", "/invocations", SPLIT_BODY, 4),
    Target("shipyard_v2", "shipyard", "/v2/models/iris/infer", V2_BODY, 4),
    Target("shipyard_batching", "batching", "/invocations", SPLIT_BODY, 4),
    Target("mlflow_16_clients", "mlflow", "/invocations", SPLIT_BODY, 16),
    Target("shipyard_16_clients", "shipyard", "/invocations", SPLIT_BODY, 16),
    Target("shipyard_batching_16_clients", "batching", "/invocations", SPLIT_BODY, 16),
)


def measure(ports: dict[str, int], rounds: int, seconds: float) -> Json:
    """Every target, interleaved round by round (so load changes on the machine hit all alike)."""
    latencies: dict[str, list[float]] = {t.name: [] for t in TARGETS}
    loads: dict[str, list[float]] = {t.name: [] for t in TARGETS}
    for index in range(rounds):
        log(f"round {index + 1} of {rounds}")
        for target in TARGETS:
            port = ports[target.server]
            latencies[target.name] += load(port, target.path, target.body, target.clients, seconds)
            loads[target.name].append(round(os.getloadavg()[0], 2))
    return {
        t.name: figures(latencies[t.name], t.clients, rounds * seconds, loads[t.name])
        for t in TARGETS
    }


def main() -> None:
    """Measure both servers and print one JSON object."""
    args = parse_args(__doc__ or "")
    rounds, seconds = (2, 2.0) if args.quick else (3, 3.0)
    result: Json = {"benchmark": "serving", "machine": machine(), "rounds": rounds}
    with workdir("serving") as data, ExitStack() as stack:
        ml_model = Path(mlflow_side("serving_model.py", data / "mlflow-model")["path"])
        ours = save_shipyard_model(data / "shipyard-model")
        servers = {
            "mlflow": stack.enter_context(mlflow_serve(ml_model, data)),
            "shipyard": stack.enter_context(shipyard_serve(ours, data, "plain")),
            "batching": stack.enter_context(
                shipyard_serve(ours, data, "batching", "--batch-size", "32", "--batch-wait-ms", "2")
            ),
        }
        ports = {name: _port(server) for name, server in servers.items()}
        result["answers"] = {
            name: check_answer(port, "/invocations", SPLIT_BODY) for name, port in ports.items()
        }
        result.update(measure(ports, rounds, seconds))
        result["batch_sizes"] = _batch_sizes(ports["batching"])
    result["speedup_rps_vs_mlflow"] = ratio(
        result["shipyard_invocations"]["rps"], result["mlflow"]["rps"]
    )
    result["speedup_rps_v2_vs_mlflow"] = ratio(
        result["shipyard_v2"]["rps"], result["mlflow"]["rps"]
    )
    result["speedup_rps_batching_16_vs_mlflow_16"] = ratio(
        result["shipyard_batching_16_clients"]["rps"], result["mlflow_16_clients"]["rps"]
    )
    emit(result)


def _batch_sizes(port: int) -> Json:
    """Mean rows per predict call on the batching server, from its /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    values: dict[str, float] = {}
    for line in text.splitlines():
        for key in ("shipyard_serving_batch_size_sum", "shipyard_serving_batch_size_count"):
            if line.startswith(key + "{"):
                values[key] = float(line.rsplit(" ", 1)[1])
    count = values.get("shipyard_serving_batch_size_count", 0.0)
    total = values.get("shipyard_serving_batch_size_sum", 0.0)
    return {
        "predict_calls": count,
        "rows": total,
        "mean_rows": round(total / count, 2) if count else None,
    }


if __name__ == "__main__":
    main()
