"""The process of one deployment: ``python -m shipyard.serving.deployment_server CONFIG.json``.

The controller writes ``CONFIG.json`` (mode 0600) into the deployment's folder and starts this
module, detached (``--detach``) or as an executor job (``--log FILE``: output to that file). It
builds the model server of :func:`shipyard.serving.app.create_serving_app` for the configured
slots, adds the admin endpoint (:mod:`shipyard.serving.admin`), binds its port (0 = any free
one) and writes where to reach it to ``url``, then the port to ``port``, next to the config, so
the controller never races another process for a port. A server bound to every interface
(``0.0.0.0``) advertises ``$SHIPYARD_ADVERTISE_HOST``, else its host's address. Config::

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

from shipyard.serving._process import PID_FILE, PORT_FILE, URL_FILE
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
    host = str(config.get("host", "127.0.0.1"))
    sock = listen_socket(host, int(config.get("port", 0)))
    port = int(sock.getsockname()[1])
    url = f"http://{advertised(host)}:{port}"
    _write(config_path.parent / URL_FILE, url)
    _write(config_path.parent / PORT_FILE, str(port))
    versions = ", ".join(f"{s['version']} ({s['weight']:.0%})" for s in config["slots"])
    logging.getLogger("shipyard.serving").info(
        "deployment %s serving version %s at %s", config.get("name"), versions, url
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: any free port), with Nagle's algorithm off."""
    # proto=IPPROTO_TCP: asyncio turns Nagle off only on such sockets; without it a response
    # written in two parts waits for the client's delayed ACK (~40 ms a request)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def advertised(host: str) -> str:
    """The address others reach a server bound to ``host`` at."""
    if host not in ("0.0.0.0", "", "::"):  # noqa: S104
        return f"[{host}]" if ":" in host else host
    chosen = os.environ.get("SHIPYARD_ADVERTISE_HOST", "").strip()
    if chosen:
        return chosen
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _log_to(path: Path) -> None:
    """Send this process's stdout and stderr (and its children's) to the end of ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


USAGE = "usage: python -m shipyard.serving.deployment_server [--detach | --log FILE] CONFIG.json"


def main(argv: list[str]) -> int:
    """Entry point: ``[--detach | --log FILE] CONFIG.json``. With ``--detach`` the server runs in
    a forked child in its own session (its pid written to ``pid``) and this process returns at
    once, so the server outlives whoever started it and is never their zombie. With ``--log``
    it runs in this process (an executor job) with its output appended to ``FILE``."""
    detach = bool(argv) and argv[0] == "--detach"
    args = argv[1:] if detach else argv
    if len(args) == 3 and args[0] == "--log":
        _log_to(Path(args[1]))
        args = args[2:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
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
