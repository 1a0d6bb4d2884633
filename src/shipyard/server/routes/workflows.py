"""Workflow routes: list workflow runs, read one with its jobs, read a job's output, cancel;
and the writes of an engine that runs elsewhere and records on the hub.

The hub never runs workflows itself: the engine (the CLI, ``shipyard ci run`` in a CI runner, or
the workflow daemon that ``shipyard server`` starts) runs them and records their state. An
engine pointed at the hub (``SHIPYARD_TRACKING_URI=http://hub``) records a workflow run
(``POST /workflow-runs``, write access to its project), moves it and its jobs forward, and asks
the hub for its step cache (``/workflow-jobs/cached``, ``/workflow-jobs/previous``). Cancelling
sets a flag the engine polls.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from shipyard.api import workflows as api
from shipyard.api.workflows import (
    LogLines,
    WorkflowJobFound,
    WorkflowJobOut,
    WorkflowJobPatch,
    WorkflowRunCreate,
    WorkflowRunList,
    WorkflowRunOut,
    WorkflowStatusIn,
)
from shipyard.domain.workflows import StepStatus, TriggerEvent
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, ShipyardError
from shipyard.server._deps import errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, ProjectOf, by_query, rule
from shipyard.server.audit import audit
from shipyard.server.routes.projects import grant_creator
from shipyard.store.workflows import WorkflowStore

router = APIRouter(tags=["workflows"])
LOG_PATH = "workflow/output.log"  # where the engine stores a job's output (shipyard.workflows)
MAX_LOG_BYTES = 16 << 20


def get_workflows(request: Request) -> WorkflowStore:
    """The app's metadata store, as a workflow store."""
    store = request.app.state.store
    if not isinstance(store, WorkflowStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) does not keep workflows",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


Workflows = Annotated[WorkflowStore, Depends(get_workflows)]


def by_workflow_run(param: str = "workflow_run_id") -> ProjectOf:
    """The project of the workflow run whose id is a path parameter (``NotFound`` if none)."""

    def find(request: Request) -> str:
        run_id = str(request.path_params[param])
        return get_workflows(request).get_workflow_run(run_id).project

    return find


