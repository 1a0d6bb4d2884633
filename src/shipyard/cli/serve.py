"""``shipyard serve``: serve a model over the Open Inference Protocol v2 and ``/invocations``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._render import print_message
from shipyard.cli._state import get_state, open_client
from shipyard.cli.server import LogLevel
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.serving.runtime import ModelSlot


def serve_command(
    ctx: typer.Context,
    uri: Annotated[
        str,
        typer.Argument(
            help="models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest, "
            "runs:/RUN_ID/models/NAME, or a local model folder."
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Server processes (each loads the model).")
    ] = 1,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Serve under this name (default: the registered name)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Turn adaptive batching on: rows per batch."),
    ] = None,
    batch_wait_ms: Annotated[
        float | None,
        typer.Option("--batch-wait-ms", min=0, help="Batching: longest wait for a batch to fill."),
    ] = None,
    log_predictions: Annotated[
        float | None,
        typer.Option(
            "--log-predictions", min=0, max=1, help="Log this share of predictions (0 to 1)."
        ),
    ] = None,
    predictions_dir: Annotated[
        Path,
        typer.Option("--predictions-dir", help="Folder of the prediction log (JSON lines)."),
    ] = Path("predictions"),
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False, help="Server log level.")
    ] = LogLevel.WARNING,
) -> None:
    """Serve a model until Ctrl-C: /v2/models/NAME/infer (Open Inference Protocol v2, works with
    tritonclient), POST /invocations (MLflow's format), /v2/health/ready and /metrics.

    [bold]Examples[/bold]

      shipyard serve models:/iris-clf@champion --port 8000

      shipyard serve models:/iris-clf/3 --workers 2 --batch-size 32 --batch-wait-ms 5

      shipyard serve runs:/0123456789abcdef0123456789abcdef/models/clf --name iris-clf

      shipyard serve ./my-model --log-predictions 0.1 --predictions-dir /var/log/predictions

      curl -s localhost:8000/invocations -H 'Content-Type: application/json' \\
        -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
    """
    from shipyard.serving.batching import BatchingConfig
    from shipyard.serving.predlog import PredLogConfig
    from shipyard.serving.serve import run

    state = get_state(ctx)
    batching = None
    if batch_size is not None or batch_wait_ms is not None:
        batching = BatchingConfig(batch_size or 32, 5.0 if batch_wait_ms is None else batch_wait_ms)
    predlog = None if not log_predictions else PredLogConfig(predictions_dir, log_predictions)
    workdir = Path(tempfile.mkdtemp(prefix="shipyard-serve-"))
    try:
        slot = model_slot(ctx, uri, workdir, name)
        print_message(
            state.err,
            f"loading {slot.name} version {slot.version}, then serving it on http://{host}:{port} "
            f"(/v2/models/{slot.name}/infer, /invocations, /metrics)",
        )
        run(
            [slot],
            host,
            port,
            workers,
            batching=batching,
            predlog=predlog,
            log_level=log_level.value,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def model_slot(ctx: typer.Context, uri: str, workdir: Path, name: str | None) -> ModelSlot:
    """The slot to serve: a local folder as is, or a model URI downloaded into ``workdir``."""
    from shipyard.serving.runtime import ModelSlot

    local = Path(uri)
    if ":/" not in uri:
        if not local.is_dir():
            raise InvalidArgument(
                f"{uri!r} is neither a model URI nor a folder",
                hint="use models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/PATH or a folder",
            )
        return ModelSlot(name or local.resolve().name, "1", local)
    folder = workdir / "model"
    with open_client(ctx) as client:
        resolved = client.resolve_model(uri)
        client.download_model(uri, folder)
    if resolved.version is not None:
        return ModelSlot(name or resolved.version.name, str(resolved.version.version), folder)
    return ModelSlot(
        name or PurePosixPath(resolved.artifact_path).name, resolved.run_id[:8], folder
    )
