"""``shipyard import``: bring history from other trackers into Shipyard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state

if TYPE_CHECKING:
    from rich.console import Console

    from shipyard.importers.mlflow import ImportSummary

app = typer.Typer(
    help="Import history from other trackers (MLflow).\n\n[bold]Examples[/bold]\n\n"
    "  shipyard import mlflow --from sqlite:///mlflow.db",
    no_args_is_help=True,
)


@app.command("mlflow")
def mlflow_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="An MLflow tracking server (http://host:5000), database (sqlite:///mlflow.db, "
            "postgresql://...) or mlruns folder.",
        ),
    ],
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="MLFLOW_TRACKING_TOKEN", help="Bearer token for the MLflow server."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Copy MLflow experiments, runs (params, tags, full metric history, artifacts) and
    registered models into the configured tracking store. Safe to run again: what was already
    imported is not copied twice. Experiments become projects; runs keep their ids. MLflow need
    not be installed.

    [bold]Examples[/bold]

      shipyard import mlflow --from ./mlruns

      shipyard import mlflow --from sqlite:///mlflow.db --json

      SHIPYARD_TRACKING_URI=http://hub:8080 shipyard import mlflow --from http://mlflow:5000
    """
    from shipyard.importers.mlflow import import_mlflow
    from shipyard.sdk.backend import open_backend

    state = get_state(ctx)
    backend = open_backend(state.settings)
    try:
        with _progress(state.err) as progress:
            task = progress.add_task("importing runs", total=None)

            def advance(done: int, total: int, what: str) -> None:
                progress.update(task, completed=done, total=total, description=f"run {what}")

            summary = import_mlflow(source, backend, token=token, progress=advance)
    finally:
        backend.close()
    if as_json:
        write_json(summary.to_dict())
    else:
        _print_summary(state.out, state.err, summary)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )


def _print_summary(out: Console, err: Console, summary: ImportSummary) -> None:
    print_message(
        out,
        f"imported {summary.runs_new} new runs ({summary.runs_existing} already there) from "
        f"{summary.experiments} experiments: {summary.metric_points} metric points, "
        f"{summary.artifacts_new} artifact files, {summary.models_new} registered models, "
        f"{summary.versions_new} model versions",
    )
    for warning in summary.warnings:
        print_message(err, f"warning: {warning}", style="yellow")
