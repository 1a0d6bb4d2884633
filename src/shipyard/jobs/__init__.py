"""Jobs: commands run as tracked runs by an executor, directly or through a queue and its agents.

Rule: a job *is* a run. This layer pairs the SDK (runs, artifacts, captured environments) with
the executors (processes, Ray, Kubernetes) and keeps the job's state in the job store (the jobs
table of the hub or the embedded store); executors run commands, they never track them.

* :class:`JobService` (``shipyard jobs``): submit a :class:`JobRequest`, list, read, follow the
  output of and cancel jobs. Reading a direct job refreshes it from its executor.
* :func:`submit_job`: the one-call submission other layers (sweeps) use.
* :class:`Agent` (``shipyard agent``): runs the jobs of a queue on this machine.

A job runs its command with ``SHIPYARD_RUN_ID`` and the tracking settings in its environment, so
``shipyard.start_run()`` inside it continues the job's run (every rank of a multi-worker job gets
them; rank 0 owns the run by convention). A failed or lost attempt is retried in the same run,
whose tag ``shipyard.job.attempt`` counts attempts; each attempt's output is kept under
``.shipyard/attempts/N/output.log`` and the last one as ``.shipyard/output.log``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported on first use: ``python -m shipyard.jobs._tether`` must start fast
    from shipyard.domain.jobs import Job, JobAttempt, JobPhase, parse_duration
    from shipyard.jobs.agent import Agent, AgentOptions, run_agent
    from shipyard.jobs.request import JobRequest
    from shipyard.jobs.service import JobService, open_job_store
    from shipyard.settings import Settings

_EXPORTS = {
    "Agent": "shipyard.jobs.agent",
    "AgentOptions": "shipyard.jobs.agent",
    "Job": "shipyard.domain.jobs",
    "JobAttempt": "shipyard.domain.jobs",
    "JobPhase": "shipyard.domain.jobs",
    "JobRequest": "shipyard.jobs.request",
    "JobService": "shipyard.jobs.service",
    "open_job_store": "shipyard.jobs.service",
    "parse_duration": "shipyard.domain.jobs",
    "run_agent": "shipyard.jobs.agent",
}

__all__ = [
    "Agent",
    "AgentOptions",
    "Job",
    "JobAttempt",
    "JobPhase",
    "JobRequest",
    "JobService",
    "open_job_store",
    "parse_duration",
    "run_agent",
    "submit_job",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shipyard.jobs' has no attribute {name!r}")


def submit_job(request: JobRequest, settings: Settings | None = None) -> Job:
    """Submit ``request`` as a job and return it (see :meth:`JobService.submit`).

    Example::

        job = submit_job(JobRequest(["python", "train.py"], executor="ray",
                                    ray_address="http://127.0.0.1:8265", run_id=trial_run_id))
    """
    from shipyard.jobs.service import JobService

    with JobService(settings) as jobs:
        return jobs.submit(request)
