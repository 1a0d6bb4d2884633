"""``shipyard runs``: search, show, delete and restore runs.

A run is named by its full id or a unique prefix of at least 6 characters (:func:`resolve_run`).
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import zip_longest
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from shipyard.cli._collab import comment_json, comments_view, text_or_stdin
from shipyard.cli._render import (
    MISSING,
    caret_note,
    format_value,
    local_time,
    new_table,
    print_message,
    run_details,
    run_duration,
    run_json,
    short_ids,
    status_text,
    write_json,
)
from shipyard.cli._state import get_state, open_client
from shipyard.domain.entities import Page, Run
from shipyard.domain.ids import is_id
from shipyard.errors import FilterSyntaxError, InvalidArgument, NotFound

if TYPE_CHECKING:
    from shipyard.sdk.client import Client

MIN_PREFIX = 6
MAX_CANDIDATES = 10
DEFAULT_COLUMNS_PER_KIND = 3
UNBOUNDED = 1_000_000  # a width to measure a table's natural size with
_HEX_RE = re.compile(r"^[0-9a-f]{1,32}$")
_COLUMN_KINDS = {"params": "params", "param": "params", "metrics": "metrics", "metric": "metrics"}
_COLUMN_KINDS |= {"tags": "tags", "tag": "tags"}
_COLUMN_HINT = "columns look like params.lr, metrics.acc or tags.team, separated by commas"

app = typer.Typer(help="Search, show, delete and restore runs.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RunArgument = Annotated[
    str, typer.Argument(help="The run id, or a unique prefix of it (at least 6 characters).")
]


# -- resolving a run reference ----------------------------------------------------------------
def resolve_run(client: Client, ref: str) -> Run:
    """The run that ``ref`` names: a full id, or a unique id prefix of at least 6 characters.

    Deleted runs are found too. Raises ``InvalidArgument`` (malformed, too short, ambiguous: the
    candidates are listed) or ``NotFound``.
    """
    ref = ref.strip().lower()
    if is_id(ref):
        return client.get_run(ref)
    hint = f"pass the run id or at least {MIN_PREFIX} of its first characters (shipyard runs list)"
    if not _HEX_RE.match(ref):
        raise InvalidArgument(f"{ref!r} is not a run id", hint=hint)
    if len(ref) < MIN_PREFIX:
        raise InvalidArgument(f"run id prefix {ref!r} is too short", hint=hint)
    page = client.search_runs(
        filter=f"id LIKE '{ref}%'", include_deleted=True, limit=MAX_CANDIDATES + 1
    )
    matches = list(page.items)
    if not matches:
        raise NotFound(
            f"no run id starts with {ref!r}",
            hint="list runs with `shipyard runs list --deleted` (add --project to narrow it)",
        )
    if len(matches) > 1:
        raise _ambiguous(ref, matches)
    return matches[0]


def _ambiguous(ref: str, matches: Sequence[Run]) -> InvalidArgument:
    more = len(matches) > MAX_CANDIDATES
    count = f"more than {MAX_CANDIDATES}" if more else str(len(matches))
    error = InvalidArgument(
        f"run id prefix {ref!r} is ambiguous: it matches {count} runs",
        hint="give more characters of the id",
    )
    for run in matches[:MAX_CANDIDATES]:
        error.add_note(f"  {run.id}  {run.project}/{run.name or '-'}")
    return error


# -- columns ----------------------------------------------------------------------------------
def parse_columns(spec: str) -> list[str]:
    """``"params.lr, metrics.acc"`` -> ``["params.lr", "metrics.acc"]`` (prefixes normalized)."""
    columns = []
    for raw in spec.split(","):
        kind, _, key = raw.strip().partition(".")
        if kind not in _COLUMN_KINDS or not key:
            raise InvalidArgument(f"unknown column {raw.strip()!r}", hint=_COLUMN_HINT)
        columns.append(f"{_COLUMN_KINDS[kind]}.{key}")
    return columns


def default_columns(runs: Sequence[Run]) -> list[str]:
    """A few params and metrics worth showing: the most common keys (system metrics last), in
    priority order, alternating metric and param (a narrow table keeps the first ones)."""
    params = Counter(key for run in runs for key in run.params)
    metrics = Counter(key for run in runs for key in run.metrics)

    def top(counts: Counter[str], prefix: str) -> list[str]:
        ranked = sorted(counts, key=lambda k: (k.startswith("system"), -counts[k], k))
        return [f"{prefix}.{k}" for k in ranked[:DEFAULT_COLUMNS_PER_KIND]]

    pairs = zip_longest(top(metrics, "metrics"), top(params, "params"))
    return [column for pair in pairs for column in pair if column]


def cell(run: Run, column: str) -> Text:
    """One param (value), metric (last value) or tag of a run, or a dim dash when it is not set."""
    kind, _, key = column.partition(".")
    if kind == "params" and key in run.params:
        return Text(format_value(run.params[key]))
    if kind == "metrics" and key in run.metrics:
        return Text(format_value(run.metrics[key].last))
    if kind == "tags" and key in run.tags:
        return Text(run.tags[key])
    return MISSING


def runs_table(runs: Sequence[Run], columns: Sequence[str], *, show_project: bool) -> Table:
    """Runs as a table: short id, [project], name, status, user, start, duration, then columns.

    The fixed columns never wrap (the id is never shortened); chosen columns give way first.
    """
    ids = short_ids([run.id for run in runs])
    table = new_table()
    table.add_column("id", style="cyan", no_wrap=True, min_width=max(map(len, ids.values())))
    if show_project:
        table.add_column("project", no_wrap=True, max_width=24)
    table.add_column("name", no_wrap=True, max_width=32)
    table.add_column("status", no_wrap=True)
    table.add_column("user", no_wrap=True, max_width=16)
    table.add_column("start", no_wrap=True, min_width=16)
    table.add_column("duration", no_wrap=True, justify="right")
    for column in columns:
        table.add_column(column, no_wrap=True, justify="right")
    now_ms = int(time.time() * 1000)
    for run in runs:
        table.add_row(
            ids[run.id],
            *([Text(run.project)] if show_project else []),
            Text(run.name or "-"),
            status_text(run),
            Text(run.user),
            local_time(run.start_time, seconds=False),
            run_duration(run, now_ms),
            *(cell(run, column) for column in columns),
        )
    return table


# -- commands ---------------------------------------------------------------------------------
def _search_all(
    search: Callable[..., Page[Run]], page_token: str | None, *, follow: bool
) -> tuple[list[Run], str | None]:
    """One page of runs, or with ``follow`` every page from ``page_token`` on."""
    page = search(page_token=page_token)
    runs, token = list(page.items), page.next_page_token
    while follow and token:
        page = search(page_token=token)
        runs.extend(page.items)
        token = page.next_page_token
    return runs, token


def _note_filter_position(exc: FilterSyntaxError, text: str) -> None:
    """Point at the offending token when the error is about the filter (not the order-by)."""
    at = exc.position
    if text and 0 <= at <= len(text) and text[at : at + len(exc.token)] == exc.token:
        exc.add_note(caret_note(text, at))


@app.command("list")
def list_runs(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only runs of this project.")
    ] = None,
    filter_text: Annotated[
        str,
        typer.Option(
            "--filter", "-f", help="A filter such as \"metrics.acc > 0.9 AND params.model = 'rf'\"."
        ),
    ] = "",
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by",
            "-o",
            help="Sort terms such as -metrics.acc or 'start_time DESC' (repeat or comma-separate).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Runs per page.")] = 50,
    page_token: Annotated[
        str | None, typer.Option("--page-token", help="Continue from a previous page.")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns", "-c", help="Extra columns, e.g. params.lr,metrics.acc,tags.team."
        ),
    ] = None,
    follow: Annotated[bool, typer.Option("--all", help="Follow every page to the end.")] = False,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted runs.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Search runs: filter, order and page them (newest first by default).

    [bold]Examples[/bold]

      shipyard runs list --project iris --filter "metrics.acc > 0.9" --order-by -metrics.acc

      shipyard runs list -p iris -c params.lr,metrics.loss --limit 20

      shipyard runs list --filter "status = 'FAILED'" --all --json
    """
    chosen = parse_columns(columns) if columns else None
    terms = [t.strip() for spec in order_by or [] for t in spec.split(",") if t.strip()]
    with open_client(ctx) as client:
        try:
            search = functools.partial(
                client.search_runs,
                project=project,
                filter=filter_text,
                order_by=terms or None,
                limit=limit,
                include_deleted=deleted,
            )
            runs, token = _search_all(search, page_token, follow=follow)
        except FilterSyntaxError as exc:
            _note_filter_position(exc, filter_text)
            raise
    if as_json:
        write_json({"runs": [run_json(run) for run in runs], "next_page_token": token})
        return
    _print_runs(get_state(ctx).out, runs, token, chosen, show_project=project is None)


