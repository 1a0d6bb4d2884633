"""``shipyard run -- COMMAND``: run a command as a tracked run (a thin wrapper of
:func:`shipyard.sdk.launch.launch`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._render import print_message
from shipyard.cli._state import get_state

if TYPE_CHECKING:
    from rich.console import Console

    from shipyard.sdk.launch import LaunchResult
    from shipyard.sdk.run import Run

CONTEXT_SETTINGS: dict[str, Any] = {"allow_interspersed_args": False}
"""Options end at the first word of the command, so its own options (``--lr``) stay its own."""

_STYLES = {"FINISHED": "green", "FAILED": "red", "KILLED": "magenta"}


def run_command(
    ctx: typer.Context,
    command: Annotated[
        list[str], typer.Argument(metavar="COMMAND", help="The command to run and its options.")
    ],
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="The run's project (default: SHIPYARD_PROJECT)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="The run's name.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A param KEY=VALUE (numbers and true/false keep their type)."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag KEY=VALUE.")] = None,
) -> None:
    """Run COMMAND as a tracked run, recording its code, environment and output.

    Stored with the run: git commit and uncommitted patch, packages, Python, machine, GPUs.

    COMMAND's output streams here and is saved as .shipyard/output.log.

    shipyard.start_run() inside COMMAND logs into this run; Ctrl-C and SIGTERM reach COMMAND.

    The run ends FINISHED (exit 0), FAILED (other exit codes) or KILLED (a signal), and
    shipyard exits with COMMAND's exit code.

    [bold]Examples[/bold]

      shipyard run --project iris -- python train.py --lr 0.1

      shipyard run --param lr=0.1 --tag team=cv -- python -m trainer.main
    """
    from shipyard.sdk.launch import launch, parse_assignments

    state = get_state(ctx)
    params = parse_assignments(param or [], option="--param", typed=True)
    tags = parse_assignments(tag or [], option="--tag", typed=False)

    def announce(run: Run) -> None:
        print_message(state.err, f"shipyard: run {run.id} ({run.project}/{run.name})", style="dim")

    result = launch(
        command,
        project=project,
        name=name,
        params=params,
        tags=tags,
        settings=state.settings,
        on_start=announce,
    )
    _report(state.err, result)
    raise typer.Exit(result.exit_code)


def _report(err: Console, result: LaunchResult) -> None:
    status = result.status.value
    line = f"shipyard: run {result.run_id} {status} (exit code {result.exit_code})"
    print_message(err, line, style=_STYLES.get(status, ""))
    if result.returncode is None and result.error:  # never started: say why
        print_message(err, f"error: {result.error}", style="red")
