"""The job store protocol: the jobs table, its queues, and the leases agents hold.

Contract (checked by ``shipyard.testing.job_contract`` over every backend):

* A job belongs to one existing run (``NotFound`` otherwise; ``AlreadyExists`` for a second job
  of the same run). It starts ``QUEUED`` when it names a queue, else ``PENDING``, with 0 attempts.
* Every transition is atomic and guarded, so that two processes racing on the same job (a CLI
  refreshing it, a watcher, two agents) never both win: ``start_attempt``, ``heartbeat`` and
  ``complete_job`` name the attempt they act on (and the agent, for queued jobs) and raise
  ``Conflict`` when the job has moved on (another attempt, another agent, already ended).
* ``claim_job`` hands one ``QUEUED`` job of a queue to one agent (oldest first): it counts a new
  attempt and starts the agent's lease. A job whose agent sent no heartbeat for longer than its
  lease is ``LOST``; the store checks leases whenever jobs are claimed, listed or read.
* Ending an attempt (``complete_job``, or a lease running out) that ``FAILED`` or was ``LOST``,
  with retries left and no cancel requested, makes the job ready for the next attempt: ``QUEUED``
  again on a queue, else ``PENDING`` without a handle (the caller that completed it submits the
  next attempt). Otherwise the job ends, and the run ends with it in the same transaction: its
  status follows :func:`shipyard.domain.jobs.run_status_of` (a ``SUCCEEDED`` job keeps a status
  the command set itself), its error is the message. A retried job's run is ``RUNNING`` again.
* ``request_cancel`` ends a job that no executor holds (queued, between attempts, or whose handle
  is not recorded yet) as ``CANCELLED`` at once; for one that runs it sets ``cancel_requested``,
  and whoever runs it cancels it and completes it. A submitter whose heartbeat then gets
  ``Conflict`` cancels what it had submitted.
* Times are integer milliseconds since the epoch (UTC). Thread safe, like ``RunStore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard.domain.jobs import Job, JobPhase


@runtime_checkable
class JobStore(Protocol):
    """Where jobs, their attempts and their agents' leases live."""

    def create_job(
        self,
        run_id: str,
        *,
        executor: str,
        spec: Mapping[str, Any],
        max_retries: int = 0,
        queue: str | None = None,
    ) -> Job:
        """Record the job of an existing run (``QUEUED`` on ``queue``, else ``PENDING``).

        Example::

            job = store.create_job(run.id, executor="local", spec={"spec": {...}}, max_retries=1)
        """
        ...

    def get_job(self, run_id: str) -> Job:
        """The job of a run. Raises ``NotFound``."""
        ...

    def list_jobs(
        self,
        *,
        queue: str | None = None,
        states: Sequence[JobPhase] = (),
        run_id_prefix: str | None = None,
        limit: int = 100,
    ) -> Sequence[Job]:
        """Jobs, newest first, optionally of one queue, in some states, or whose run id starts
        with a prefix."""
        ...

    def start_attempt(self, run_id: str, *, attempt: int, handle: str | None = None) -> Job:
        """Open the next attempt (``attempt`` = attempts so far + 1) of a ``PENDING`` job that no
        agent holds, with its handle when already submitted (else a heartbeat records it). Only
        one caller wins; the others get ``Conflict``, so an attempt is submitted once."""
        ...

    def claim_job(self, queue: str, *, agent: str, lease_s: float) -> Job | None:
        """Give the oldest ``QUEUED`` job of ``queue`` to ``agent`` (``None`` when there is none):
        a new attempt, ``PENDING``, its lease starting now."""
        ...

    def heartbeat(
        self,
        run_id: str,
        *,
        attempt: int,
        agent: str | None = None,
        state: JobPhase | None = None,
        handle: str | None = None,
    ) -> Job:
        """Renew the lease of ``attempt`` (held by ``agent``, or by no agent for direct jobs),
        optionally moving it to ``PENDING``/``RUNNING`` and recording its handle. Returns the job
        (``cancel_requested`` tells the agent to stop it). Raises ``Conflict`` when the attempt is
        not the job's current one, the agent no longer holds it, or it has ended."""
        ...

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
        """End ``attempt`` in the terminal ``state``; retry it or end the job and its run (see
        the module docstring). Raises ``Conflict`` when the attempt is not current or has ended
        (someone else completed it), ``InvalidArgument`` for a state that is not terminal."""
        ...

    def request_cancel(self, run_id: str) -> Job:
        """Cancel a queued job now, or ask whoever runs it to stop; a no-op for an ended job."""
        ...