def _print_runs(
    out: Console,
    runs: Sequence[Run],
    token: str | None,
    columns: list[str] | None,
    *,
    show_project: bool,
) -> None:
    if not runs:
        print_message(out, "no runs match")
    elif columns is not None:
        out.print(runs_table(runs, columns, show_project=show_project))
    else:
        out.print(_fitted_table(out, runs, default_columns(runs), show_project=show_project))
    if token:
        print_message(out, f"more runs: add --page-token {token} (or --all)", style="dim")


def _fitted_table(
    out: Console, runs: Sequence[Run], priority: list[str], *, show_project: bool
) -> Table:
    """The table with as many of the default columns as fit the console (params shown first)."""
    unbounded = out.options.update_width(UNBOUNDED)
    for count in range(len(priority), 0, -1):
        columns = sorted(priority[:count], key=lambda c: not c.startswith("params."))
        table = runs_table(runs, columns, show_project=show_project)
        if Measurement.get(out, unbounded, table).maximum <= out.width:
            return table
    return runs_table(runs, [], show_project=show_project)


@app.command("show")
def show_run(ctx: typer.Context, run: RunArgument, as_json: JsonOption = False) -> None:
    """Show one run: attributes, params, metric summaries and tags.

    [bold]Examples[/bold]

      shipyard runs show 0193a5c1f2e0

      shipyard runs show 0193a5c1f2e04b7d9c1e2f3a4b5c6d7e --json
    """
    with open_client(ctx) as client:
        found = resolve_run(client, run)
    if as_json:
        write_json(run_json(found))
        return
    get_state(ctx).out.print(run_details(found))


