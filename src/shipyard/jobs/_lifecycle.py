"""One attempt of a job, from submission to its end: what the submitter, a reader refreshing a
job, and an agent share.

Every step is idempotent or guarded by the job store, so several processes may drive the same
job: the output is stored before the attempt is completed (storing it twice stores the same
bytes), and only one caller wins ``complete_job`` or ``start_attempt``.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.capture.layout import ARTIFACT_DIR, OUTPUT_ARTIFACT
from shipyard.domain.jobs import Job, JobPhase
from shipyard.errors import Conflict, NotFound, ShipyardError, Unavailable
from shipyard.executors.base import Executor, JobHandle, JobSpec, JobState, JobStatus
from shipyard.jobs._submission import Submission
from shipyard.sdk._process import child_environment, output_tail
from shipyard.sdk.backend import Backend
from shipyard.settings import Settings
from shipyard.store.jobs import JobStore

logger = logging.getLogger("shipyard.jobs")

TAG = "shipyard.job."
EXECUTOR_TAG = f"{TAG}executor"
HANDLE_TAG = f"{TAG}handle"
QUEUE_TAG = f"{TAG}queue"
ATTEMPT_TAG = f"{TAG}attempt"
AGENT_TAG = f"{TAG}agent"
RUN_LABEL = "shipyard.run_id"
TAIL_BYTES = 2000

Note = Callable[[str], None]


@dataclass
class JobContext:
    """What the job steps need: the settings passed to jobs, the SDK backend, the job store, and
    where notes for people go."""

    settings: Settings
    backend: Backend
    store: JobStore
    note: Note = logger.warning


def phase_of(state: JobState) -> JobPhase:
    """The job phase of an executor state."""
    return JobPhase(state.value.upper())


def attempt_spec(
    ctx: JobContext,
    submission: Submission,
    run_id: str,
    cwd: str | None,
    wrap: Sequence[str] = (),
) -> JobSpec:
    """The executor spec of one attempt: the stored one, run in ``cwd``, behind ``wrap`` (the
    agent's tether), with ``SHIPYARD_RUN_ID`` and every tracking setting in its environment."""
    tracking = child_environment(ctx.settings, run_id, {}, Path.cwd())
    return dataclasses.replace(
        submission.spec,
        command=[*wrap, *submission.spec.command],
        cwd=cwd,
        env={**submission.spec.env, **tracking},
        labels={**submission.spec.labels, RUN_LABEL: run_id},
    )


def submit_attempt(
    ctx: JobContext, job: Job, executor: Executor, spec: JobSpec, agent: str | None = None
) -> Job:
    """Submit the job's open attempt and record its handle. A submission the executor refuses
    ends the attempt ``FAILED``; one the job no longer wants (cancelled meanwhile) is cancelled."""
    try:
        handle = executor.submit(spec)
    except ShipyardError as exc:
        message = f"could not submit to the {executor.name} executor: {exc}"
        return _complete(ctx, job, JobPhase.FAILED, None, message, agent) or job
    tag_attempt(ctx, job, handle=str(handle), agent=agent)
    try:
        job = ctx.store.heartbeat(job.run_id, attempt=job.attempts, agent=agent, handle=str(handle))
    except Conflict:
        executor.cancel(handle)  # cancelled (or lost) while it was being submitted
        return ctx.store.get_job(job.run_id)
    except Unavailable as exc:  # the next heartbeat records the handle
        ctx.note(f"job {job.run_id}: could not record its handle yet: {exc.message}")
        return dataclasses.replace(job, handle=str(handle))
    if job.cancel_requested:
        executor.cancel(handle)
    return job


def tag_attempt(ctx: JobContext, job: Job, *, handle: str | None, agent: str | None) -> None:
    """Tag the run with the attempt now running (and its handle and agent)."""
    tags = {ATTEMPT_TAG: str(job.attempts)}
    if handle is not None:
        tags[HANDLE_TAG] = handle
    if agent is not None:
        tags[AGENT_TAG] = agent
    try:
        ctx.backend.store.set_tags(job.run_id, tags)
    except ShipyardError as exc:  # tags are informative: never fail the job for them
        ctx.note(f"could not tag run {job.run_id}: {exc}")


def observe(
    ctx: JobContext,
    job: Job,
    executor: Executor,
    agent: str | None = None,
    *,
    beat: bool = True,
) -> Job:
    """Read the attempt's status from its executor; record that it runs (an agent also renews
    its lease when ``beat``), stop it when a cancel was requested, and end the attempt when it
    has ended. Returns the job as stored now."""
    assert job.handle is not None
    handle = JobHandle.parse(job.handle)
    try:
        status = executor.status(handle)
    except NotFound as exc:
        status = JobStatus(JobState.LOST, message=f"the executor no longer knows the job: {exc}")
    if not status.state.is_terminal:
        return _still_running(ctx, job, executor, handle, status, agent, beat)
    return finish_attempt(ctx, job, executor, status, agent)


def _still_running(
    ctx: JobContext,
    job: Job,
    executor: Executor,
    handle: JobHandle,
    status: JobStatus,
    agent: str | None,
    beat: bool,
) -> Job:
    state = JobPhase.RUNNING if status.state is JobState.RUNNING else None
    started = state is JobPhase.RUNNING and job.state is JobPhase.PENDING
    if started or (agent is not None and beat):
        job = ctx.store.heartbeat(
            job.run_id, attempt=job.attempts, agent=agent, state=state, handle=str(handle)
        )
    if not job.cancel_requested:
        return job
    executor.cancel(handle)
    after = executor.status(handle)
    return finish_attempt(ctx, job, executor, after, agent) if after.state.is_terminal else job


def finish_attempt(
    ctx: JobContext, job: Job, executor: Executor, status: JobStatus, agent: str | None = None
) -> Job:
    """Store the attempt's output with the run and end the attempt as ``status`` says."""
    assert job.handle is not None
    tail = store_output(ctx, job, executor.logs(JobHandle.parse(job.handle)))
    phase = phase_of(status.state)
    message = outcome_message(ctx, job.run_id, status, tail)
    done = _complete(ctx, job, phase, status.exit_code, message, agent)
    return done if done is not None else ctx.store.get_job(job.run_id)


def _complete(
    ctx: JobContext,
    job: Job,
    phase: JobPhase,
    exit_code: int | None,
    message: str,
    agent: str | None,
) -> Job | None:
    """``complete_job``; ``None`` when another process completed the attempt first."""
    try:
        return ctx.store.complete_job(
            job.run_id,
            attempt=job.attempts,
            state=phase,
            agent=agent,
            exit_code=exit_code,
            message=message,
        )
    except Conflict:
        return None


def store_output(ctx: JobContext, job: Job, lines: Iterable[str]) -> str:
    """Store the attempt's output as ``.shipyard/output.log`` (and, for a job that may retry,
    ``.shipyard/attempts/N/output.log``); returns its last lines. Never raises: the output is a
    convenience and must not keep the attempt from ending."""
    with tempfile.TemporaryDirectory(prefix="shipyard-job-") as tmp:
        path = Path(tmp, "output.log")
        try:
            with path.open("w", encoding="utf-8", errors="replace") as out:
                for line in lines:
                    out.write(line + "\n")
        except ShipyardError as exc:
            ctx.note(f"could not read the output of job {job.run_id}: {exc}")
        files = [(path, OUTPUT_ARTIFACT)]
        if job.max_retries > 0:
            files.append((path, f"{ARTIFACT_DIR}/attempts/{job.attempts}/output.log"))
        try:
            ctx.backend.upload_artifacts(job.run_id, files)
        except ShipyardError as exc:
            ctx.note(f"could not store the output of job {job.run_id}: {exc}")
        return output_tail(path, TAIL_BYTES)


def outcome_message(ctx: JobContext, run_id: str, status: JobStatus, tail: str) -> str:
    """What the job (and its run's error) says about how the attempt ended."""
    if status.state is JobState.SUCCEEDED:
        return status.message
    if status.state is JobState.FAILED:
        parts = [f"the command exited with code {status.exit_code}"]
        if status.message:
            parts.append(status.message)
        own = _run_error(ctx, run_id)
        if own:
            parts.append(own)
        elif tail:
            parts.append(f"last output:\n{tail}")
        return "\n".join(parts)
    default = {
        JobState.CANCELLED: "the job was cancelled",
        JobState.TIMED_OUT: "the job ran past its timeout",
        JobState.LOST: "the job's executor lost it",
    }
    return status.message or default.get(status.state, status.state.value)


def _run_error(ctx: JobContext, run_id: str) -> str | None:
    """The error the command recorded on its run itself (an exception in ``start_run``)."""
    try:
        return ctx.backend.store.get_run(run_id).error
    except ShipyardError:
        return None
