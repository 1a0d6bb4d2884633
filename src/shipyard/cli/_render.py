"""Rendering for the CLI: human formats (times, durations, sizes), Rich tables, JSON and errors.

People get Rich tables on stdout; scripts get ``--json``, written as plain bytes (never through
Rich, so a pipe sees no markup or escape codes). Errors go to stderr as ``error:`` / ``hint:``
lines. User data is always wrapped in :class:`rich.text.Text`, so a run named ``[red]x`` prints
verbatim.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from shipyard.domain.entities import Artifact, MetricSummary, ParamValue, Project, Run, RunStatus
from shipyard.errors import ShipyardError

STATUS_STYLES = {
    RunStatus.RUNNING: "yellow",
    RunStatus.FINISHED: "green",
    RunStatus.FAILED: "red",
    RunStatus.KILLED: "magenta",
}
PIPE_WIDTH = 400
"""Table width when stdout is not a terminal and ``COLUMNS`` is unset."""
MISSING = Text("-", style="dim")
"""What an empty table cell shows."""


# -- consoles and JSON ------------------------------------------------------------------------
def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout (tables) or stderr (errors, progress). Colour only on terminals.

    Output to a pipe or file is not squeezed into 80 columns (``| grep``, ``| less -S`` see whole
    rows) unless ``COLUMNS`` says otherwise.
    """
    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


def write_json(data: object) -> None:
    """Write ``data`` as indented JSON to stdout, bypassing Rich (NaN and infinity become null)."""
    payload = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    sys.stdout.flush()
    sys.stdout.buffer.write(payload + b"\n")
    sys.stdout.buffer.flush()


def print_message(console: Console, message: str, *, style: str | None = None) -> None:
    """Print one line of plain text (no markup interpretation, no hard wrapping)."""
    console.print(Text(message, style=style or ""), soft_wrap=True)


def print_error(console: Console, exc: BaseException, *, debug: bool = False) -> None:
    """Print ``error:``, any notes, and ``hint:`` lines; with ``debug`` the traceback first.

    Example output::

        error: unexpected token '>' at position 13
          metrics.acc >> 0.9
                       ^
        hint: expected a value after '>'
    """
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message, hint = describe_error(exc)
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    for note in getattr(exc, "__notes__", ()):
        console.print(Text(str(note)), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("hint:", "bold cyan"), " ", hint), soft_wrap=True)


def describe_error(exc: BaseException) -> tuple[str, str | None]:
    """The message and hint to show for an error (an OS error names the file it concerns)."""
    if isinstance(exc, ShipyardError):
        return exc.message, exc.hint
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename is not None else ""
        return f"{exc.strerror}{where}", "check the path and its permissions"
    return str(exc) or type(exc).__name__, None


def caret_note(text: str, position: int) -> str:
    """Two indented lines showing ``text`` with a caret under the 0-based ``position``."""
    position = max(0, min(position, len(text)))
    return f"  {text}\n  {' ' * position}^"


# -- human formats ----------------------------------------------------------------------------
def local_time(ms: int | None, *, seconds: bool = True) -> str:
    """Epoch milliseconds as local wall-clock time, e.g. ``'2024-05-01 14:03:07'``."""
    if ms is None:
        return "-"
    layout = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime(layout)


def human_duration(ms: int | None) -> str:
    """A duration for people: ``'350ms'``, ``'12.3s'``, ``'4m 05s'``, ``'2h 03m'``, ``'3d 04h'``."""
    if ms is None:
        return "-"
    ms = max(ms, 0)
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    seconds = ms // 1000
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s"


def human_size(size: int) -> str:
    """Bytes for people: ``'512 B'``, ``'1.5 KiB'``, ``'3.2 MiB'``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def format_value(value: ParamValue | float) -> str:
    """A param or metric value in a cell: floats with 4 significant digits, bools lowercase."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def status_text(run: Run) -> Text:
    """The coloured status of a run, marked when it is deleted."""
    text = Text(run.status.value, style=STATUS_STYLES.get(run.status, ""))
    if run.deleted:
        text.append(" (deleted)", style="dim")
    return text


def run_duration(run: Run, now_ms: int) -> str:
    """Humanized duration; a running run shows the time elapsed so far."""
    if run.end_time is None and run.status is RunStatus.RUNNING:
        return human_duration(now_ms - run.start_time)
    return human_duration(run.duration_ms)