@app.command("delete")
def delete_run(ctx: typer.Context, run: RunArgument) -> None:
    """Delete a run (soft: it leaves searches until restored).

    [bold]Example[/bold]

      shipyard runs delete 0193a5c1f2e0
    """
    with open_client(ctx) as client:
        found = resolve_run(client, run)
        client.delete_run(found.id)
    out = get_state(ctx).out
    print_message(out, f"deleted run {found.id} ({found.project}/{found.name or '-'})")
    print_message(out, f"undo with: shipyard runs restore {found.id}", style="dim")


@app.command("restore")
def restore_run(ctx: typer.Context, run: RunArgument) -> None:
    """Restore a deleted run.

    [bold]Example[/bold]

      shipyard runs restore 0193a5c1f2e0
    """
    with open_client(ctx) as client:
        found = resolve_run(client, run)
        client.restore_run(found.id)
    print_message(
        get_state(ctx).out, f"restored run {found.id} ({found.project}/{found.name or '-'})"
    )


# -- notes and comments (collaboration) -------------------------------------------------------
TextArgument = Annotated[str, typer.Argument(help="Markdown text, or - to read it from stdin.")]


@app.command("note")
def note_run(ctx: typer.Context, run: RunArgument, text: TextArgument) -> None:
    """Set a run's Markdown notes (at most 64 KiB; an empty text clears them).

    [bold]Examples[/bold]

      shipyard runs note 0193a5c1f2e0 "Diverged after epoch 30: **lr too high**."

      shipyard runs note 0193a5c1f2e0 - < notes.md
    """
    notes = text_or_stdin(text)
    with open_client(ctx) as client:
        found = client.set_run_notes(resolve_run(client, run).id, notes)
    print_message(get_state(ctx).out, f"updated the notes of run {found.id}")


@app.command("comment")
def comment_run(ctx: typer.Context, run: RunArgument, text: TextArgument) -> None:
    """Comment on a run (Markdown, at most 16 KiB).

    [bold]Examples[/bold]

      shipyard runs comment 0193a5c1f2e0 "Beats the baseline by 2 points, promote it?"

      git log -1 --format=%B | shipyard runs comment 0193a5c1f2e0 -
    """
    body = text_or_stdin(text)
    with open_client(ctx) as client:
        comment = client.add_comment(resolve_run(client, run).id, body)
    print_message(get_state(ctx).out, f"commented on run {comment.run_id} (comment {comment.id})")


@app.command("comments")
def list_comments(ctx: typer.Context, run: RunArgument, as_json: JsonOption = False) -> None:
    """List the comments on a run, oldest first.

    [bold]Examples[/bold]

      shipyard runs comments 0193a5c1f2e0

      shipyard runs comments 0193a5c1f2e0 --json | jq -r '.comments[].body'
    """
    with open_client(ctx) as client:
        comments = client.list_comments(resolve_run(client, run).id)
    if as_json:
        write_json({"comments": [comment_json(c) for c in comments]})
    elif not comments:
        print_message(get_state(ctx).out, "no comments yet")
    else:
        get_state(ctx).out.print(comments_view(comments))


__all__ = ["app", "resolve_run"]
