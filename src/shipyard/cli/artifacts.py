"""``shipyard artifacts``: list and download the files a run logged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from shipyard.cli._render import (
    artifact_json,
    artifacts_table,
    human_size,
    print_message,
    write_json,
)
from shipyard.cli._state import get_state, open_client
from shipyard.cli.runs import RunArgument, resolve_run
from shipyard.errors import NotFound

app = typer.Typer(help="List and download run artifacts.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PathArgument = Annotated[
    str | None,
    typer.Argument(help="A file, or a folder prefix such as model/ (default: every artifact)."),
]


@app.command("ls")
@app.command("list", hidden=True)
def list_artifacts(
    ctx: typer.Context, run: RunArgument, path: PathArgument = None, as_json: JsonOption = False
) -> None:
    """List the artifacts of a run, optionally under a folder.

    [bold]Examples[/bold]

      shipyard artifacts ls 0193a5c1f2e0

      shipyard artifacts ls 0193a5c1f2e0 model/ --json
    """
    with open_client(ctx) as client:
        found = resolve_run(client, run)
        items = client.list_artifacts(found.id, path)
    if as_json:
        write_json({"run_id": found.id, "artifacts": [artifact_json(a) for a in items]})
        return
    out = get_state(ctx).out
    if not items:
        where = f" under {path!r}" if path else ""
        print_message(out, f"run {found.id} has no artifacts{where}")
        return
    out.print(artifacts_table(items))
    print_message(out, f"{len(items)} files, {human_size(sum(a.size for a in items))}", style="dim")


@app.command("get")
def get_artifacts(
    ctx: typer.Context,
    run: RunArgument,
    path: PathArgument = None,
    dest: Annotated[
        Path,
        typer.Option(
            "--dest",
            "-d",
            file_okay=False,
            help="Folder to download into (created if needed).",
        ),
    ] = Path("."),
) -> None:
    """Download a run's artifacts: one file, a folder, or all of them (checksums verified).

    A file lands in DEST under its own name; a folder's files keep their paths below that folder.

    [bold]Examples[/bold]

      shipyard artifacts get 0193a5c1f2e0 model/model.pkl

      shipyard artifacts get 0193a5c1f2e0 model/ --dest ./model

      shipyard artifacts get 0193a5c1f2e0 --dest ./downloads
    """
    state = get_state(ctx)
    with open_client(ctx) as client:
        found = resolve_run(client, run)
        items = client.list_artifacts(found.id, path)
        if not items:
            where = f" under {path!r}" if path else ""
            raise NotFound(
                f"run {found.id} has no artifacts{where}",
                hint=f"list them with: shipyard artifacts ls {found.id}",
            )
        dest.mkdir(parents=True, exist_ok=True)
        total = sum(item.size for item in items)
        with _progress(state.err) as progress:
            task = progress.add_task(f"run {found.id[:12]}", total=total)
            landed = client.download_artifact(
                found.id, path, dest, progress=lambda size: progress.advance(task, size)
            )
    print_message(state.out, f"downloaded {len(items)} files ({human_size(total)}) to {landed}")


def _progress(console: Console) -> Progress:
    """A byte-count progress bar on ``console``; drawn on terminals only, removed when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
