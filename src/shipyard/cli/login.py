"""``shipyard login`` / ``shipyard logout``: keep an API token for a server in a 0600 file."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._auth import read_secret
from shipyard.cli._render import print_message
from shipyard.cli._state import get_state
from shipyard.errors import InvalidArgument


def _server(ctx: typer.Context) -> str:
    settings = get_state(ctx).settings
    if not settings.is_remote or not settings.tracking_uri:
        raise InvalidArgument(
            "logging in needs a server URL",
            hint="pass --tracking-uri http://host:port or set SHIPYARD_TRACKING_URI",
        )
    return settings.tracking_uri


def login_command(
    ctx: typer.Context,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from stdin.")
    ] = False,
) -> None:
    """Check an API token against the server and keep it for later commands and the SDK.

    The token is prompted for (hidden) or read from stdin and saved, readable by you only, in
    ~/.config/shipyard/credentials.json (SHIPYARD_CREDENTIALS_FILE names another file).
    SHIPYARD_TOKEN, when set, wins over it.

    [bold]Examples[/bold]

      shipyard --tracking-uri http://hub:8080 login

      echo "$TOKEN" | shipyard login --token-stdin
    """
    from shipyard.sdk._http import HttpBackend
    from shipyard.sdk._http_auth import HttpAuthClient
    from shipyard.sdk.credentials import save_token

    server = _server(ctx)
    settings = get_state(ctx).settings
    token = read_secret("Token", token_stdin)
    backend = HttpBackend(settings.model_copy(update={"token": token}))
    try:
        who = HttpAuthClient(backend.store).whoami()
    finally:
        backend.store.close()
    path = save_token(server, token, who.user, settings.credentials_file)
    print_message(get_state(ctx).out, f"logged in to {server} as {who.user} (token kept in {path})")


def logout_command(ctx: typer.Context) -> None:
    """Forget the token kept for the server (the token itself stays valid: revoke it too).

    [bold]Examples[/bold]

      shipyard --tracking-uri http://hub:8080 logout
    """
    from shipyard.sdk.credentials import forget_token

    server = _server(ctx)
    forgot = forget_token(server, get_state(ctx).settings.credentials_file)
    message = f"forgot the token for {server}" if forgot else f"no token was kept for {server}"
    print_message(get_state(ctx).out, message)
