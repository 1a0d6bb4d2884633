"""``shipyard projects``: list the projects that hold runs."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._render import print_message, project_json, projects_table, write_json
from shipyard.cli._state import get_state, open_client

app = typer.Typer(help="List projects (named collections of runs).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("list")
def list_projects(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every project, by name.

    [bold]Examples[/bold]

      shipyard projects list

      shipyard projects list --json | jq -r '.projects[].name'
    """
    with open_client(ctx) as client:
        projects = client.list_projects()
    if as_json:
        write_json({"projects": [project_json(p) for p in projects]})
        return
    state = get_state(ctx)
    if not projects:
        print_message(state.out, "no projects yet: runs create their project when they start")
        return
    state.out.print(projects_table(projects))
