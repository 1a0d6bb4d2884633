"""``shipyard sync``: upload the batches that runs spooled while their backend was unreachable."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state
from shipyard.errors import Unavailable

if TYPE_CHECKING:
    from rich.console import Console

    from shipyard.sdk.sync import SyncReport

JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def sync_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Upload batches that runs spooled while the tracking backend was unreachable.

    Safe to run any time and again: batches already applied are skipped, and spools that a
    running process still writes are left alone. Exits 1 when the backend is still unreachable.

    [bold]Examples[/bold]

      shipyard sync

      SHIPYARD_TRACKING_URI=http://hub:8080 shipyard sync --json
    """
    from shipyard.sdk.sync import sync

    state = get_state(ctx)
    with _progress(state.err) as progress:
        task = progress.add_task("uploading batches", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = sync(state.settings, progress=advance)
    if as_json:
        write_json({**dataclasses.asdict(report), "complete": report.complete})
    else:
        _print_summary(state.out, state.err, report)
    if not report.complete:
        reason = report.errors[-1] if report.errors else "the backend is unavailable"
        raise Unavailable(
            f"{report.batches_left} batches are still spooled: {reason}",
            hint="check that the tracking server or database is reachable, then run "
            "`shipyard sync` again",
        )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )


def _print_summary(out: Console, err: Console, report: SyncReport) -> None:
    """One line of what was uploaded, plus warnings for refused batches and live spools."""
    if report.batches_sent == 0 and report.batches_rejected == 0 and report.batches_left == 0:
        print_message(out, "nothing to sync: no spooled batches are waiting")
    else:
        print_message(
            out,
            f"uploaded {report.batches_sent} batches ({report.points_sent} metric points) "
            f"of {report.runs} runs",
        )
    if report.segments_live:
        print_message(
            out, f"skipped {report.segments_live} spools that running processes still write"
        )
    if report.batches_rejected:
        print_message(
            err,
            f"warning: {report.batches_rejected} batches were refused and kept in *.rejected "
            "files next to the spool",
            style="yellow",
        )
        for error in report.errors:
            print_message(err, f"  {error}")
