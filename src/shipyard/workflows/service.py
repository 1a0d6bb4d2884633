"""Starting, retrying, cancelling and following workflow runs (the engine's front door).

No SDK here: the jobs' runs are created in the store and their commands run through
:mod:`shipyard.executors`; a job's script logs into its run through the ``SHIPYARD_*`` variables
it is given. The hub's workflow daemon and the CLI both call these functions.

Example::

    info = start_workflow(store, artifacts, Path(".shipyard/workflows/train.yaml"),
                          params={"lr": 0.02}, settings=settings, wait=True)
    print(info.status, [(job.name, job.reason) for job in info.jobs])
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.workflows import (
    StepStatus,
    TriggerEvent,
    WorkflowJob,
    WorkflowRun,
    WorkflowStatus,
)
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.executors import open_executor
from shipyard.executors.base import Executor
from shipyard.settings import Settings
from shipyard.workflows import cache
from shipyard.workflows._context import RunContext
from shipyard.workflows._steps import LOG_PATH
from shipyard.workflows._stores import EngineStore
from shipyard.workflows.engine import DEFAULT_PARALLEL, execute
from shipyard.workflows.spec import Workflow, load_workflow, parse_workflow

_GIT_TIMEOUT_S = 30
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkflowRunInfo:
    """A workflow run and its jobs, as recorded when this was read."""

    run: WorkflowRun
    jobs: tuple[WorkflowJob, ...]

    @property
    def id(self) -> str:
        """The workflow run's id."""
        return self.run.id

    @property
    def status(self) -> WorkflowStatus:
        """The workflow run's status."""
        return self.run.status

    def job(self, name: str) -> WorkflowJob:
        """One job by name. Raises ``NotFound``."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise NotFound(f"workflow run {self.id} has no job {name!r}", hint="see its jobs")


def start_workflow(
    store: EngineStore,
    artifacts: ArtifactStore,
    path: Path,
    *,
    params: Mapping[str, Any] | None = None,
    trigger: TriggerEvent | None = None,
    workdir: Path | None = None,
    no_cache: bool = False,
    executor: str | Executor = "local",
    wait: bool = False,
    settings: Settings | None = None,
    project: str | None = None,
    parallel: int = DEFAULT_PARALLEL,
    ray_address: str | None = None,
) -> WorkflowRunInfo:
    """Run the workflow file at ``path``: record a workflow run and execute its jobs.

    Args:
        params: overrides of the workflow's ``params`` (unknown names raise ``InvalidArgument``).
        trigger: what started it (recorded; ``None`` for a manual run).
        workdir: where the commands run (default: the repository holding
            ``.shipyard/workflows/``, else the file's folder).
        no_cache: run every job even when an earlier result could be reused.
        executor: ``"local"``, ``"ray"`` (with ``ray_address``) or an :class:`Executor`.
        wait: block until the run ends; otherwise it runs in a background thread (the process
            must live until it ends) and the info returned is the ``PENDING`` run.
        settings: the tracking settings the jobs' scripts get (default: ``Settings()``).
        project: the project (default: the workflow's ``project:``, else ``settings.project``).
    """
    workflow = load_workflow(Path(path))
    settings = settings or Settings()
    folder = _workdir(Path(path), workdir)
    values = workflow.with_params(dict(params or {}))
    record = store.create_workflow_run(
        name=workflow.name,
        project=project or workflow.project or settings.project,
        jobs=list(workflow.jobs),
        path=str(Path(path).resolve()),
        spec=workflow.text,
        commit=git_commit(folder),
        params=values,
        trigger=trigger,
        user=settings.user,
    )
    return _launch(
        store, artifacts, workflow, record, folder, settings, executor,
        no_cache=no_cache, wait=wait, parallel=parallel, ray_address=ray_address,
    )  # fmt: skip


def retry_workflow(
    store: EngineStore,
    artifacts: ArtifactStore,
    workflow_run_id: str,
    *,
    workdir: Path | None = None,
    no_cache: bool = False,
    executor: str | Executor = "local",
    wait: bool = False,
    settings: Settings | None = None,
    parallel: int = DEFAULT_PARALLEL,
    ray_address: str | None = None,
) -> WorkflowRunInfo:
    """Resume an ended workflow run from its failed jobs: a new workflow run (``retry_of``)
    with the same spec and params that reuses every job that succeeded and runs the rest."""
    old = store.get_workflow_run(workflow_run_id)
    if not old.status.is_terminal:
        raise InvalidArgument(
            f"workflow run {old.id} is still {old.status.value}",
            hint="wait for it to end, or cancel it: shipyard workflow cancel ID",
        )
    if old.status is WorkflowStatus.SUCCEEDED:
        raise InvalidArgument(
            f"workflow run {old.id} succeeded: nothing to retry",
            hint="start it again: shipyard workflow run FILE",
        )
    settings = settings or Settings()
    workflow = parse_workflow(old.spec, source=old.path or old.name, default_name=old.name)
    folder = _workdir(Path(old.path), workdir) if old.path else Path(workdir or Path.cwd())
    reuse = {j.name: j for j in store.list_workflow_jobs(old.id) if j.status.is_success}
    record = store.create_workflow_run(
        name=old.name, project=old.project, jobs=list(workflow.jobs), path=old.path,
        spec=old.spec, commit=git_commit(folder), params=old.params, trigger=old.trigger,
        user=settings.user, retry_of=old.id,
    )  # fmt: skip
    return _launch(
        store, artifacts, workflow, record, folder, settings, executor, no_cache=no_cache,
        wait=wait, parallel=parallel, ray_address=ray_address, reuse=reuse,
    )  # fmt: skip


def cancel_workflow(store: EngineStore, workflow_run_id: str) -> WorkflowRun:
    """Ask the engine running it to stop (a pending run ends at once)."""
    return store.request_workflow_cancel(workflow_run_id)


def get_workflow(store: EngineStore, workflow_run_id: str) -> WorkflowRunInfo:
    """A workflow run with its jobs. Raises ``NotFound``."""
    run = store.get_workflow_run(workflow_run_id)
    return WorkflowRunInfo(run, tuple(store.list_workflow_jobs(run.id)))


def wait_workflow(
    store: EngineStore, workflow_run_id: str, timeout: float | None = None, poll_s: float = 0.2
) -> WorkflowRunInfo:
    """Block until the workflow run ends (or ``timeout`` seconds passed); return it."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        info = get_workflow(store, workflow_run_id)
        if info.status.is_terminal or (deadline is not None and time.monotonic() >= deadline):
            return info
        time.sleep(poll_s)


def job_logs(
    store: EngineStore, artifacts: ArtifactStore, workflow_run_id: str, job: str
) -> Iterator[str]:
    """The output lines of a job that ran (from its run's ``workflow/output.log``)."""
    found = get_workflow(store, workflow_run_id).job(job)
    if found.run_id is None or found.status is StepStatus.RUNNING:
        raise NotFound(
            f"job {job!r} of workflow run {workflow_run_id} has no stored output "
            f"({found.status.value.lower()})",
            hint="logs are stored when a run job ends; gates and promotions have none",
        )
    artifact = store.get_artifact(found.run_id, LOG_PATH)
    buffer = b"".join(artifacts.open(artifact.sha256))
    yield from buffer.decode("utf-8", "replace").splitlines()


def default_workdir(path: Path) -> Path:
    """The repository root for ``REPO/.shipyard/workflows/FILE``, else the file's folder."""
    folder = Path(path).resolve().parent
    if folder.name == "workflows" and folder.parent.name == ".shipyard":
        return folder.parent.parent
    return folder


def git_commit(folder: Path) -> str:
    """The commit checked out in ``folder`` ("" outside git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _workdir(path: Path, workdir: Path | None) -> Path:
    folder = Path(workdir).resolve() if workdir is not None else default_workdir(path)
    if not folder.is_dir():
        raise InvalidArgument(
            f"the workflow's working folder {folder} does not exist",
            hint="pass --workdir with the repository the jobs run in",
        )
    return folder


def _launch(
    store: EngineStore,
    artifacts: ArtifactStore,
    workflow: Workflow,
    record: WorkflowRun,
    folder: Path,
    settings: Settings,
    executor: str | Executor,
    *,
    no_cache: bool,
    wait: bool,
    parallel: int,
    ray_address: str | None,
    reuse: Mapping[str, WorkflowJob] | None = None,
) -> WorkflowRunInfo:
    try:
        runner = (
            open_executor(
                executor,
                state_dir=Path(settings.home).absolute() / "jobs",
                ray_address=ray_address,
            )
            if isinstance(executor, str)
            else executor
        )
        ctx = RunContext(
            store=store, artifacts=artifacts, executor=runner, workflow=workflow, run=record,
            params=record.params, workdir=folder, settings=settings,
            code=cache.code_fingerprint(folder, skip=Path(settings.home)),
            environment=cache.environment_fingerprint(folder),
            no_cache=no_cache, reuse=dict(reuse or {}),
        )  # fmt: skip
    except Exception as exc:
        store.set_workflow_status(record.id, WorkflowStatus.FAILED, message=str(exc))
        raise
    if wait:
        _execute_safely(ctx, parallel)
        return get_workflow(store, record.id)
    thread = threading.Thread(
        target=_execute_safely, args=(ctx, parallel), name=f"workflow-{record.id}"
    )
    thread.start()
    return get_workflow(store, record.id)


def _execute_safely(ctx: RunContext, parallel: int) -> None:
    """Run the engine; an unexpected error ends the workflow run ``FAILED`` (never left
    ``RUNNING`` by a crashed engine thread)."""
    try:
        execute(ctx, parallel=parallel)
    except Exception as exc:
        log.exception("workflow run %s: the engine failed", ctx.run.id)
        message = f"the engine failed: {type(exc).__name__}: {exc}"
        with contextlib.suppress(ShipyardError):
            ctx.store.set_workflow_status(ctx.run.id, WorkflowStatus.FAILED, message=message)
