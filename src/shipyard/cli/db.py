"""``shipyard db``: migrate the metadata database and show which schema revision it is at."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state
from shipyard.errors import InvalidArgument

app = typer.Typer(
    help="Migrate the metadata database (SQLite or PostgreSQL).", no_args_is_help=True
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Database URI (sqlite:///path.db or postgresql+psycopg://user@host/db); "
        "default: the configured store.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def store_uri(ctx: typer.Context, store: str | None) -> str:
    """The database to work on: ``--store``, else the store the settings name.

    Raises ``InvalidArgument`` when the tracking URI is a server (its database is the server's).
    """
    if store:
        return store
    settings = get_state(ctx).settings
    if settings.is_remote:
        raise InvalidArgument(
            f"the tracking URI {settings.tracking_uri} is a Shipyard server, not a database",
            hint="pass --store with the database URI, or run this command on the server's host",
        )
    return settings.store_uri


def _missing_sqlite_file(uri: str) -> bool:
    """Whether ``uri`` names an SQLite file that does not exist (reading it would create it)."""
    from shipyard.store.sql.engine import parse_uri

    url = parse_uri(uri)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return False
    return not database.startswith("file:") and not Path(database).expanduser().exists()


@app.command("upgrade")
def upgrade(ctx: typer.Context, store: StoreOption = None) -> None:
    """Migrate the database to the newest schema (safe to run again; creates an empty one).

    [bold]Examples[/bold]

      shipyard db upgrade

      shipyard db upgrade --store postgresql+psycopg://shipyard@db.internal/shipyard
    """
    from shipyard.store.sql import migrate
    from shipyard.store.sql.engine import redact

    uri = store_uri(ctx, store)
    before = None if _missing_sqlite_file(uri) else migrate.current_revision(uri)
    after = migrate.upgrade(uri)
    out = get_state(ctx).out
    if before == after:
        print_message(out, f"{redact(uri)} is already at the newest revision {after}")
    else:
        print_message(out, f"upgraded {redact(uri)} from {before or 'empty'} to revision {after}")


@app.command("current")
def current(ctx: typer.Context, store: StoreOption = None, as_json: JsonOption = False) -> None:
    """Show the schema revision of the database and whether it is the newest.

    [bold]Examples[/bold]

      shipyard db current

      shipyard db current --store sqlite:///shipyard.db --json
    """
    from shipyard.store.sql import migrate
    from shipyard.store.sql.engine import redact

    uri = store_uri(ctx, store)
    revision = None if _missing_sqlite_file(uri) else migrate.current_revision(uri)
    head = migrate.head_revision()
    if as_json:
        write_json({"store": redact(uri), "revision": revision, "head": head})
        return
    out = get_state(ctx).out
    if revision is None:
        print_message(out, f"{redact(uri)} has no Shipyard schema (newest revision: {head})")
        print_message(out, "create it with: shipyard db upgrade", style="dim")
    elif revision == head:
        print_message(out, f"{redact(uri)} is at revision {revision} (head)")
    else:
        print_message(out, f"{redact(uri)} is at revision {revision}; the newest is {head}")
        print_message(out, "migrate it with: shipyard db upgrade", style="dim")
