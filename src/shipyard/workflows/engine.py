"""The DAG engine: start each job once every job it needs succeeded, in parallel threads.

A job that fails (or is cancelled) makes its dependents ``SKIPPED``; other branches go on. The
engine polls the store for a cancel request (``shipyard workflow cancel``, the hub) and then
stops running jobs through their executor and starts nothing new. While it runs it records a
heartbeat every ``ctx.heartbeat_s`` seconds; a run silent for ``LOST_AFTER_S`` is ended
``FAILED`` by :func:`fail_lost_runs` (its process died), and an engine that finds its run ended
that way stops like a cancelled one. The workflow run ends
``SUCCEEDED`` when every job succeeded or was cached, ``CANCELLED`` when cancelled, else
``FAILED`` with the first failure's message.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time

from shipyard.domain.workflows import StepStatus, WorkflowJob, WorkflowStatus
from shipyard.errors import Conflict, ShipyardError
from shipyard.store.workflows import LostRunReaper
from shipyard.workflows._context import RunContext
from shipyard.workflows._steps import run_step
from shipyard.workflows.gates import run_gate, run_promote
from shipyard.workflows.spec import Step

log = logging.getLogger(__name__)
DEFAULT_PARALLEL = 4
LOST_AFTER_S = 300.0
"""A RUNNING workflow run whose engine sent no heartbeat for this long is taken as lost."""


def execute(ctx: RunContext, *, parallel: int = DEFAULT_PARALLEL) -> WorkflowStatus:
    """Run every job of ``ctx.run`` to an end and record the workflow run's final status."""
    try:
        ctx.store.set_workflow_status(ctx.run.id, WorkflowStatus.RUNNING)
    except Conflict:  # cancelled before it started
        return ctx.store.get_workflow_run(ctx.run.id).status
    ctx.beat_at = time.monotonic()
    done: dict[str, WorkflowJob] = {}
    running: dict[cf.Future[WorkflowJob], str] = {}
    with cf.ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="wf") as pool:
        while True:
            _check_cancel(ctx)
            _settle_blocked(ctx, done, running)
            for step in _ready(ctx, done, running):
                ctx.store.update_workflow_job(ctx.run.id, step.name, status=StepStatus.RUNNING)
                running[pool.submit(_run_job, ctx, step, dict(done))] = step.name
            if not running:
                break
            finished, _ = cf.wait(running, timeout=ctx.poll_s, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                done[running.pop(future)] = future.result()
    return _finish(ctx, done)


def _run_job(ctx: RunContext, step: Step, done: dict[str, WorkflowJob]) -> WorkflowJob:
    """One job, whatever its kind; an error fails the job (never the engine)."""
    try:
        reused = ctx.reuse.get(step.name)
        if reused is not None:
            return ctx.store.update_workflow_job(
                ctx.run.id, step.name, status=StepStatus.CACHED, run_id=reused.run_id,
                cache_key=reused.cache_key, outputs=reused.outputs, fingerprint=reused.fingerprint,
                message=reused.message,
                reason=f"reused: succeeded in workflow run {reused.workflow_run_id}",
            )  # fmt: skip
        if step.gate is not None:
            return run_gate(ctx, step, done)
        if step.promote is not None:
            return run_promote(ctx, step, done)
        return run_step(ctx, step, done)
    except Exception as exc:
        message = exc.message if isinstance(exc, ShipyardError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ShipyardError):
            log.exception("workflow job %s failed unexpectedly", step.name)
        return ctx.store.update_workflow_job(
            ctx.run.id, step.name, status=StepStatus.FAILED, message=message
        )


def _ready(
    ctx: RunContext, done: dict[str, WorkflowJob], running: dict[cf.Future[WorkflowJob], str]
) -> list[Step]:
    if ctx.cancel.is_set():
        return []
    started = set(done) | set(running.values())
    return [
        step
        for name, step in ctx.workflow.jobs.items()
        if name not in started and all(n in done and done[n].status.is_success for n in step.needs)
    ]


def _settle_blocked(
    ctx: RunContext, done: dict[str, WorkflowJob], running: dict[cf.Future[WorkflowJob], str]
) -> None:
    """Skip jobs whose needs failed; cancel the ones not started once cancel was asked."""
    started = set(running.values())
    for name, step in ctx.workflow.jobs.items():
        if name in done or name in started:
            continue
        if ctx.cancel.is_set():
            done[name] = ctx.store.update_workflow_job(
                ctx.run.id, name, status=StepStatus.CANCELLED, reason="cancelled before it started"
            )
            continue
        bad = [n for n in step.needs if n in done and not done[n].status.is_success]
        if bad:
            what = f"{bad[0]} {done[bad[0]].status.value.lower()}"
            done[name] = ctx.store.update_workflow_job(
                ctx.run.id, name, status=StepStatus.SKIPPED, reason=f"skipped: {what}"
            )


def _check_cancel(ctx: RunContext) -> None:
    """Stop on a cancel request, or when the run was ended meanwhile (declared lost); else send
    the heartbeat when it is due."""
    if ctx.cancel.is_set():
        return
    run = ctx.store.get_workflow_run(ctx.run.id)
    if run.cancel_requested or run.status.is_terminal:
        ctx.cancel.set()
        return
    if time.monotonic() - ctx.beat_at >= ctx.heartbeat_s:
        ctx.beat_at = time.monotonic()
        try:
            ctx.store.set_workflow_status(ctx.run.id, WorkflowStatus.RUNNING)
        except Conflict:
            ctx.cancel.set()


def fail_lost_runs(store: object, lost_after_s: float = LOST_AFTER_S) -> list[str]:
    """End the workflow runs whose engine went silent (see the module docstring); a store that
    cannot (the HTTP client: the hub does it) ends none."""
    if not isinstance(store, LostRunReaper):
        return []
    lost = store.fail_lost_workflow_runs(int(lost_after_s * 1000))
    for run_id in lost:
        log.warning("workflow run %s: its runner stopped; ended FAILED", run_id)
    return lost


def _finish(ctx: RunContext, done: dict[str, WorkflowJob]) -> WorkflowStatus:
    failed = [job for job in done.values() if job.status is StepStatus.FAILED]
    if ctx.cancel.is_set():
        status, message = WorkflowStatus.CANCELLED, "cancelled"
    elif failed:
        first = failed[0]
        status, message = WorkflowStatus.FAILED, f"job {first.name!r} failed: {first.message}"
    else:
        status, message = WorkflowStatus.SUCCEEDED, ""
    try:
        ctx.store.set_workflow_status(ctx.run.id, status, message=message)
    except Conflict:  # ended meanwhile (cancelled while pending): keep what is recorded
        return ctx.store.get_workflow_run(ctx.run.id).status
    return status