def short_ids(ids: Sequence[str], min_len: int = 8) -> dict[str, str]:
    """The shortest prefixes (at least ``min_len``) that tell these ids apart, like git's.

    Ids start with their creation time, so runs made together share long prefixes.
    """
    length = min_len
    longest = max((len(i) for i in ids), default=min_len)
    while length < longest and len({i[:length] for i in ids}) < len(set(ids)):
        length += 1
    return {i: i[:length] for i in ids}


# -- JSON shapes ------------------------------------------------------------------------------
def project_json(project: Project) -> dict[str, Any]:
    """A project as JSON (times in epoch milliseconds)."""
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at,
    }


def metric_json(summary: MetricSummary) -> dict[str, Any]:
    """A metric summary as JSON."""
    return {
        "last": summary.last,
        "last_step": summary.last_step,
        "last_timestamp": summary.last_timestamp,
        "min": summary.min,
        "max": summary.max,
        "count": summary.count,
    }


def run_json(run: Run) -> dict[str, Any]:
    """A run as JSON: full id, times in epoch milliseconds, params keep their types."""
    return {
        "id": run.id,
        "project": run.project,
        "name": run.name,
        "status": run.status.value,
        "user": run.user,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration_ms": run.duration_ms,
        "parent_id": run.parent_id,
        "error": run.error,
        "notes": run.notes,
        "deleted": run.deleted,
        "params": dict(run.params),
        "tags": dict(run.tags),
        "metrics": {key: metric_json(m) for key, m in run.metrics.items()},
    }


def artifact_json(artifact: Artifact) -> dict[str, Any]:
    """An artifact record as JSON."""
    return {
        "path": artifact.path,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "media_type": artifact.media_type,
        "created_at": artifact.created_at,
    }


# -- tables -----------------------------------------------------------------------------------
def new_table(*columns: str, title: str | None = None) -> Table:
    """A table in the house style (right-aligned numeric columns are set by the caller)."""
    table = Table(
        title=title,
        header_style="bold",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for column in columns:
        table.add_column(column)
    return table


def projects_table(projects: Iterable[Project]) -> Table:
    """Projects as a table: name, id, created, description."""
    table = new_table("name", "id", "created", "description")
    for project in projects:
        table.add_row(
            Text(project.name, style="bold"),
            Text(project.id),
            local_time(project.created_at),
            Text(project.description),
        )
    return table


def artifacts_table(artifacts: Iterable[Artifact]) -> Table:
    """Artifact records as a table: path, size, media type, sha256 (short), created."""
    table = new_table()
    table.add_column("path", no_wrap=True, min_width=12)
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("media type", no_wrap=True, max_width=24)
    table.add_column("sha256", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for artifact in artifacts:
        table.add_row(
            Text(artifact.path),
            human_size(artifact.size),
            Text(artifact.media_type),
            artifact.sha256[:12],
            local_time(artifact.created_at, seconds=False) if artifact.created_at else "-",
        )
    return table


def run_details(run: Run) -> RenderableType:
    """Everything about one run: its attributes, then params, metrics and tags tables."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    ended = run.end_time is not None
    rows: list[tuple[str, str | Text | None]] = [
        ("id", run.id),
        ("project", run.project),
        ("name", run.name),
        ("status", status_text(run)),
        ("user", run.user),
        ("started", local_time(run.start_time)),
        ("ended", local_time(run.end_time) if ended else None),
        ("duration", run_duration(run, int(time.time() * 1000))),
        ("parent", run.parent_id),
        ("error", run.error),
        ("notes", run.notes),
    ]
    for label, value in rows:
        if value:
            grid.add_row(label, value if isinstance(value, Text) else Text(value))
    sections: list[RenderableType] = [grid]
    for table in _detail_tables(run):
        sections += [Text(), table]  # a blank line between sections
    return Group(*sections)


def _detail_tables(run: Run) -> list[Table]:
    tables = []
    if run.params:
        params = new_table("param", "value", title="params")
        for key, value in sorted(run.params.items()):
            params.add_row(Text(key), Text(format_value(value)))
        tables.append(params)
    if run.metrics:
        metrics = new_table("metric", "last", "step", "min", "max", "count", title="metrics")
        for column in metrics.columns[1:]:
            column.justify = "right"
        for key, m in sorted(run.metrics.items()):
            low = MISSING if m.min is None else Text(format_value(m.min))
            high = MISSING if m.max is None else Text(format_value(m.max))
            metrics.add_row(
                Text(key), format_value(m.last), str(m.last_step), low, high, str(m.count)
            )
        tables.append(metrics)
    if run.tags:
        tags = new_table("tag", "value", title="tags")
        for key, tag in sorted(run.tags.items()):
            tags.add_row(Text(key), Text(tag))
        tables.append(tags)
    return tables
