"""Shared plumbing of the benchmarks: servers, the MLflow side, statistics, progress and output.

Every benchmark script is a plain program: progress goes to stderr, one JSON object to stdout.
Servers run as child processes in their own session, so stopping one stops its workers too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
MLFLOW_SIDE = BENCH_DIR / "mlflow_side"
MLFLOW_VENV = ROOT / ".bench" / "mlflow3"
MLFLOW_PYTHON = MLFLOW_VENV / "bin" / "python"
MLFLOW_CLI = MLFLOW_VENV / "bin" / "mlflow"
SERVER_START_TIMEOUT = 180.0
"""MLflow 3 needs ~30 s on two cores to start its workers; be generous."""

MLFLOW_ENV: Mapping[str, str] = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    # GenAI job runner (huey consumer): not part of tracking; it only steals CPU from the benchmark.
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS": "false",
    "GIT_PYTHON_REFRESH": "quiet",
}
"""Environment of every MLflow process: no telemetry, no network calls, no background jobs."""

Json = dict[str, Any]


def log(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(description: str) -> argparse.Namespace:
    """The options every benchmark takes (``--quick``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    return parser.parse_args()


def emit(result: Mapping[str, Any]) -> None:
    """Write the result object as JSON to stdout."""
    print(json.dumps(result, indent=2, sort_keys=False), flush=True)


# -- statistics ------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by nearest rank on sorted data."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def summarize(samples: Sequence[float], unit: str, digits: int = 3) -> Json:
    """Median, p99, mean, min and max of ``samples`` (already in ``unit``)."""
    return {
        "unit": unit,
        "n": len(samples),
        "median": round(statistics.median(samples), digits),
        "p99": round(percentile(samples, 99), digits),
        "mean": round(statistics.fmean(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
    }


def ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs`` rounded, or ``None`` when undefined."""
    return round(ours / theirs, 2) if theirs else None


def timed_ms(fn: Any, repeats: int, *args: Any, **kwargs: Any) -> list[float]:
    """Call ``fn`` ``repeats`` times and return each call's wall time in milliseconds."""
    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append((time.perf_counter() - start) * 1000)
    return times


# -- files -----------------------------------------------------------------------------------


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards (whatever happens)."""
    path = Path(tempfile.mkdtemp(prefix=f"shipyard-bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def dir_bytes(path: Path) -> int:
    """Total size in bytes of the regular files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def write_random_file(path: Path, size: int, chunk: int = 8 * 1024 * 1024) -> None:
    """Write ``size`` random (incompressible) bytes to ``path`` in chunks."""
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(os.urandom(min(chunk, left)))
            left -= chunk


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server child process (its own session) and its base URL."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        """Stop the server and every process of its session."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers that outlived their parent (uvicorn --workers) are still in the session.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _wait_healthy(server: Server, health_path: str, timeout: float) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{server.name} server exited early:\n{tail}")
        try:
            with urllib.request.urlopen(server.url + health_path, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"{server.name} server did not answer {health_path} in {timeout:.0f} s")


def _wait_idle(server: Server, timeout: float, quiet_s: int = 3) -> None:
    """Wait until the server's processes stop burning CPU: health answers as soon as the first
    worker is up, while the others may still be importing (MLflow starts 4) and would steal the
    benchmark's CPU on a small machine."""
    import psutil

    deadline = time.monotonic() + timeout
    root = psutil.Process(server.process.pid)
    quiet = 0
    while quiet < quiet_s and time.monotonic() < deadline:
        procs = [root, *root.children(recursive=True)]
        before = sum(_cpu_seconds(p) for p in procs)
        time.sleep(1.0)
        busy = sum(_cpu_seconds(p) for p in procs) - before
        quiet = quiet + 1 if busy < 0.05 else 0


def _cpu_seconds(process: Any) -> float:
    import psutil

    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


@contextlib.contextmanager
def _serve(
    name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path, health: str, port: int
) -> Iterator[Server]:
    log(f"starting {name} server on port {port}")
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            cwd=log_path.parent,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    try:
        started = time.perf_counter()
        _wait_healthy(server, health, SERVER_START_TIMEOUT)
        _wait_idle(server, SERVER_START_TIMEOUT)
        log(f"{name} server ready and idle in {time.perf_counter() - started:.1f} s")
        yield server
    finally:
        server.stop()
        log(f"{name} server stopped")


@contextlib.contextmanager
def shipyard_server(data: Path) -> Iterator[Server]:
    """Run ``python -m shipyard.server`` on ``data/shipyard.db`` and ``data/artifacts``."""
    port = free_port()
    argv = [
        sys.executable, "-m", "shipyard.server",
        "--store", f"sqlite:///{data / 'shipyard.db'}",
        "--artifacts", str(data / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT / "src")}
    with _serve("shipyard", argv, env, data / "shipyard-server.log", "/api/v1/health", port) as s:
        yield s


def mlflow_db_uri(data: Path) -> str:
    """The SQLite URI the MLflow server of ``data`` uses."""
    return f"sqlite:///{data / 'mlflow.db'}"


@contextlib.contextmanager
def mlflow_server(data: Path) -> Iterator[Server]:
    """Run ``mlflow server`` (SQLite, proxied artifacts, its default workers) on ``data``."""
    if not MLFLOW_CLI.exists():
        raise RuntimeError(
            f"MLflow is not installed at {MLFLOW_VENV}: run benchmarks/setup_mlflow.sh"
        )
    port = free_port()
    argv = [
        str(MLFLOW_CLI), "server",
        "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", mlflow_db_uri(data),
        "--artifacts-destination", str(data / "mlartifacts"),
    ]  # fmt: skip
    with _serve("mlflow", argv, MLFLOW_ENV, data / "mlflow-server.log", "/health", port) as s:
        yield s


def mlflow_side(script: str, *args: str | int | float | Path) -> Json:
    """Run ``benchmarks/mlflow_side/<script>`` in the MLflow venv and return the JSON it prints."""
    argv = [str(MLFLOW_PYTHON), str(MLFLOW_SIDE / script), *map(str, args)]
    log(f"mlflow side: {script} {' '.join(map(str, args))}")
    done = subprocess.run(
        argv, stdout=subprocess.PIPE, env={**os.environ, **MLFLOW_ENV}, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed with exit code {done.returncode}")
    lines = done.stdout.decode().strip().splitlines()
    for chatter in lines[:-1]:  # MLflow prints links to stdout ("View run ... at: ...")
        log(f"  mlflow stdout: {chatter}")
    result: Json = json.loads(lines[-1] if lines else "null")
    return result


# -- environment -----------------------------------------------------------------------------


def shipyard_env(home: Path, server: Server) -> None:
    """Point this process's SDK at ``server`` (set before the first ``shipyard`` call)."""
    os.environ["SHIPYARD_TRACKING_URI"] = server.url
    os.environ["SHIPYARD_HOME"] = str(home)


def machine() -> Json:
    """What the figures were measured on."""
    import psutil

    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
