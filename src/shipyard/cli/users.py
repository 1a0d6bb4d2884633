"""``shipyard users``: create, list and disable the users of a hub with auth on."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._auth import (
    JsonOption,
    StoreOption,
    open_auth,
    read_secret,
    record_json,
    users_table,
)
from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state

app = typer.Typer(
    help="Manage users (server admins; `--store` works on the database directly).",
    no_args_is_help=True,
)
NameArgument = Annotated[str, typer.Argument(help="The user name.")]


@app.command("create")
def create_user(
    ctx: typer.Context,
    name: NameArgument,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user a server admin.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Create a user; the password is prompted for (or read from stdin) and stored hashed.

    [bold]Examples[/bold]

      shipyard users create ada --admin --store sqlite:///.shipyard/shipyard.db

      echo "$PASSWORD" | shipyard users create grace --password-stdin
    """
    password = read_secret("Password", password_stdin, confirm=True)
    with open_auth(ctx, store) as client:
        user = client.create_user(name, password, is_admin=admin)
    kind = "server admin" if user.is_admin else "user"
    print_message(get_state(ctx).out, f"created {kind} {user.name}")


@app.command("list")
def list_users(ctx: typer.Context, as_json: JsonOption = False, store: StoreOption = None) -> None:
    """List every user.

    [bold]Examples[/bold]

      shipyard users list

      shipyard users list --json | jq -r '.users[].name'
    """
    with open_auth(ctx, store) as client:
        users = client.list_users()
    if as_json:
        write_json({"users": [record_json(u) for u in users]})
        return
    get_state(ctx).out.print(users_table(users))


@app.command("disable")
def disable_user(
    ctx: typer.Context,
    name: NameArgument,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again.")] = False,
    store: StoreOption = None,
) -> None:
    """Disable a user: their tokens and sessions stop working at once (--enable undoes it).

    [bold]Examples[/bold]

      shipyard users disable grace

      shipyard users disable grace --enable
    """
    with open_auth(ctx, store) as client:
        user = client.disable_user(name, not enable)
    state = "disabled" if user.disabled else "enabled"
    print_message(get_state(ctx).out, f"{state} user {user.name}")
