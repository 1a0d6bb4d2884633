"""What the auth commands share: opening the auth client, reading secrets, rendering records."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from shipyard.cli._render import local_time, new_table
from shipyard.cli._state import get_state
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from rich.table import Table

    from shipyard.domain.auth import ApiToken, AuditRecord, Member, Team, User
    from shipyard.sdk.auth import AuthClient

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Work on this database directly (sqlite:///... or postgresql+psycopg://...) instead "
        "of the configured tracking URI; use it on the server's host to create the first admin.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def open_auth(ctx: typer.Context, store: str | None = None) -> Iterator[AuthClient]:
    """The auth client for the configured tracking URI, or for the database ``store``."""
    from shipyard.sdk.auth import open_auth_client

    with open_auth_client(get_state(ctx).settings, store) as client:
        yield client


def read_secret(what: str, from_stdin: bool, *, confirm: bool = False) -> str:
    """A secret from stdin (``from_stdin``, or when stdin is not a terminal) or a hidden prompt."""
    if from_stdin or not sys.stdin.isatty():
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = str(typer.prompt(what, hide_input=True, confirmation_prompt=confirm))
    if not secret:
        raise InvalidArgument(f"no {what.lower()} given", hint="type it, or pipe it to stdin")
    return secret


def record_json(record: object) -> dict[str, Any]:
    """JSON form of a frozen auth dataclass (enums as their values)."""
    assert dataclasses.is_dataclass(record)
    assert not isinstance(record, type)
    data = dataclasses.asdict(record)
    return {k: v.value if hasattr(v, "value") else v for k, v in data.items()}


def users_table(users: list[User]) -> Table:
    """Users as a table."""
    table = new_table("Name", "Admin", "Disabled", "Created")
    for user in users:
        table.add_row(
            Text(user.name), _yes(user.is_admin), _yes(user.disabled), local_time(user.created_at)
        )
    return table


def tokens_table(tokens: list[ApiToken]) -> Table:
    """Token records as a table (never secrets)."""
    table = new_table("ID", "User", "Scope", "Created", "Expires", "Revoked", "Description")
    for token in tokens:
        expires = "never" if token.expires_at is None else local_time(token.expires_at)
        table.add_row(
            token.id,
            Text(token.user),
            token.scope.value,
            local_time(token.created_at),
            expires,
            _yes(token.revoked),
            Text(token.description),
        )
    return table


def teams_table(teams: list[Team]) -> Table:
    """Teams as a table."""
    table = new_table("Team", "Members", "Created")
    for team in teams:
        table.add_row(Text(team.name), Text(", ".join(team.members)), local_time(team.created_at))
    return table


def members_table(members: list[Member]) -> Table:
    """Project roles as a table."""
    table = new_table("Kind", "Name", "Role")
    for member in members:
        table.add_row(member.kind.value, Text(member.principal), member.role.value)
    return table


def audit_table(records: list[AuditRecord]) -> Table:
    """Audit records as a table."""
    import json

    table = new_table("#", "When", "Who", "Address", "Action", "Target", "Before", "After")
    for r in records:
        table.add_row(
            str(r.seq),
            local_time(r.timestamp),
            Text(r.actor or "-"),
            Text(r.address),
            Text(r.action),
            Text(r.target),
            Text("" if r.before is None else json.dumps(r.before, sort_keys=True)),
            Text("" if r.after is None else json.dumps(r.after, sort_keys=True)),
        )
    return table


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"
