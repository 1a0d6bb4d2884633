"""The agent: ``shipyard agent --queue NAME`` pulls queued jobs from the hub and runs them.

One job at a time: claim the oldest job of the queue (the hub hands it to one agent only and
starts a lease), rebuild its code snapshot here, submit it to the agent's executor, heartbeat
every third of the lease while it runs (each heartbeat reports its state and learns whether it
was cancelled), then store its output and report how it ended. A job whose agent stops
heartbeating is marked ``LOST`` by the hub and queued again while retries are left; so that it
never runs twice, a local job is *tethered* to its agent (``_tether``: it stops when the agent
process is gone) and an agent that loses a lease cancels its attempt.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from shipyard.domain.jobs import (
    DEFAULT_LEASE_S,
    Job,
    JobPhase,
    validate_agent_name,
    validate_lease,
    validate_queue_name,
)
from shipyard.errors import Conflict, ShipyardError, Unavailable
from shipyard.executors import JobHandle, open_executor
from shipyard.jobs._code import materialize, read_snapshot, remove_workdir
from shipyard.jobs._executors import this_host
from shipyard.jobs._lifecycle import (
    JobContext,
    Note,
    attempt_spec,
    logger,
    observe,
    submit_attempt,
    tag_attempt,
)
from shipyard.jobs._submission import Submission
from shipyard.jobs.service import open_job_store
from shipyard.sdk.backend import open_backend
from shipyard.settings import Settings

DEFAULT_POLL_S = 2.0
MAX_HEARTBEAT_S = 10.0
WATCH_S = 0.5
"""Seconds between looks at a running attempt's status (heartbeats are rarer)."""


def default_agent_name() -> str:
    """``<host>-<pid>``: unique among the agents of a hub."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How an agent works.

    Args:
        queue: the queue it serves.
        name: how the hub knows it (default: ``<host>-<pid>``).
        executor: ``local`` or ``ray``: where it runs the jobs it claims.
        ray_address: the Ray dashboard URL for ``ray``.
        poll_s: seconds between claims while the queue is empty.
        lease_s: seconds without a heartbeat after which the hub marks its job ``LOST``.
        max_jobs: stop after this many jobs (``None``: run until stopped).
    """

    queue: str
    name: str | None = None
    executor: str = "local"
    ray_address: str | None = None
    poll_s: float = DEFAULT_POLL_S
    lease_s: float = DEFAULT_LEASE_S
    max_jobs: int | None = None

    @property
    def heartbeat_s(self) -> float:
        """Seconds between heartbeats: a third of the lease (at most 10 s)."""
        return min(self.lease_s / 3, MAX_HEARTBEAT_S)


