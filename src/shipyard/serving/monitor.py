"""The embedded deployments monitor: ``python -m shipyard.serving.monitor [--detach] ROOT``.

Without a hub nobody runs a controller in the background, so the CLI starts this process (once
per deployments folder ``ROOT``; its pid is in ``ROOT/monitor.pid``). It ticks a
:class:`~shipyard.serving.controller.DeploymentController` every 2 seconds (aliases, restarts,
metrics, drift, alerts) and exits once no deployment is left. The store and artifact URIs come
from ``ROOT/monitor.json`` (mode 0600: a database URI may hold a password).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from shipyard.serving import _process

PID_FILE = "monitor.pid"
CONFIG_FILE = "monitor.json"
LOG_FILE = "monitor.log"
MODULE = "shipyard.serving.monitor"
IDLE_ROUNDS = 5
"""Rounds without any deployment before the monitor exits."""


def running(root: Path) -> int | None:
    """The pid of the monitor of ``root`` when one runs."""
    try:
        pid = int((root / PID_FILE).read_text())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if MODULE.encode() in cmdline and _process.is_running(pid) else None


def ensure(root: Path, store_uri: str, artifacts_uri: str, python: str = sys.executable) -> None:
    """Start the monitor of ``root`` unless it runs."""
    if running(root) is not None:
        return
    root.mkdir(parents=True, exist_ok=True)
    path = root / CONFIG_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"store": store_uri, "artifacts": artifacts_uri}, handle)
    with (root / LOG_FILE).open("ab") as log:
        subprocess.run(
            [python, "-m", MODULE, "--detach", str(root.resolve())],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False,
            timeout=60,
        )  # fmt: skip


def stop(root: Path) -> None:
    """Stop the monitor of ``root`` if it runs."""
    pid = running(root)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)


def watch(root: Path, interval_s: float = 2.0) -> None:
    """Tick a controller over ``root`` until stopped or idle."""
    from shipyard.artifacts.base import open_artifact_store
    from shipyard.serving.controller import DeploymentController
    from shipyard.store.sql.store import SqlRunStore

    config = json.loads((root / CONFIG_FILE).read_text())
    store = SqlRunStore.from_uri(config["store"])
    controller = DeploymentController(store, open_artifact_store(config["artifacts"]), root)
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    idle = 0
    try:
        while not stop_event.is_set() and idle < IDLE_ROUNDS:
            controller.tick()
            idle = 0 if store.list_deployments() else idle + 1
            stop_event.wait(interval_s)
    finally:
        store.close()


def main(argv: list[str]) -> int:
    """Entry point: ``[--detach] ROOT``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    detach = bool(argv) and argv[0] == "--detach"
    args = argv[1:] if detach else argv
    if len(args) != 1:
        print("usage: python -m shipyard.serving.monitor [--detach] ROOT", file=sys.stderr)
        return 2
    root = Path(args[0])
    if detach:
        child = os.fork()
        if child:
            (root / PID_FILE).write_text(str(child))
            return 0
        os.setsid()
        code = 0
        try:
            watch(root)
        except BaseException:
            logging.exception("the deployments monitor failed")
            code = 1
        finally:
            os._exit(code)
    watch(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
