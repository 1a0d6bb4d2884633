"""A deployment's server process on this machine: start it detached, wait until it is ready,
switch its slots, stop it. Its files live in the deployment's folder::

    <root>/<name>/config.json   what the process serves, with its admin token (mode 0600)
    <root>/<name>/port          the port it bound (written by the process)
    <root>/<name>/url           where to reach it (written by the process, before ``port``)
    <root>/<name>/server.log    its output
    <root>/<name>/predlog/      logged predictions (JSON lines)
    <root>/<name>/models/       downloaded model folders
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CONFIG_FILE = "config.json"
PORT_FILE = "port"
URL_FILE = "url"
PID_FILE = "pid"
LOG_FILE = "server.log"
LOCK_FILE = ".lock"
MODULE = "shipyard.serving.deployment_server"
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Started:
    """How a start ended: ready (with its URL), or failed (with why)."""

    url: str | None
    error: str = ""


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (one reconcile at a time per deployment, across processes)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    """Write the process config (mode 0600: it holds the admin token)."""
    path = folder / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(config, handle)
    tmp.replace(path)
    return path


def admin_token(folder: Path) -> str | None:
    """The admin token of the process config in ``folder`` (``None`` without one)."""
    try:
        return str(json.loads((folder / CONFIG_FILE).read_text())["admin_token"])
    except (OSError, ValueError, KeyError):
        return None


def clear_address(folder: Path) -> None:
    """Forget the port, URL and pid a previous server wrote (before starting a new one)."""
    for name in (PORT_FILE, URL_FILE, PID_FILE):
        (folder / name).unlink(missing_ok=True)


def start(folder: Path, python: str = sys.executable) -> int:
    """Start the server process detached (forked into its own session by the launcher, so it is
    nobody's child), output to ``server.log``; return its pid (0 when it did not start)."""
    clear_address(folder)
    with (folder / LOG_FILE).open("ab") as log:
        launcher = subprocess.run(
            [python, "-m", MODULE, "--detach", str(folder / CONFIG_FILE)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            check=False,
            timeout=60,
        )
    pid_file = folder / PID_FILE
    if launcher.returncode != 0 or not pid_file.exists():
        return 0
    return int(pid_file.read_text())


def wait_started(running: Callable[[], bool], folder: Path, host: str, timeout_s: float) -> Started:
    """Wait until the server bound its port (its models are loaded by then) and say whether
    every model is ready; a server that ends (``running()`` turns false) or never binds is a
    failure."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        url = bound_url(folder, host)
        if url is not None:
            return _readiness(url)
        if not running():
            return Started(None, "the server exited")
        time.sleep(0.1)
    return Started(None, f"the server was not up after {timeout_s:.0f}s")


def bound_url(folder: Path, host: str) -> str | None:
    """Where the server in ``folder`` listens, once it has bound its port (the URL it wrote,
    else one made of its port and ``host``)."""
    port = folder / PORT_FILE
    if not port.exists():
        return None
    with contextlib.suppress(OSError):
        return (folder / URL_FILE).read_text().strip()
    return f"http://{url_host(host)}:{port.read_text().strip()}"


def _readiness(url: str) -> Started:
    deadline = time.monotonic() + 10
    while True:
        try:
            response = httpx.get(f"{url}/v2/health/ready", timeout=5)
        except httpx.HTTPError as exc:
            if time.monotonic() > deadline:
                return Started(None, f"the server does not answer: {exc}")
            time.sleep(0.1)
            continue
        if response.status_code == 200:
            return Started(url)
        return Started(None, "a model failed to load")


def load_errors(folder: Path, url: str | None) -> str:
    """Why models failed to load: from the admin endpoint, else the log's last lines."""
    token = admin_token(folder)
    if url and token:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            doc = httpx.get(f"{url}/admin/slots", headers=_auth(token), timeout=5).json()
            failed = [f"version {f['version']}: {f['error']}" for f in doc.get("failed", [])]
            if failed:
                return "; ".join(failed)
    return log_tail(folder, 5)


def put_slots(folder: Path, url: str, slots: Sequence[dict[str, Any]]) -> str:
    """Ask the running server to serve ``slots``; ``""`` when it did, else the error."""
    token = admin_token(folder) or ""
    try:
        response = httpx.put(
            f"{url}/admin/slots", json={"slots": list(slots)}, headers=_auth(token), timeout=120
        )
    except httpx.HTTPError as exc:
        return f"the server did not answer: {exc}"
    if response.status_code == 200:
        return ""
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:500]


def alive(pid: int | None, url: str | None) -> bool:
    """Whether a deployment server runs at ``pid`` and answers at ``url``."""
    return bool(pid) and is_server(pid or 0) and answers(url)


def answers(url: str | None) -> bool:
    """Whether a server answers its liveness check at ``url``."""
    if not url:
        return False
    try:
        return httpx.get(f"{url}/v2/health/live", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def stop(pid: int | None) -> None:
    """Stop a deployment server (SIGTERM to its session, SIGKILL after 10 s)."""
    if not pid or not is_server(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _running(pid):
        _reap(pid)
        time.sleep(0.1)
    if _running(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _reap(pid)


def log_tail(folder: Path, lines: int = 100) -> str:
    """The last ``lines`` lines of the server log ("" when there is none)."""
    path = folder / LOG_FILE
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 256 * 1024))
        text = handle.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def is_server(pid: int) -> bool:
    """The pid is one of our deployment servers (guards against a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _running(pid) and not Path("/proc").is_dir()
    return MODULE.encode() in cmdline and _running(pid)


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    return _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            _reap(pid)
            return False
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def url_host(host: str) -> str:
    """The address to reach a server listening on ``host`` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
