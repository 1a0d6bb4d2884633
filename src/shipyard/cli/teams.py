"""``shipyard teams``: groups of users that can be granted a project role together."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._auth import JsonOption, StoreOption, open_auth, record_json, teams_table
from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state

app = typer.Typer(help="Manage teams (groups of users; server admins).", no_args_is_help=True)
TeamArgument = Annotated[str, typer.Argument(help="The team name.")]
UserArgument = Annotated[str, typer.Argument(help="The user name.")]


@app.command("create")
def create_team(ctx: typer.Context, team: TeamArgument, store: StoreOption = None) -> None:
    """Create an empty team.

    [bold]Examples[/bold]

      shipyard teams create vision
    """
    with open_auth(ctx, store) as client:
        client.create_team(team)
    print_message(get_state(ctx).out, f"created team {team}")


@app.command("add")
def add_member(
    ctx: typer.Context, team: TeamArgument, user: UserArgument, store: StoreOption = None
) -> None:
    """Add a user to a team.

    [bold]Examples[/bold]

      shipyard teams add vision ada
    """
    with open_auth(ctx, store) as client:
        client.add_team_member(team, user)
    print_message(get_state(ctx).out, f"added {user} to team {team}")


@app.command("remove")
def remove_member(
    ctx: typer.Context, team: TeamArgument, user: UserArgument, store: StoreOption = None
) -> None:
    """Remove a user from a team.

    [bold]Examples[/bold]

      shipyard teams remove vision ada
    """
    with open_auth(ctx, store) as client:
        client.remove_team_member(team, user)
    print_message(get_state(ctx).out, f"removed {user} from team {team}")


@app.command("list")
def list_teams(ctx: typer.Context, as_json: JsonOption = False, store: StoreOption = None) -> None:
    """List every team with its members.

    [bold]Examples[/bold]

      shipyard teams list

      shipyard teams list --json
    """
    with open_auth(ctx, store) as client:
        teams = client.list_teams()
    if as_json:
        write_json({"teams": [record_json(t) for t in teams]})
        return
    get_state(ctx).out.print(teams_table(teams))
