"""Job routes: record jobs, list and read them, cancel them, and the agent side of queues (claim,
heartbeat, complete). Leases are checked whenever jobs are claimed, listed or read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from shipyard.api import jobs as api
from shipyard.api.jobs import (
    AttemptStart,
    ClaimRequest,
    CompleteRequest,
    HeartbeatRequest,
    JobCreate,
    JobList,
    JobOut,
)
from shipyard.domain.jobs import Job, JobPhase
from shipyard.errors import ShipyardError
from shipyard.server._deps import errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, by_run, rule
from shipyard.store.base import RunStore, SearchQuery
from shipyard.store.jobs import JobStore

router = APIRouter(tags=["jobs"])

NO_CONTENT = 204


def get_jobs(request: Request) -> JobStore:
    """The app's metadata store, as a job store."""
    store = request.app.state.store
    if not isinstance(store, JobStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) does not keep jobs",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


Jobs = Annotated[JobStore, Depends(get_jobs)]


@router.post(
    api.JOBS,
    response_model=JobOut,
    status_code=201,
    responses=errors(404, 409),
    summary="Record a job",
    description="Record the job of an existing run: QUEUED when it names a queue (an agent "
    "claims it), else PENDING (its submitter runs it). 409 when the run already has a job.",
    dependencies=[rule(Need.USER)],
)
def create_job(body: JobCreate, jobs: Jobs, caller: CallerDep, request: Request) -> Response:
    """Record a job (the caller must be an editor of the run's project)."""
    caller.require(request.app.state.store.get_run(body.run_id).project, Need.WRITE)
    job = jobs.create_job(
        body.run_id,
        executor=body.executor,
        spec=body.spec,
        max_retries=body.max_retries,
        queue=body.queue,
    )
    return json_response(JobOut.of(job), status_code=201)


@router.get(
    api.JOBS,
    response_model=JobList,
    responses=errors(),
    summary="List jobs",
    description="Jobs newest first; filter by queue, states and run id prefix.",
    dependencies=[rule(Need.USER)],
)
def list_jobs(
    jobs: Jobs,
    caller: CallerDep,
    request: Request,
    queue: str | None = None,
    state: Annotated[list[JobPhase] | None, Query()] = None,
    prefix: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """List jobs."""
    found = jobs.list_jobs(queue=queue, states=state or (), run_id_prefix=prefix, limit=limit)
    if not caller.is_admin:
        found = visible_jobs(request.app.state.store, caller, found)
    return json_response(JobList(jobs=[JobOut.of(job) for job in found]))


@router.get(
    api.JOB,
    response_model=JobOut,
    responses=errors(404),
    summary="Read the job of a run",
    description="The job of a run: executor, state, attempts, lease and history.",
    dependencies=[rule(Need.READ, project=by_run())],
)
def get_job(run_id: str, jobs: Jobs) -> Response:
    """Read a job."""
    return json_response(JobOut.of(jobs.get_job(run_id)))


@router.post(
    api.JOB_ATTEMPTS,
    response_model=JobOut,
    responses=errors(404, 409),
    summary="Start the next attempt of a direct job",
    description="409 when another process started or ended the job first.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def start_attempt(run_id: str, body: AttemptStart, jobs: Jobs) -> Response:
    """Record the handle of a direct job's next attempt."""
    job = jobs.start_attempt(run_id, attempt=body.attempt, handle=body.handle)
    return json_response(JobOut.of(job))


@router.post(
    api.JOB_CANCEL,
    response_model=JobOut,
    responses=errors(404),
    summary="Cancel a job",
    description="A queued job is CANCELLED at once; a running one is flagged `cancel_requested` "
    "and whoever runs it stops it. Cancelling an ended job changes nothing.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def cancel_job(run_id: str, jobs: Jobs) -> Response:
    """Cancel a job."""
    return json_response(JobOut.of(jobs.request_cancel(run_id)))


@router.post(
    api.QUEUE_CLAIM,
    response_model=JobOut,
    responses={**errors(), NO_CONTENT: {"description": "No job waits in the queue."}},
    summary="Claim the oldest queued job",
    description="Atomic: one job goes to one agent, with a new attempt and a lease that each "
    "heartbeat renews. 204 when the queue is empty.",
    dependencies=[rule(Need.USER)],
)
def claim_job(queue: str, body: ClaimRequest, jobs: Jobs) -> Response:
    """Claim a job for an agent."""
    job = jobs.claim_job(queue, agent=body.agent, lease_s=body.lease_s)
    if job is None:
        return Response(status_code=NO_CONTENT)
    return json_response(JobOut.of(job))


@router.post(
    api.JOB_HEARTBEAT,
    response_model=JobOut,
    responses=errors(404, 409),
    summary="Renew the lease of an attempt",
    description="409 when the attempt is no longer the job's current one (lease lost, "
    "completed, cancelled): its holder should stop it.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def heartbeat(run_id: str, body: HeartbeatRequest, jobs: Jobs) -> Response:
    """Renew a lease."""
    job = jobs.heartbeat(
        run_id, attempt=body.attempt, agent=body.agent, state=body.state, handle=body.handle
    )
    return json_response(JobOut.of(job))


@router.post(
    api.JOB_COMPLETE,
    response_model=JobOut,
    responses=errors(404, 409),
    summary="Report how an attempt ended",
    description="A failed or lost attempt with retries left makes the job ready again; "
    "otherwise the job and its run end. 409 when someone else completed it.",
    dependencies=[rule(Need.WRITE, project=by_run())],
)
def complete_job(run_id: str, body: CompleteRequest, jobs: Jobs) -> Response:
    """End an attempt."""
    job = jobs.complete_job(
        run_id,
        attempt=body.attempt,
        state=body.state,
        agent=body.agent,
        exit_code=body.exit_code,
        message=body.message,
    )
    return json_response(JobOut.of(job))


def visible_jobs(store: RunStore, caller: Caller, jobs: Sequence[Job]) -> list[Job]:
    """The jobs whose runs are in projects the caller may see."""
    ids = sorted({job.run_id for job in jobs})
    projects: dict[str, str] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        listed = ", ".join(f"'{run_id}'" for run_id in chunk if run_id.isalnum())
        query = SearchQuery(filter=f"id IN ({listed})", limit=len(chunk), include_deleted=True)
        projects.update((run.id, run.project) for run in store.search_runs(query).items)
    return [job for job in jobs if caller.sees(projects.get(job.run_id, ""))]
