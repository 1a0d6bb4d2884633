"""``shipyard server``: run the tracking server (REST API and UI) in the foreground."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from shipyard.cli._render import print_message
from shipyard.cli._state import get_state


class LogLevel(enum.StrEnum):
    """Uvicorn log levels."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


def server_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8080,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Metadata database URI; default: the configured store (./.shipyard/shipyard.db).",
        ),
    ] = None,
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            help="Artifact location (a folder or s3://bucket/prefix); default: the configured one.",
        ),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False, help="Server log level.")
    ] = LogLevel.INFO,
) -> None:
    """Run the Shipyard server (REST API, docs and web UI) until Ctrl-C.

    [bold]Examples[/bold]

      shipyard server

      shipyard server --host 0.0.0.0 --port 5000 --log-level debug

      shipyard server --store postgresql+psycopg://db/shipyard --artifacts s3://ml/artifacts
    """
    from shipyard.server.serve import serve

    settings = get_state(ctx).settings
    store_uri = store or settings.store_uri
    artifacts_uri = artifacts or settings.artifact_uri
    print_message(
        get_state(ctx).err,
        f"serving on http://{host}:{port} (store: {_redacted(store_uri)}, artifacts: "
        f"{artifacts_uri})",
    )
    serve(host, port, store_uri, artifacts_uri, log_level=log_level.value)


def _redacted(uri: str) -> str:
    from shipyard.store.sql.engine import redact

    return redact(uri)