@router.get(
    api.WORKFLOW_RUNS,
    response_model=WorkflowRunList,
    responses=errors(),
    summary="List workflow runs",
    description="Workflow runs newest first (without their jobs), optionally of one project or "
    "one workflow name; only projects the caller may see.",
    dependencies=[rule(Need.USER)],
)
def list_workflow_runs(
    workflows: Workflows,
    caller: CallerDep,
    project: str | None = None,
    name: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """List workflow runs."""
    found = workflows.list_workflow_runs(project=project, name=name, limit=limit)
    visible = [WorkflowRunOut.of(run) for run in found if caller.sees(run.project)]
    return json_response(WorkflowRunList(workflow_runs=visible))


@router.get(
    api.WORKFLOW_RUN,
    response_model=WorkflowRunOut,
    responses=errors(404),
    summary="Read a workflow run",
    description="A workflow run with its jobs: status, tracked run, cache key, why each job ran "
    "or was skipped, outputs.",
    dependencies=[rule(Need.READ, project=by_workflow_run())],
)
def get_workflow_run(workflow_run_id: str, workflows: Workflows) -> Response:
    """Read a workflow run and its jobs."""
    out = WorkflowRunOut.of(workflows.get_workflow_run(workflow_run_id))
    out.jobs = [WorkflowJobOut.of(job) for job in workflows.list_workflow_jobs(workflow_run_id)]
    return json_response(out)


@router.post(
    api.WORKFLOW_RUN_CANCEL,
    response_model=WorkflowRunOut,
    responses=errors(404),
    summary="Cancel a workflow run",
    description="Ask the engine running it to stop its jobs (a pending run ends CANCELLED at "
    "once); a no-op for a run that has ended.",
    dependencies=[rule(Need.WRITE, project=by_workflow_run())],
)
def cancel_workflow_run(workflow_run_id: str, workflows: Workflows, request: Request) -> Response:
    """Request cancellation."""
    before = workflows.get_workflow_run(workflow_run_id)
    after = workflows.request_workflow_cancel(workflow_run_id)
    audit(
        request,
        "workflow.cancel",
        f"workflow-run:{workflow_run_id}",
        before={"status": before.status.value},
        after={"status": after.status.value, "cancel_requested": after.cancel_requested},
    )
    return json_response(WorkflowRunOut.of(after))


@router.get(
    api.WORKFLOW_JOB_LOGS,
    response_model=LogLines,
    responses=errors(404),
    summary="Read a job's output",
    description="The output lines of a workflow job that ran (stored when it ended). 404 for a "
    "job still running, a gate, a promotion or a job that did not run.",
    dependencies=[rule(Need.READ, project=by_workflow_run())],
)
def job_logs(workflow_run_id: str, job: str, workflows: Workflows, request: Request) -> Response:
    """Read a job's stored output."""
    found = [j for j in workflows.list_workflow_jobs(workflow_run_id) if j.name == job]
    if not found:
        raise NotFound(
            f"workflow run {workflow_run_id} has no job {job!r}", hint="read the run for its jobs"
        )
    if found[0].run_id is None or found[0].status is StepStatus.RUNNING:
        raise NotFound(
            f"job {job!r} has no stored output ({found[0].status.value.lower()})",
            hint="output is stored when a job that runs a command ends",
        )
    artifact = request.app.state.store.get_artifact(found[0].run_id, LOG_PATH)
    data = bytearray()
    for chunk in request.app.state.artifacts.open(artifact.sha256):
        data += chunk
        if len(data) >= MAX_LOG_BYTES:  # the last lines are what people want: keep the tail
            del data[: len(data) - MAX_LOG_BYTES]
    return json_response(LogLines(lines=data.decode("utf-8", "replace").splitlines()))


# -- writes of an engine that records on the hub ------------------------------------------------


@router.post(
    api.WORKFLOW_RUNS,
    response_model=WorkflowRunOut,
    status_code=201,
    responses=errors(400, 404),
    summary="Record a new workflow run",
    description="Record a PENDING workflow run with a PENDING row per job, for an engine that "
    "runs the jobs elsewhere (`shipyard ci run` against the hub). Needs write access to the "
    "project (created, with the caller as its admin, when missing). `retry_of` names an ended "
    "run of the same project. Audited.",
    dependencies=[rule(Need.USER)],
)
def create_workflow_run(
    body: WorkflowRunCreate, workflows: Workflows, caller: CallerDep, request: Request
) -> Response:
    """Record a workflow run and its pending jobs."""
    trigger = _trigger(body.trigger)
    if body.retry_of is not None:
        _check_retry_of(workflows, body.retry_of, body.project)
    new_project = _ensure_project(request, caller, body.project)
    made = workflows.create_workflow_run(
        name=body.name, project=body.project, jobs=body.jobs, path=body.path, spec=body.spec,
        commit=body.commit, params=body.params, trigger=trigger,
        user=caller.user if _auth_on(request) else body.user, retry_of=body.retry_of,
    )  # fmt: skip
    if new_project:
        grant_creator(request, caller, body.project)
    started = {"name": made.name, "project": made.project, "retry_of": made.retry_of}
    audit(request, "workflow.start", f"workflow-run:{made.id}", after=started)
    out = WorkflowRunOut.of(made)
    out.jobs = [WorkflowJobOut.of(job) for job in workflows.list_workflow_jobs(made.id)]
    return json_response(out, status_code=201)


@router.post(
    api.WORKFLOW_RUN_STATUS,
    response_model=WorkflowRunOut,
    responses=errors(400, 404, 409),
    summary="Move a workflow run forward",
    description="Set a workflow run's status (RUNNING, then SUCCEEDED, FAILED or CANCELLED with a "
    "message); 409 when it has already ended. Audited.",
    dependencies=[rule(Need.WRITE, project=by_workflow_run())],
)
def set_workflow_status(
    workflow_run_id: str, body: WorkflowStatusIn, workflows: Workflows, request: Request
) -> Response:
    """Change a workflow run's status."""
    before = workflows.get_workflow_run(workflow_run_id)
    after = workflows.set_workflow_status(workflow_run_id, body.status, message=body.message)
    audit(request, "workflow.status", f"workflow-run:{workflow_run_id}",
          before={"status": before.status.value},
          after={"status": after.status.value, "message": after.message[:500]})  # fmt: skip
    return json_response(WorkflowRunOut.of(after))


@router.patch(
    api.WORKFLOW_JOB,
    response_model=WorkflowJobOut,
    responses=errors(400, 404),
    summary="Update a job of a workflow run",
    description="Change the given fields of one job (status, its tracked run, cache key, why it "
    "ran, message, outputs, fingerprint); fields left out are kept. A run of another project is "
    "refused.",
    dependencies=[rule(Need.WRITE, project=by_workflow_run())],
)
def update_workflow_job(
    workflow_run_id: str, job: str, body: WorkflowJobPatch, workflows: Workflows, request: Request
) -> Response:
    """Change a job's fields."""
    if body.run_id is not None:
        _check_job_run(request, workflows.get_workflow_run(workflow_run_id).project, body.run_id)
    updated = workflows.update_workflow_job(
        workflow_run_id, job, status=body.status, run_id=body.run_id, cache_key=body.cache_key,
        reason=body.reason, message=body.message, outputs=body.outputs,
        fingerprint=body.fingerprint, attempt=body.attempt,
    )  # fmt: skip
    return json_response(WorkflowJobOut.of(updated))


@router.get(
    api.WORKFLOW_CACHED_JOB,
    response_model=WorkflowJobFound,
    responses=errors(400, 404),
    summary="Look up the step cache",
    description="The newest job of `project` that ran and succeeded with `cache_key` (its run "
    "and outputs can be reused), or `job: null`.",
    dependencies=[rule(Need.READ, project=by_query("project"))],
)
def find_cached_job(
    workflows: Workflows,
    project: Annotated[str, Query(min_length=1, max_length=256)],
    cache_key: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """The cached job for a key."""
    found = workflows.find_cached_job(project, cache_key)
    return json_response(WorkflowJobFound(job=None if found is None else WorkflowJobOut.of(found)))


@router.get(
    api.WORKFLOW_PREVIOUS_JOB,
    response_model=WorkflowJobFound,
    responses=errors(400, 404),
    summary="Find a job's last success",
    description="The newest job `job` of workflow `workflow` in `project` that ran or was "
    "reused successfully (to tell why a job runs again), or `job: null`.",
    dependencies=[rule(Need.READ, project=by_query("project"))],
)
def find_previous_job(
    workflows: Workflows,
    project: Annotated[str, Query(min_length=1, max_length=256)],
    workflow: Annotated[str, Query(min_length=1, max_length=256)],
    job: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    """The previous successful job of that name."""
    found = workflows.find_previous_job(project, workflow, job)
    return json_response(WorkflowJobFound(job=None if found is None else WorkflowJobOut.of(found)))


def _auth_on(request: Request) -> bool:
    return getattr(request.app.state, "auth", None) is not None


def _trigger(data: dict[str, Any] | None) -> TriggerEvent | None:
    if data is None:
        return None
    try:
        return TriggerEvent.from_dict(data)
    except (TypeError, ValueError, AttributeError):
        raise InvalidArgument(
            "invalid trigger event", hint="send what TriggerEvent.to_dict() writes"
        ) from None


def _check_retry_of(workflows: WorkflowStore, retry_of: str, project: str) -> None:
    try:
        old = workflows.get_workflow_run(retry_of)
    except NotFound:
        old = None
    if old is None or old.project != project:
        raise InvalidArgument(
            f"retry_of {retry_of!r} is not a workflow run of project {project!r}",
            hint="retry a run of the same project: shipyard workflow runs --project NAME",
        )


def _ensure_project(request: Request, caller: Caller, project: str) -> bool:
    """Require write access to ``project``, creating it when missing; whether it is new."""
    store = request.app.state.store
    try:
        store.get_project(project)
    except NotFound:
        try:
            store.create_project(project)
            return True
        except AlreadyExists:  # created meanwhile: check the caller's role in it
            pass
    caller.require(project, Need.WRITE)
    return False


def _check_job_run(request: Request, project: str, run_id: str) -> None:
    """Refuse a run of another project (its output would then be readable through the job)."""
    try:
        found = request.app.state.store.get_run(run_id).project
    except NotFound:
        return  # nothing to read through it
    if found != project:
        raise InvalidArgument(
            f"run {run_id!r} is not a run of project {project!r}",
            hint="a job's run is created in its workflow run's project",
        )
