"""The process of one deployment: ``python -m shipyard.serving.deployment_server CONFIG.json``.

The controller writes ``CONFIG.json`` (mode 0600) into the deployment's folder and starts this
module detached. It builds the model server of :func:`shipyard.serving.app.create_serving_app`
for the configured slots, adds the admin endpoint (:mod:`shipyard.serving.admin`), binds its
port (0 = any free one) and writes the port it got to ``port`` next to the config, so the
controller never races another process for a port. Config::

    {"name": "iris", "host": "127.0.0.1", "port": 0, "admin_token": "...",
     "slots": [{"name", "version", "path", "weight"}],
     "batching": {"max_batch_size": 32, "max_wait_ms": 5} | null,
     "predlog": {"folder": "...", "sample_rate": 1.0} | null}
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

import uvicorn

from shipyard.serving._process import PID_FILE, PORT_FILE
from shipyard.serving.admin import install_admin, parse_slots
from shipyard.serving.app import create_serving_app
from shipyard.serving.batching import BatchingConfig
from shipyard.serving.predlog import PredLogConfig


def build_app(config: dict[str, Any]) -> Any:
    """The serving app of a deployment config, with the admin endpoint."""
    batching = config.get("batching")
    predlog = config.get("predlog")
    app = create_serving_app(
        parse_slots(config),
        batching=None if not batching else BatchingConfig(**batching),
        predlog=None
        if not predlog
        else PredLogConfig(Path(predlog["folder"]), float(predlog.get("sample_rate", 1.0))),
    )
    install_admin(app, str(config["admin_token"]))
    return app


def serve(config_path: Path) -> None:
    """Bind, write the port file, and serve until stopped (SIGTERM)."""
    config = json.loads(config_path.read_text())
    app = build_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.get("host", "127.0.0.1"), int(config.get("port", 0))))
    port_file = config_path.parent / PORT_FILE
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    tmp.replace(port_file)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


def main(argv: list[str]) -> int:
    """Entry point: ``[--detach] CONFIG.json``. With ``--detach`` the server runs in a forked
    child in its own session (its pid written to ``pid``) and this process returns at once, so
    the server outlives whoever started it and is never their zombie."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    detach = bool(argv) and argv[0] == "--detach"
    args = argv[1:] if detach else argv
    if len(args) != 1:
        print(
            "usage: python -m shipyard.serving.deployment_server [--detach] CONFIG.json",
            file=sys.stderr,
        )
        return 2
    config = Path(args[0])
    if detach:
        child = os.fork()
        if child:
            (config.parent / PID_FILE).write_text(str(child))
            return 0
        os.setsid()
        code = 0
        try:
            serve(config)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    serve(config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
