""":class:`HttpJobStore`: the JobStore protocol over a Shipyard server's REST API.

It shares the connection, headers and error translation of an :class:`HttpRunStore`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
from shipyard.api.routes import url
from shipyard.domain.jobs import Job, JobPhase, validate_agent_name, validate_queue_name
from shipyard.sdk._http_store import HttpRunStore, wire

NO_CONTENT = 204


class HttpJobStore:
    """The :class:`~shipyard.store.jobs.JobStore` protocol over HTTP.

    Example::

        jobs = HttpJobStore(HttpRunStore("http://127.0.0.1:8080"))
        job = jobs.claim_job("gpu-box", agent="box-1", lease_s=30)
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def create_job(
        self,
        run_id: str,
        *,
        executor: str,
        spec: Mapping[str, Any],
        max_retries: int = 0,
        queue: str | None = None,
    ) -> Job:
        """Record the job of an existing run (see ``JobStore``)."""
        if queue is not None:
            validate_queue_name(queue)
        body = wire(
            JobCreate,
            run_id=run_id,
            executor=executor,
            spec=dict(spec),
            max_retries=max_retries,
            queue=queue,
        )
        return self._send("POST", api.JOBS, body)

    def get_job(self, run_id: str) -> Job:
        """The job of a run. Raises ``NotFound``."""
        response = self._http.request("GET", url(api.JOB, run_id=run_id))
        return JobOut.model_validate_json(response.content).to_domain()

    def list_jobs(
        self,
        *,
        queue: str | None = None,
        states: Sequence[JobPhase] = (),
        run_id_prefix: str | None = None,
        limit: int = 100,
    ) -> Sequence[Job]:
        """Jobs newest first, filtered by queue, states and run id prefix."""
        params: dict[str, Any] = {"limit": limit}
        if queue is not None:
            params["queue"] = queue
        if states:
            params["state"] = [JobPhase(s).value for s in states]
        if run_id_prefix:
            params["prefix"] = run_id_prefix
        response = self._http.request("GET", api.JOBS, params=params)
        return [job.to_domain() for job in JobList.model_validate_json(response.content).jobs]

    def start_attempt(self, run_id: str, *, attempt: int, handle: str | None = None) -> Job:
        """Open the next attempt of a direct job. Raises ``Conflict`` when it moved on."""
        body = wire(AttemptStart, attempt=attempt, handle=handle)
        return self._send("POST", url(api.JOB_ATTEMPTS, run_id=run_id), body)

    def claim_job(self, queue: str, *, agent: str, lease_s: float) -> Job | None:
        """The oldest queued job of ``queue``, now held by ``agent``; ``None`` when none waits."""
        validate_queue_name(queue)
        validate_agent_name(agent)
        body = wire(ClaimRequest, agent=agent, lease_s=lease_s)
        response = self._http.request("POST", url(api.QUEUE_CLAIM, queue=queue), body=body)
        if response.status_code == NO_CONTENT:
            return None
        return JobOut.model_validate_json(response.content).to_domain()

    def heartbeat(
        self,
        run_id: str,
        *,
        attempt: int,
        agent: str | None = None,
        state: JobPhase | None = None,
        handle: str | None = None,
    ) -> Job:
        """Renew the lease of ``attempt``. Raises ``Conflict`` when it is no longer current."""
        body = wire(HeartbeatRequest, attempt=attempt, agent=agent, state=state, handle=handle)
        return self._send("POST", url(api.JOB_HEARTBEAT, run_id=run_id), body)

    def complete_job(
        self,
        run_id: str,
        *,
        attempt: int,
        state: JobPhase,
        agent: str | None = None,
        exit_code: int | None = None,
        message: str = "",
    ) -> Job:
        """End ``attempt`` in ``state``. Raises ``Conflict`` when someone else completed it."""
        body = wire(
            CompleteRequest,
            attempt=attempt,
            state=state,
            agent=agent,
            exit_code=exit_code,
            message=message,
        )
        return self._send("POST", url(api.JOB_COMPLETE, run_id=run_id), body)

    def request_cancel(self, run_id: str) -> Job:
        """Cancel a queued job now, or ask whoever runs it to stop."""
        response = self._http.request("POST", url(api.JOB_CANCEL, run_id=run_id))
        return JobOut.model_validate_json(response.content).to_domain()

    def _send(self, method: str, path: str, body: Any) -> Job:
        response = self._http.request(method, path, body=body)
        return JobOut.model_validate_json(response.content).to_domain()
