"""``shipyard workflow schedule``: cron schedules of workflow files on this hub's machine.

The hub's workflow daemon fires the schedules of the workflows it watches: those it saw in a
repository a webhook made it fetch, and local files added here (the daemon reads them from this
machine, so run these commands where ``shipyard server`` runs, against its database).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._render import local_time, new_table, print_message, write_json
from shipyard.cli._state import CliState, get_state
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.store.sql.store import SqlRunStore

app = typer.Typer(
    help="""Cron schedules of workflow files, fired by the hub's workflow daemon.

[bold]Examples[/bold]

  shipyard workflow schedule add .shipyard/workflows/retrain.yaml

  shipyard workflow schedule list
""",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("add")
def add_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The workflow file.")],
    cron: Annotated[
        list[str] | None,
        typer.Option(
            "--cron", metavar="EXPR", help="A cron expression (default: its on.schedule)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Watch FILE: the daemon starts it at each time of its schedules (and on its events).

    [bold]Examples[/bold]

      shipyard workflow schedule add .shipyard/workflows/retrain.yaml

      shipyard workflow schedule add nightly.yaml --cron "0 3 * * *" --cron "0 12 * * 1"
    """
    from shipyard.workflows.events import triggers_to_dict
    from shipyard.workflows.schedule import validate_cron
    from shipyard.workflows.spec import load_workflow

    workflow = load_workflow(path)
    schedules = [validate_cron(c) for c in (cron or workflow.on.schedule)]
    if not schedules:
        raise InvalidArgument(
            f"{path} has no schedule", hint='add on: {schedule: "0 3 * * *"} or pass --cron'
        )
    state = get_state(ctx)
    with _store(state) as store:
        watch = store.watch_workflow(repo_url="", path=str(path.resolve()), schedules=schedules,
                                     events=triggers_to_dict(workflow.on))  # fmt: skip
    if as_json:
        write_json({"id": watch.id, "path": watch.path, "schedules": list(watch.schedules)})
        return
    print_message(state.out, f"watching {watch.path} ({', '.join(schedules)}): id {watch.id}")


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the workflows the daemon watches, with their schedules.

    [bold]Examples[/bold]

      shipyard workflow schedule list

      shipyard workflow schedule list --json
    """
    state = get_state(ctx)
    with _store(state) as store:
        watches = store.list_workflow_watches()
    if as_json:
        write_json([{"id": w.id, "repo_url": w.repo_url, "path": w.path, "branch": w.branch,
                     "schedules": list(w.schedules), "last_tick_at": w.last_tick_at}
                    for w in watches])  # fmt: skip
        return
    table = new_table("id", "workflow", "repository", "branch", "schedules", "last tick")
    for w in watches:
        table.add_row(w.id[:12], w.path, w.repo_url or "(local file)", w.branch or "-",
                      ", ".join(w.schedules) or "-", local_time(w.last_tick_at))  # fmt: skip
    state.out.print(table)


@app.command("remove")
def remove_command(
    ctx: typer.Context,
    watch_id: Annotated[str, typer.Argument(metavar="ID", help="The id (schedule list).")],
) -> None:
    """Stop watching a workflow (its schedules stop firing).

    [bold]Examples[/bold]

      shipyard workflow schedule remove 3f2a9c0d1e2f
    """
    state = get_state(ctx)
    with _store(state) as store:
        matches = [w for w in store.list_workflow_watches() if w.id.startswith(watch_id)]
        if len(matches) != 1:
            raise InvalidArgument(
                f"{'no' if not matches else 'more than one'} watched workflow matches {watch_id!r}",
                hint="see `shipyard workflow schedule list` for the ids",
            )
        store.delete_workflow_watch(matches[0].id)
    print_message(state.out, f"stopped watching {matches[0].path}")


@contextmanager
def _store(state: CliState) -> Iterator[SqlRunStore]:
    """The hub's database (a direct store: the daemon reads local files on its machine)."""
    if state.settings.is_remote:
        raise InvalidArgument(
            "schedules of local files are kept in the hub's database, not sent over HTTP",
            hint="run this on the hub's machine with SHIPYARD_TRACKING_URI set to its database, "
            "or put the schedule in a workflow file of a repository the hub fetches",
        )
    from shipyard.store.sql.store import SqlRunStore

    store = SqlRunStore.from_uri(state.settings.store_uri, auto_create=True)
    try:
        yield store
    finally:
        store.close()
