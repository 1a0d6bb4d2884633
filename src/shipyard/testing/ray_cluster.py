"""A throwaway local Ray head node for tests, on loopback only.

``ray start --head --block`` runs in a session of its own; stopping sends it SIGTERM (it stops
the processes it started) and then kills whatever is left in that session - never any other
Ray on the machine::

    with local_ray_head(tmp_path / "ray") as head:
        executor = RayExecutor(head.dashboard_url)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

# RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray use 127.0.0.1 as the node address: without it,
# Ray replaces --node-ip-address=127.0.0.1 with the machine's outward address.
RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


@dataclass(frozen=True)
class RayHead:
    """A running head node: its Jobs API (dashboard) URL and GCS address."""

    dashboard_url: str
    gcs_address: str
    pid: int
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_environment() -> dict[str, str]:
    """This process's environment plus the loopback/no-auth settings, with this interpreter's
    folder first on PATH (so jobs' ``python`` imports the same packages)."""
    env = {**os.environ, **RAY_ENV}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@contextlib.contextmanager
def local_ray_head(
    temp_dir: Path, *, num_cpus: int = 2, start_timeout: float = 240.0
) -> Iterator[RayHead]:
    """Start a head node with the Jobs API, yield it, and stop everything it started."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    gcs, dashboard = _free_port(), _free_port()
    command = [
        str(Path(sys.executable).with_name("ray")),
        *("start", "--head", "--block", "--disable-usage-stats"),
        "--node-ip-address=127.0.0.1",
        f"--port={gcs}",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        f"--ray-client-server-port={_free_port()}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--num-cpus={num_cpus}",
        f"--temp-dir={temp_dir}",
    ]
    log = temp_dir / "ray-start.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ray_environment(),
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{dashboard}"
        _wait_ready(url, proc, log, start_timeout)
        yield RayHead(url, f"127.0.0.1:{gcs}", proc.pid, log)
    finally:
        stop_session(proc)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until a first job (``true``) ran: the Jobs API answers early, but refuses jobs
    ("no available agent") until the node's agent has started."""
    deadline = time.monotonic() + timeout
    job_id = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"ray start exited with {proc.returncode}: {log.read_text()[-3000:]}"
            )
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if job_id is None:
                job_id = str(_request(f"{url}/api/jobs/", {"entrypoint": "true"})["job_id"])
            elif _request(f"{url}/api/jobs/{job_id}")["status"] == "SUCCEEDED":
                return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray head at {url} was not ready after {timeout}s")


def _request(url: str, body: dict[str, str] | None = None) -> dict[str, object]:
    if body is None:
        response = httpx.get(url, timeout=10)
    else:
        response = httpx.post(url, json=body, timeout=10)
    response.raise_for_status()
    answer = response.json()
    if not isinstance(answer, dict):
        raise ValueError(f"unexpected answer from {url}: {answer!r}")
    return answer


def stop_session(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM ``ray start --block`` (it stops its processes), then kill what is left of its
    session."""
    session = proc.pid
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    leftovers = [p for p in psutil.process_iter() if _in_session(p, session)]
    for leftover in leftovers:
        with contextlib.suppress(psutil.Error):
            leftover.kill()
    psutil.wait_procs(leftovers, timeout=grace)


def _in_session(proc: psutil.Process, session: int) -> bool:
    try:
        return os.getsid(proc.pid) == session
    except OSError:
        return False