class Agent:
    """Claims and runs the jobs of one queue (see the module docstring).

    Example::

        agent = Agent(AgentOptions("gpu-box"), Settings(tracking_uri="http://hub:8080"))
        agent.run()  # until agent.stop() or Ctrl-C
    """

    def __init__(
        self, options: AgentOptions, settings: Settings | None = None, *, note: Note | None = None
    ) -> None:
        validate_queue_name(options.queue)
        validate_lease(options.lease_s)
        self.options = options
        self.name = validate_agent_name(options.name or default_agent_name())
        self.settings = settings or Settings()
        self._home = Path(self.settings.home).absolute()
        self._executor = open_executor(
            options.executor, ray_address=options.ray_address, state_dir=self._home / "jobs"
        )
        backend = open_backend(self.settings)
        self._ctx = JobContext(self.settings, backend, open_job_store(backend), note or logger.info)
        self._stopping = threading.Event()

    def close(self) -> None:
        """Release the backend's connections."""
        self._ctx.backend.close()

    def stop(self) -> None:
        """Ask the agent to stop: it claims nothing more, and gives back the job it runs (which
        its executor stops; the hub queues it again while retries are left)."""
        self._stopping.set()

    def run(self) -> int:
        """Claim and run jobs until stopped (or ``max_jobs`` ran); returns how many ran."""
        done = 0
        limit = self.options.max_jobs
        while not self._stopping.is_set() and (limit is None or done < limit):
            try:
                job = self.run_one()
            except Unavailable as exc:
                self._ctx.note(f"agent {self.name}: {exc.message}; retrying")
                job = None
            if job is None:
                self._stopping.wait(self.options.poll_s)
            else:
                done += 1
        return done

    def run_one(self) -> Job | None:
        """Claim one job and run it to its end; ``None`` when the queue is empty."""
        job = self._ctx.store.claim_job(
            self.options.queue, agent=self.name, lease_s=self.options.lease_s
        )
        if job is None:
            return None
        self._ctx.note(f"agent {self.name}: running job {job.run_id} (attempt {job.attempts})")
        tag_attempt(self._ctx, job, handle=None, agent=self.name)
        self._cancel_leftover(job)
        workdir = self._home / "jobs" / "workdirs" / f"{job.run_id}-{job.attempts}"
        try:
            job = self._launch(job, workdir)
            job = self._supervise(job)
        except Unavailable as exc:  # the hub is away: the lease decides what becomes of the job
            self._ctx.note(f"agent {self.name}: {exc.message}; giving job {job.run_id} up")
            self._cancel(job)
            return job
        finally:
            remove_workdir(workdir)
        self._ctx.note(f"agent {self.name}: job {job.run_id} is {job.state.value}")
        return job

    # -- one attempt --------------------------------------------------------------------------

    def _launch(self, job: Job, workdir: Path) -> Job:
        try:
            submission = Submission.from_dict(job.spec)
            cwd = self._cwd(job, submission, workdir)
        except Unavailable:
            raise
        except ShipyardError as exc:
            return self._complete(job, JobPhase.FAILED, f"could not prepare the job: {exc}")
        spec = attempt_spec(self._ctx, submission, job.run_id, cwd, wrap=self._tether())
        return submit_attempt(self._ctx, job, self._executor, spec, agent=self.name)

    def _cwd(self, job: Job, submission: Submission, workdir: Path) -> str | None:
        """A rebuilt snapshot; the submitter's folder when it is on this machine; else here."""
        if submission.code == "snapshot":
            return str(materialize(read_snapshot(self._ctx.backend, job.run_id), workdir))
        origin = submission.origin
        if origin and submission.host == this_host() and Path(origin).is_dir():
            return origin
        return None

    def _tether(self) -> list[str]:
        """The wrapper that stops a local job when this agent dies (Ray jobs outlive it)."""
        if self._executor.name != "local":
            return []
        started = psutil.Process().create_time()
        module = "shipyard.jobs._tether"
        return [sys.executable, "-m", module, "--pid", str(os.getpid()), "--started", str(started)]

    def _supervise(self, job: Job) -> Job:
        """Watch the attempt until it ended, heartbeating (unless the lease was lost, or the
        agent stops)."""
        attempt = job.attempts
        last_beat = time.monotonic()
        while job.attempt_open and job.attempts == attempt and job.agent == self.name:
            if self._stopping.wait(min(WATCH_S, self.options.heartbeat_s)):
                return self._give_back(job)
            beat = time.monotonic() - last_beat >= self.options.heartbeat_s
            last_beat = time.monotonic() if beat else last_beat
            try:
                job = observe(self._ctx, job, self._executor, agent=self.name, beat=beat)
            except Conflict as exc:  # the hub gave the job up (lease lost) or it was completed
                self._ctx.note(f"agent {self.name}: {exc.message}; stopping the attempt")
                self._cancel(job)
                return self._ctx.store.get_job(job.run_id)
            except Unavailable as exc:  # keep the job running; the lease decides
                self._ctx.note(f"agent {self.name}: {exc.message}")
        return job

    def _give_back(self, job: Job) -> Job:
        self._cancel(job)
        message = f"agent {self.name} stopped while running the job"
        return self._complete(job, JobPhase.LOST, message)

    def _complete(self, job: Job, phase: JobPhase, message: str) -> Job:
        try:
            return self._ctx.store.complete_job(
                job.run_id, attempt=job.attempts, state=phase, agent=self.name, message=message
            )
        except Conflict:
            return self._ctx.store.get_job(job.run_id)

    def _cancel(self, job: Job) -> None:
        if job.handle is not None:
            with contextlib.suppress(ShipyardError):
                self._executor.cancel(JobHandle.parse(job.handle))

    def _cancel_leftover(self, job: Job) -> None:
        """Stop a lost earlier attempt that this agent's executor can still reach (a Ray job
        keeps running when its agent dies; a tethered local one stops by itself)."""
        if not job.history or self._executor.name == "local":
            return
        last = job.history[-1]
        if last.state is JobPhase.LOST and last.handle:
            with contextlib.suppress(ShipyardError):
                handle = JobHandle.parse(last.handle)
                if handle.executor == self._executor.name:
                    self._executor.cancel(handle)


def run_agent(options: AgentOptions, settings: Settings | None = None) -> int:
    """Run an agent in the foreground until ``max_jobs`` ran; returns how many ran."""
    agent = Agent(options, settings)
    try:
        return agent.run()
    finally:
        agent.close()


__all__ = ["Agent", "AgentOptions", "default_agent_name", "run_agent"]
