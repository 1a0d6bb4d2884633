"""``shipyard server``: run the tracking server (REST API and UI) in the foreground."""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._deploy_server import check_executor, combined, deployment_controller
from shipyard.cli._render import print_message
from shipyard.cli._state import get_state

if TYPE_CHECKING:
    from shipyard.artifacts.base import ArtifactStore
    from shipyard.settings import Settings
    from shipyard.store.base import RunStore


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
    workflows: Annotated[
        bool,
        typer.Option(
            "--workflows/--no-workflows",
            help="Run the workflow daemon: webhook requests, schedules, events, manual runs.",
        ),
    ] = True,
    deployments: Annotated[
        bool,
        typer.Option(
            "--deployments/--no-deployments",
            help="Run the deployment controller (model servers run as jobs on its executor).",
        ),
    ] = True,
    deployments_executor: Annotated[
        str,
        typer.Option(
            "--deployments-executor",
            help="Where model servers run: local (supervised processes of this host) or ray.",
        ),
    ] = "local",
    deployments_host: Annotated[
        str,
        typer.Option(
            "--deployments-host",
            help="Address model servers listen on (0.0.0.0: every interface, as Ray nodes "
            "other than the hub's need).",
        ),
    ] = "127.0.0.1",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            envvar="SHIPYARD_RAY_ADDRESS",
            help="The Ray dashboard URL for --deployments-executor ray, e.g. http://head:8265.",
        ),
    ] = None,
    auth: Annotated[
        bool,
        typer.Option(
            "--auth",
            help="Require credentials: API tokens for the API, sign-in for the UI, and project "
            "roles (create the first admin with `shipyard users create NAME --admin`).",
        ),
    ] = False,
) -> None:
    """Run the Shipyard server (REST API, docs and web UI) until Ctrl-C.

    [bold]Examples[/bold]

      shipyard server

      shipyard server --host 0.0.0.0 --port 5000 --log-level debug

      shipyard server --store postgresql+psycopg://db/shipyard --artifacts s3://ml/artifacts

      SHIPYARD_WEBHOOK_SECRET=... shipyard server   # git webhooks on; --no-workflows: no daemon

      shipyard server --auth --host 0.0.0.0   # tokens, sign-in and project roles required

      shipyard server --deployments-executor ray --ray-address http://head:8265 \\
        --deployments-host 0.0.0.0
    """
    from shipyard.server.serve import serve

    if deployments:
        check_executor(deployments_executor, ray_address)
    settings = get_state(ctx).settings
    store_uri = store or settings.store_uri
    artifacts_uri = artifacts or settings.artifact_uri
    print_message(
        get_state(ctx).err,
        f"serving on http://{host}:{port} (store: {_redacted(store_uri)}, artifacts: "
        f"{artifacts_uri})",
    )
    # workflow jobs log straight into the hub's store and artifacts (they run in checkouts)
    job_settings = settings.model_copy(
        update={
            "tracking_uri": _absolute(store_uri),
            "artifacts": _absolute(artifacts_uri),
            "home": Path(settings.home).absolute(),
        }
    )
    serve(
        host,
        port,
        store_uri,
        artifacts_uri,
        log_level=log_level.value,
        webhook_secret=settings.webhook_secret,
        background=combined(
            _workflow_daemon(job_settings) if workflows else None,
            deployment_controller(job_settings, deployments_executor, ray_address, deployments_host)
            if deployments
            else None,
        ),
        auth=auth,
    )


def _workflow_daemon(
    settings: Settings,
) -> Callable[[RunStore, ArtifactStore], Callable[[], None]]:
    """Starts the workflow daemon over the server's stores (mirrors and checkouts under
    ``<home>/workflows``; jobs get ``settings``)."""

    def start(store: RunStore, artifacts: ArtifactStore) -> Callable[[], None]:
        from shipyard.workflows.daemon import WorkflowDaemon

        root = Path(settings.home).absolute() / "workflows"
        daemon = WorkflowDaemon(store, artifacts, root, settings=settings)
        daemon.start()
        return daemon.stop

    return start


def _absolute(uri: str) -> str:
    """A store or artifact location that still works from another folder."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{Path(uri.removeprefix('sqlite:///')).absolute().as_posix()}"
    return uri if "://" in uri else str(Path(uri).absolute())


def _redacted(uri: str) -> str:
    from shipyard.store.sql.engine import redact

    return redact(uri)
