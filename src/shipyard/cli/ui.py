"""``shipyard ui``: open the hub's web UI on this machine's runs.

Serves the embedded (or configured direct) store on 127.0.0.1 and opens the browser once the
server answers. When the tracking URI names a hub server, that hub is opened instead.
"""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from typing import Annotated

import typer

from shipyard.cli._render import print_message
from shipyard.cli._state import get_state
from shipyard.errors import InvalidArgument

HOST = "127.0.0.1"
DEFAULT_PORT = 5050
READY_TIMEOUT_S = 30.0


def ui_command(
    ctx: typer.Context,
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="TCP port on 127.0.0.1 (0: any free one)."),
    ] = DEFAULT_PORT,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only serve; do not open a browser.")
    ] = False,
) -> None:
    """Open the Shipyard web UI for the runs of this machine, until Ctrl-C.

    [bold]Examples[/bold]

      shipyard ui

      shipyard ui --port 8000 --no-browser

      shipyard --tracking-uri sqlite:///runs.db ui
    """
    state = get_state(ctx)
    settings = state.settings
    if settings.is_remote:
        url = str(settings.tracking_uri).rstrip("/") + "/"
        print_message(state.err, f"opening the hub at {url}")
        if not no_browser:
            webbrowser.open(url)
        return
    chosen = pick_port(port)
    url = f"http://{HOST}:{chosen}/"
    print_message(state.err, f"Shipyard UI on {url} (Ctrl-C to stop)")
    if not no_browser:
        threading.Thread(target=open_when_ready, args=(chosen, url), daemon=True).start()
    from shipyard.server.serve import serve

    serve(HOST, chosen, settings.store_uri, settings.artifact_uri, log_level="warning")


def pick_port(port: int) -> int:
    """``port`` when it is free on 127.0.0.1 (any free port for 0); ``InvalidArgument`` if taken."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise InvalidArgument(
                f"port {port} on {HOST} is already in use",
                hint=f"pick another one with --port, e.g. --port {port + 1} (or --port 0)",
            ) from None
        return int(sock.getsockname()[1])


def open_when_ready(port: int, url: str, timeout: float = READY_TIMEOUT_S) -> bool:
    """Open ``url`` in the browser once something listens on ``port``; whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                webbrowser.open(url)
                return True
        time.sleep(0.1)
    return False
