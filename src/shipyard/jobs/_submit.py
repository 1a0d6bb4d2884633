"""Submitting a job: create (or continue) its run, capture the code state, record the job, and
launch the first attempt of a direct job (queued jobs wait for an agent)."""

from __future__ import annotations

import time
from pathlib import Path

from shipyard.capture.layout import LAUNCHER_TAG
from shipyard.domain.entities import Run, RunStatus
from shipyard.domain.ids import new_id
from shipyard.domain.jobs import Job, JobPhase
from shipyard.domain.validation import (
    validate_params,
    validate_project_name,
    validate_run_name,
    validate_tags,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound, ShipyardError
from shipyard.jobs._code import (
    LAUNCHER,
    CodeSnapshot,
    capture_snapshot,
    inside,
    is_materialized,
    materialize,
    read_snapshot,
)
from shipyard.jobs._executors import QUEUE_EXECUTOR, executor_for, this_host
from shipyard.jobs._lifecycle import (
    EXECUTOR_TAG,
    QUEUE_TAG,
    JobContext,
    attempt_spec,
    submit_attempt,
)
from shipyard.jobs._submission import CodeMode, Submission
from shipyard.jobs.request import JobRequest
from shipyard.sdk.launch import default_name

WORKDIRS = "workdirs"


def submit(ctx: JobContext, request: JobRequest) -> Job:
    """Run ``request`` as a tracked job (see :meth:`shipyard.jobs.JobService.submit`)."""
    name = request.executor_name()
    spec = request.job_spec()
    if name == "kubernetes" and not request.image:
        raise InvalidArgument(
            "a kubernetes job needs the container image that holds the code",
            hint="pass --image REGISTRY/IMAGE:TAG (or --dry-run to see the manifest)",
        )
    if name != QUEUE_EXECUTOR:  # an executor that cannot be opened fails before the run exists
        executor_for(name, Submission(spec, ray_address=request.ray_address, image=request.image))
    run = open_job_run(ctx, request, name)
    job: Job | None = None
    try:
        snapshot = capture_snapshot(
            ctx.backend,
            run.id,
            request.origin(),
            spec.command,
            ctx.settings.diff_cap_bytes,
        )
        submission = plan(ctx, request, name, run.id, snapshot)
        job = ctx.store.create_job(
            run.id,
            executor=name,
            spec=submission.to_dict(),
            max_retries=request.retries,
            queue=request.queue,
        )
        return job if job.queue is not None else start_direct_attempt(ctx, job, snapshot)
    except BaseException as exc:
        _abandon(ctx, run.id, job, exc)
        raise


def open_job_run(ctx: JobContext, request: JobRequest, executor: str) -> Run:
    """The job's run: created, or ``request.run_id`` continued (it must be ``RUNNING``)."""
    tags = {
        **validate_tags(request.tags),
        LAUNCHER_TAG: LAUNCHER,
        EXECUTOR_TAG: executor,
    }
    if request.queue is not None:
        tags[QUEUE_TAG] = request.queue
    params = validate_params(request.params)
    store = ctx.backend.store
    if request.run_id is not None:
        existing = _existing(ctx, request.run_id)
        if existing is not None:
            store.log_params(existing.id, params)
            store.set_tags(existing.id, tags)
            return existing
    return store.create_run(
        validate_project_name(request.project or ctx.settings.project),
        name=validate_run_name(request.name or default_name(list(request.command))),
        user=ctx.settings.user,
        params=params,
        tags=tags,
        parent_id=request.parent_id,
        start_time=time.time_ns() // 1_000_000,
        run_id=request.run_id or new_id(),
    )


def _existing(ctx: JobContext, run_id: str) -> Run | None:
    try:
        run = ctx.backend.store.get_run(run_id)
    except NotFound:
        return None
    if run.status.is_terminal:
        raise InvalidArgument(
            f"run {run_id} has already ended ({run.status.value})",
            hint="submit the job into a RUNNING run, or leave run_id out to create one",
        )
    return run


def plan(
    ctx: JobContext, request: JobRequest, executor: str, run_id: str, snapshot: CodeSnapshot
) -> Submission:
    """Where the job's code runs, and what reaches its executor again."""
    origin = request.origin()
    code = code_mode(request, executor, snapshot)
    if not snapshot.recorded and code == "in_place":
        where = "on the agent's folder" if executor == QUEUE_EXECUTOR else f"in {origin}"
        ctx.note(f"{origin} is not in a git repository: the job runs {where}, not in a snapshot")
    workdir = job_workdir(ctx, run_id) if code == "snapshot" else None
    return Submission(
        spec=request.job_spec(),
        code=code,
        origin=str(origin),
        cwd_relative=snapshot.cwd_relative,
        workdir=None if workdir is None else str(workdir),
        host=this_host(),
        state_dir=str(Path(ctx.settings.home).absolute() / "jobs"),
        ray_address=request.ray_address,
        namespace=request.namespace,
        image=request.image,
    )


def code_mode(request: JobRequest, executor: str, snapshot: CodeSnapshot) -> CodeMode:
    """``image`` for Kubernetes; for a local job, ``in_place`` when asked, outside git, or when
    the tree is clean (the commit *is* the folder); otherwise a ``snapshot`` where one exists."""
    if executor == "kubernetes":
        return "image"
    if not snapshot.recorded:
        return "in_place"
    if executor == "local" and (request.in_place or snapshot.clean):
        return "in_place"
    return "snapshot"


def job_workdir(ctx: JobContext, run_id: str) -> Path:
    """Where a direct job's snapshot is rebuilt: ``<home>/jobs/workdirs/<run id>``."""
    return Path(ctx.settings.home).absolute() / "jobs" / WORKDIRS / run_id


def start_direct_attempt(ctx: JobContext, job: Job, snapshot: CodeSnapshot | None = None) -> Job:
    """Open the next attempt of a direct job (only one caller wins) and submit it."""
    try:
        job = ctx.store.start_attempt(job.run_id, attempt=job.attempts + 1)
    except Conflict:
        return ctx.store.get_job(job.run_id)
    submission = Submission.from_dict(job.spec)
    executor = executor_for(job.executor, submission)
    try:
        cwd = direct_cwd(ctx, job, submission, snapshot)
    except ShipyardError as exc:
        message = f"could not rebuild the job's code: {exc.message}"
        return ctx.store.complete_job(
            job.run_id, attempt=job.attempts, state=JobPhase.FAILED, message=message
        )
    spec = attempt_spec(ctx, submission, job.run_id, cwd)
    return submit_attempt(ctx, job, executor, spec)


def direct_cwd(
    ctx: JobContext, job: Job, submission: Submission, snapshot: CodeSnapshot | None
) -> str | None:
    """The folder a direct job's attempt runs in (rebuilding its snapshot when needed)."""
    if submission.code == "image":
        return None
    if submission.code == "in_place" or submission.workdir is None:
        return submission.origin
    workdir = Path(submission.workdir)
    if is_materialized(workdir):  # a retry reuses the snapshot of the first attempt
        return str(inside(workdir, submission.cwd_relative))
    return str(materialize(snapshot or read_snapshot(ctx.backend, job.run_id), workdir))


def _abandon(ctx: JobContext, run_id: str, job: Job | None, exc: BaseException) -> None:
    """End the run of a submission that failed half way (never hiding the original error)."""
    message = f"the job could not be submitted: {exc}"
    try:
        if job is None:
            ctx.backend.store.update_run(
                run_id,
                status=RunStatus.FAILED,
                end_time=time.time_ns() // 1_000_000,
                error=message,
            )
            return
        job = ctx.store.get_job(run_id)
        if job.state.is_terminal:
            return
        if job.handle is None and job.attempts > len(job.history):
            ctx.store.complete_job(
                run_id, attempt=job.attempts, state=JobPhase.FAILED, message=message
            )
        else:
            ctx.store.request_cancel(run_id)
    except ShipyardError as cleanup:
        ctx.note(f"could not end run {run_id} after a failed submission: {cleanup}")
