"""Rendering of jobs for ``shipyard jobs``: a table, the details of one job, and JSON."""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from shipyard.cli._render import MISSING, human_duration, local_time, new_table, short_ids
from shipyard.domain.jobs import Job, JobPhase

STATE_STYLES = {
    JobPhase.QUEUED: "cyan",
    JobPhase.PENDING: "yellow",
    JobPhase.RUNNING: "yellow",
    JobPhase.SUCCEEDED: "green",
    JobPhase.FAILED: "red",
    JobPhase.TIMED_OUT: "red",
    JobPhase.LOST: "red",
    JobPhase.CANCELLED: "magenta",
}
COMMAND_WIDTH = 60


def job_json(job: Job) -> dict[str, Any]:
    """A job as JSON (the REST API's shape; times in epoch milliseconds)."""
    from shipyard.api.jobs import JobOut

    return JobOut.of(job).model_dump(mode="json")


def state_text(job: Job) -> Text:
    """The coloured state of a job (``cancelling`` while a cancel is pending)."""
    text = Text(job.state.value, style=STATE_STYLES.get(job.state, ""))
    if job.cancel_requested and not job.state.is_terminal:
        text.append(" (cancelling)", style="dim")
    return text


def command_of(job: Job, width: int = COMMAND_WIDTH) -> str:
    """The job's command as a shell line, shortened to ``width`` characters."""
    spec = job.spec.get("spec")
    command = spec.get("command") if isinstance(spec, dict) else None
    line = shlex.join(str(arg) for arg in command) if isinstance(command, list) else "?"
    return line if len(line) <= width else line[: width - 1] + "…"


def where(job: Job) -> str:
    """Where the job runs: its queue and agent, or its executor handle."""
    if job.queue is not None:
        return f"{job.queue}@{job.agent}" if job.agent else job.queue
    return job.handle or job.executor


def duration(job: Job) -> str:
    """How long the job ran (so far, while it runs)."""
    if job.started_at is None:
        return "-"
    end = job.ended_at or int(time.time() * 1000)
    return human_duration(end - job.started_at)


def jobs_table(jobs: Iterable[Job]) -> Table:
    """Jobs as a table: id, state, executor, where, attempt, created, duration, command."""
    jobs = list(jobs)
    ids = short_ids([job.run_id for job in jobs])
    table = new_table("job", "state", "executor", "where", "attempt", "created", "ran", "command")
    for job in jobs:
        table.add_row(
            Text(ids[job.run_id], style="bold"),
            state_text(job),
            Text(job.executor),
            Text(where(job)),
            f"{job.attempts}/{job.max_retries + 1}",
            local_time(job.created_at),
            duration(job),
            Text(command_of(job)),
        )
    return table


def job_details(job: Job) -> RenderableType:
    """Everything about one job: its attributes, then the table of its attempts."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    stored = job.spec.get("spec")
    spec: dict[str, Any] = stored if isinstance(stored, dict) else {}
    rows: list[tuple[str, str | Text | None]] = [
        ("job (run id)", job.run_id),
        ("state", state_text(job)),
        ("executor", job.executor),
        ("handle", job.handle),
        ("queue", job.queue),
        ("agent", job.agent),
        ("attempts", f"{job.attempts} of at most {job.max_retries + 1}"),
        ("exit code", None if job.exit_code is None else str(job.exit_code)),
        ("command", command_of(job, width=10_000)),
        ("workers", str(spec.get("workers", 1))),
        ("code", str(job.spec.get("code", "-"))),
        ("created", local_time(job.created_at)),
        ("started", local_time(job.started_at) if job.started_at else None),
        ("ended", local_time(job.ended_at) if job.ended_at else None),
        ("ran", duration(job)),
        ("message", job.message),
    ]
    for label, value in rows:
        if value:
            grid.add_row(label, value if isinstance(value, Text) else Text(value))
    if not job.history:
        return grid
    return Group(grid, Text(), attempts_table(job))


def attempts_table(job: Job) -> Table:
    """The attempts of a job that ended: state, exit code, where, when, message."""
    table = new_table("attempt", "state", "exit", "ran on", "ended", "message", title="attempts")
    for attempt in job.history:
        table.add_row(
            str(attempt.attempt),
            Text(attempt.state.value, style=STATE_STYLES.get(attempt.state, "")),
            MISSING if attempt.exit_code is None else str(attempt.exit_code),
            Text(attempt.agent or attempt.handle or "-"),
            local_time(attempt.ended_at),
            Text(attempt.message.splitlines()[0] if attempt.message else ""),
        )
    return table
