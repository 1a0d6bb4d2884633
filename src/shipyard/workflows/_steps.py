"""Running one ``run:`` job: the step cache, its tracked run, the executor, logs, outputs."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.domain.datasets import DATASET_KIND
from shipyard.domain.entities import Artifact, RunInput, RunStatus
from shipyard.domain.models import MODEL_KIND
from shipyard.domain.workflows import StepStatus, WorkflowJob
from shipyard.errors import NotFound
from shipyard.executors.base import JobHandle, JobSpec, JobState, JobStatus
from shipyard.workflows import cache
from shipyard.workflows._context import RunContext, tracking_env
from shipyard.workflows.spec import OutputDecl, Step

LOG_PATH = "workflow/output.log"
TAG_WORKFLOW_RUN = "shipyard.workflow.run_id"
TAG_WORKFLOW = "shipyard.workflow.name"
TAG_JOB = "shipyard.workflow.job"
TAG_HANDLE = "shipyard.workflow.handle"
_TAIL_LINES = 5
_PARAM = re.compile(r"\$\{\s*params\.([A-Za-z_][A-Za-z0-9_\-]*)\s*\}")


def run_step(ctx: RunContext, step: Step, done: Mapping[str, WorkflowJob]) -> WorkflowJob:
    """Run (or reuse from the cache) one ``run:`` job whose needs all succeeded."""
    inputs = {name: _input_ref(ref, done) for name, ref in step.inputs.items()}
    record = _fingerprint(ctx, step, inputs)
    key = cache.cache_key(record)
    store, wf_id = ctx.store, ctx.run.id
    hit = _cache_hit(ctx, step, key)
    if hit is not None:
        return store.update_workflow_job(
            wf_id, step.name, status=StepStatus.CACHED, run_id=hit.run_id, cache_key=key,
            outputs=hit.outputs, fingerprint=record,
            reason=f"cached: same inputs as run {hit.run_id}",
        )  # fmt: skip
    reason = _reason(ctx, step, record)
    run = store.create_run(
        ctx.project,
        name=f"{ctx.workflow.name}/{step.name}",
        user=ctx.settings.user,
        params={k: v for k, v in record["params"].items() if v is not None},
        tags={TAG_WORKFLOW_RUN: wf_id, TAG_WORKFLOW: ctx.workflow.name, TAG_JOB: step.name},
    )
    store.update_workflow_job(
        wf_id, step.name, status=StepStatus.RUNNING, run_id=run.id, cache_key=key,
        reason=reason, fingerprint=record,
    )  # fmt: skip
    if inputs:
        store.add_run_inputs(
            run.id, [_lineage(ref, record["inputs"][n]) for n, ref in inputs.items()]
        )
    try:
        status, outputs, message = _execute(ctx, step, run.id, record, inputs)
    except Exception as exc:  # the run must end whatever went wrong
        _end_run(ctx, run.id, StepStatus.FAILED, str(exc))
        raise
    _end_run(ctx, run.id, status, message)
    return store.update_workflow_job(
        wf_id, step.name, status=status, outputs=outputs, message=message
    )


def _execute(
    ctx: RunContext, step: Step, run_id: str, record: Mapping[str, Any], inputs: Mapping[str, str]
) -> tuple[StepStatus, dict[str, str], str]:
    handle = ctx.executor.submit(_job_spec(ctx, step, run_id, record, inputs))
    ctx.store.set_tags(run_id, {TAG_HANDLE: str(handle)})
    final = _wait(ctx, handle)
    tail = _save_logs(ctx, run_id, handle)
    if final.state is JobState.CANCELLED or ctx.cancel.is_set():
        return StepStatus.CANCELLED, {}, "cancelled"
    if final.state is not JobState.SUCCEEDED:
        return StepStatus.FAILED, {}, _failure(final, tail)
    try:
        outputs = {name: _resolve_output(ctx, run_id, step.name, name, decl)
                   for name, decl in step.outputs.items()}  # fmt: skip
    except NotFound as exc:
        return StepStatus.FAILED, {}, f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    return StepStatus.SUCCEEDED, outputs, ""


def _job_spec(
    ctx: RunContext, step: Step, run_id: str, record: Mapping[str, Any], inputs: Mapping[str, str]
) -> JobSpec:
    render = ctx.workflow.render
    env = {f"SHIPYARD_INPUT_{name.upper()}": ref for name, ref in inputs.items()}
    env.update({key: render(value, ctx.params) for key, value in record["env"].items()})
    env.update(tracking_env(ctx.settings, run_id, ctx.project, ctx.workdir))
    res = step.resources
    return JobSpec(
        ["/bin/sh", "-c", render(record["command"], ctx.params)],
        cwd=str(ctx.workdir),
        env=env,
        cpus=res.cpus,
        gpus=res.gpus,
        memory_bytes=res.memory_bytes,
        timeout_s=res.timeout_s,
        name=f"{ctx.workflow.name}/{step.name}",
        labels={"workflow_run": ctx.run.id, "job": step.name},
    )


def _wait(ctx: RunContext, handle: JobHandle) -> JobStatus:
    cancelled = False
    while True:
        status = ctx.executor.wait(handle, timeout=ctx.poll_s)
        if status.state.is_terminal:
            return status
        if ctx.cancel.is_set() and not cancelled:
            ctx.executor.cancel(handle)
            cancelled = True


def _save_logs(ctx: RunContext, run_id: str, handle: JobHandle) -> list[str]:
    """Store the job's output as the run's ``workflow/output.log``; return its last lines."""
    lines = list(ctx.executor.logs(handle))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "output.log"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        blob = ctx.artifacts.put_file(path)
    now = int(time.time() * 1000)
    ctx.store.add_artifacts(run_id, [Artifact(LOG_PATH, blob.size, blob.sha256, "text/plain", now)])
    return lines[-_TAIL_LINES:]


def _failure(status: JobStatus, tail: list[str]) -> str:
    if status.state is JobState.FAILED and status.exit_code is not None:
        text = f"the command failed with exit code {status.exit_code}"
    else:
        text = f"the command ended {status.state.value}: {status.message or 'no details'}"
    return text + ("\n" + "\n".join(tail) if tail else "")


def _end_run(ctx: RunContext, run_id: str, status: StepStatus, message: str) -> None:
    """End the job's run unless its script already did (a failure always wins)."""
    run = ctx.store.get_run(run_id)
    final = {
        StepStatus.SUCCEEDED: RunStatus.FINISHED,
        StepStatus.CANCELLED: RunStatus.KILLED,
    }.get(status, RunStatus.FAILED)
    if run.status is RunStatus.RUNNING or (
        final is not RunStatus.FINISHED and run.status is RunStatus.FINISHED
    ):
        error = None if final is RunStatus.FINISHED else message[:2000]
        end = int(time.time() * 1000)
        ctx.store.update_run(run_id, status=final, end_time=end, error=error)


