"""How workflow runs look on the terminal and in ``--json``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from shipyard.cli._render import human_duration, local_time, new_table
from shipyard.domain.workflows import WorkflowJob, WorkflowRun

STYLES = {
    "SUCCEEDED": "green",
    "CACHED": "cyan",
    "FAILED": "red",
    "SKIPPED": "dim",
    "CANCELLED": "yellow",
    "RUNNING": "blue",
    "PENDING": "dim",
}


def styled(status: str) -> Text:
    """A status word in its colour."""
    return Text(status, style=STYLES.get(status, ""))


def workflow_json(run: WorkflowRun, jobs: Sequence[WorkflowJob] = ()) -> dict[str, Any]:
    """A workflow run (and its jobs) as JSON."""
    return {
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "status": run.status.value,
        "path": run.path,
        "commit": run.commit,
        "params": dict(run.params),
        "trigger": None if run.trigger is None else run.trigger.to_dict(),
        "message": run.message,
        "created_at": run.created_at,
        "ended_at": run.ended_at,
        "retry_of": run.retry_of,
        "jobs": [job_json(job) for job in jobs],
    }


def job_json(job: WorkflowJob) -> dict[str, Any]:
    """A workflow job as JSON."""
    return {
        "name": job.name,
        "status": job.status.value,
        "run_id": job.run_id,
        "reason": job.reason,
        "message": job.message,
        "outputs": dict(job.outputs),
        "cache_key": job.cache_key,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
    }


def runs_table(runs: Iterable[WorkflowRun]) -> RenderableType:
    """Workflow runs, one per row."""
    table = new_table("ID", "WORKFLOW", "PROJECT", "STATUS", "TRIGGER", "STARTED", "DURATION")
    for run in runs:
        trigger = "manual" if run.trigger is None else run.trigger.describe()
        duration = None if run.ended_at is None else run.ended_at - run.created_at
        table.add_row(
            run.id, run.name, run.project, styled(run.status.value), trigger,
            local_time(run.created_at), human_duration(duration),
        )  # fmt: skip
    return table


def run_details(run: WorkflowRun, jobs: Sequence[WorkflowJob]) -> RenderableType:
    """A workflow run: a header, its jobs with why each ran, and gate or failure messages."""
    head = Text.assemble(
        (f"workflow run {run.id}", "bold"), f"  {run.name}  ", styled(run.status.value)
    )
    table = new_table("JOB", "STATUS", "RUN", "DURATION", "WHY")
    for job in jobs:
        duration = None if job.ended_at is None or job.started_at is None else (
            job.ended_at - job.started_at
        )  # fmt: skip
        table.add_row(
            job.name, styled(job.status.value), job.run_id or "-", human_duration(duration),
            job.reason or "-",
        )  # fmt: skip
    parts: list[RenderableType] = [head, table]
    for job in jobs:
        if job.message:
            parts.append(Text(f"{job.name}: {job.message}", style=STYLES.get(job.status.value, "")))
    if run.message and run.status.value != "SUCCEEDED":
        parts.append(Text(run.message, style="red"))
    return Group(*parts)
