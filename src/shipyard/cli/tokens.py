"""``shipyard tokens``: issue, list and revoke API tokens."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from shipyard.cli._auth import JsonOption, StoreOption, open_auth, record_json, tokens_table
from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state

app = typer.Typer(help="Issue, list and revoke API tokens.", no_args_is_help=True)


class Scope(enum.StrEnum):
    """What a token may do."""

    READ = "read"
    WRITE = "write"


@app.command("create")
def create_token(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Whose token (server admins); default: yours.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 30d, 12h; default: never.")
    ] = None,
    scope: Annotated[Scope, typer.Option("--scope", help="read or write.")] = Scope.WRITE,
    description: Annotated[str, typer.Option("--description", help="What the token is for.")] = "",
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Issue an API token and print it once (only its hash is stored).

    [bold]Examples[/bold]

      shipyard tokens create --expires 30d

      shipyard tokens create --user ci-bot --scope read --description "dashboards"

      export SHIPYARD_TOKEN=$(shipyard tokens create --expires 1d --json | jq -r .secret)
    """
    from shipyard.domain.auth import TokenScope

    with open_auth(ctx, store) as client:
        issued = client.create_token(
            user, scope=TokenScope(scope.value), expires_in=expires, description=description
        )
    if as_json:
        write_json({"token": record_json(issued.token), "secret": issued.secret})
        return
    out = get_state(ctx).out
    print_message(out, f"token {issued.token.id} for {issued.token.user} ({issued.token.scope})")
    out.print(issued.secret, markup=False, highlight=False)
    print_message(out, "this is the only time it is shown: store it now (e.g. `shipyard login`)")


@app.command("list")
def list_tokens(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's tokens (server admins).")
    ] = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """List token records (never the tokens), newest first.

    [bold]Examples[/bold]

      shipyard tokens list

      shipyard tokens list --user ci-bot --json
    """
    with open_auth(ctx, store) as client:
        tokens = client.list_tokens(user)
    if as_json:
        write_json({"tokens": [record_json(t) for t in tokens]})
        return
    get_state(ctx).out.print(tokens_table(tokens))


@app.command("revoke")
def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (see `tokens list`).")],
    store: StoreOption = None,
) -> None:
    """Revoke a token: it stops working at once.

    [bold]Examples[/bold]

      shipyard tokens revoke 0193a5c1d2e34f5a8b9c0d1e2f3a4b5c
    """
    with open_auth(ctx, store) as client:
        client.revoke_token(token_id)
    print_message(get_state(ctx).out, f"revoked token {token_id}")
