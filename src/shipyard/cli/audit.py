"""``shipyard audit``: read and verify the hash-chained audit log (server admins)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer

from shipyard.cli._auth import JsonOption, StoreOption, audit_table, open_auth, record_json
from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state
from shipyard.errors import InvalidArgument

app = typer.Typer(help="Read and verify the audit log (server admins).", no_args_is_help=True)


def parse_since(text: str) -> int:
    """Epoch ms of ``2026-11-27``, ``2026-11-27T14:00`` or a duration ago (``2h``, ``7d``)."""
    from shipyard.domain.auth import parse_duration

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            return int(time.time() * 1000) - parse_duration(text)
        except InvalidArgument:
            raise InvalidArgument(
                f"invalid --since {text!r}", hint="use a date (2026-11-27) or a duration (2h, 7d)"
            ) from None
    return int(when.timestamp() * 1000)


@app.command("list")
def list_audit(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's records.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From a date (2026-11-27) or a while ago (2h).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Most records.")] = 100,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """List audit records, newest first: who, when, from where, what, before and after.

    [bold]Examples[/bold]

      shipyard audit list --since 1d

      shipyard audit list --user ada --json
    """
    since_ms = None if since is None else parse_since(since)
    with open_auth(ctx, store) as client:
        records = client.audit(user=user, since=since_ms, limit=limit)
    if as_json:
        write_json({"records": [record_json(r) for r in records]})
        return
    get_state(ctx).out.print(audit_table(records))


@app.command("verify")
def verify_audit(
    ctx: typer.Context, as_json: JsonOption = False, store: StoreOption = None
) -> None:
    """Recompute the hash chain; exit 1 naming each edited or deleted record.

    [bold]Examples[/bold]

      shipyard audit verify

      shipyard audit verify --store postgresql+psycopg://shipyard@db/shipyard
    """
    with open_auth(ctx, store) as client:
        count, problems = client.verify_audit()
    if as_json:
        write_json(
            {"records": count, "ok": not problems, "problems": [record_json(p) for p in problems]}
        )
    else:
        state = get_state(ctx)
        for problem in problems:
            print_message(state.err, f"record {problem.seq}: {problem.problem}", style="red")
        if not problems:
            print_message(state.out, f"audit log intact: {count} records, chain verified")
    if problems:
        raise typer.Exit(1)