# -- cache --------------------------------------------------------------------------------------
def _fingerprint(ctx: RunContext, step: Step, inputs: Mapping[str, str]) -> dict[str, Any]:
    wf = ctx.workflow
    assert step.run is not None
    env = {**wf.env, **step.env}
    used = sorted({m for text in (step.run, *env.values()) for m in _PARAM.findall(text)})
    return cache.fingerprint(
        job=step.name,
        command=step.run,  # the template: with the params it uses, it fixes the command
        env=env,
        params={name: ctx.params[name] for name in used},
        outputs={name: f"{d.kind}:{d.name}" for name, d in step.outputs.items()},
        code=ctx.code,
        environment=ctx.environment,
        inputs={name: cache.content_digest(ctx.store, ref) for name, ref in inputs.items()},
    )


def _cache_hit(ctx: RunContext, step: Step, key: str) -> WorkflowJob | None:
    if ctx.no_cache or not step.cache:
        return None
    hit = ctx.store.find_cached_job(ctx.project, key)
    return hit if hit is not None and hit.run_id else None


def _reason(ctx: RunContext, step: Step, record: Mapping[str, Any]) -> str:
    if ctx.no_cache:
        return "ran: --no-cache"
    if not step.cache:
        return "ran: cache: false for this job"
    previous = ctx.store.find_previous_job(ctx.project, ctx.workflow.name, step.name)
    return cache.explain(None if previous is None else previous.fingerprint, record)


# -- inputs and outputs ------------------------------------------------------------------------
def _input_ref(ref: str, done: Mapping[str, WorkflowJob]) -> str:
    job, _, output = ref.split(".", 2)
    value = done[job].outputs.get(output)
    if value is None:
        raise NotFound(
            f"job {job!r} recorded no output {output!r}", hint="retry the workflow with --no-cache"
        )
    return value


def _lineage(ref: str, digest: str) -> RunInput:
    """A job's input as a lineage record of its run (a dataset version or a model version)."""
    if ref.startswith("models:/"):
        name, _, version = ref.removeprefix("models:/").rpartition("/")
        return RunInput(kind=MODEL_KIND, name=name, version=version, digest=digest)
    name, _, version = ref.rpartition("@")
    return RunInput(kind=DATASET_KIND, name=name, version=version, digest=digest)


def _resolve_output(ctx: RunContext, run_id: str, job: str, name: str, decl: OutputDecl) -> str:
    if decl.kind == "dataset":
        versions = [
            int(item.version)
            for item in ctx.store.list_run_inputs(run_id)
            if item.kind == DATASET_KIND and item.direction == "output" and item.name == decl.name
        ]
        if versions:
            return f"{decl.name}@{max(versions)}"
    else:
        try:
            found = [
                v.version for v in ctx.store.list_model_versions(decl.name) if v.run_id == run_id
            ]
        except NotFound:
            found = []
        if found:
            return f"models:/{decl.name}/{max(found)}"
    verb = "log a version of dataset" if decl.kind == "dataset" else "register a version of model"
    raise NotFound(
        f"job {job!r} declares output {name!r} ({decl.kind} {decl.name}) but its run did not "
        f"{verb} {decl.name!r}",
        hint="log it from the job's script with the SDK (run.log_dataset / log_model register_as)",
    )
