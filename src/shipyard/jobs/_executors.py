"""Opening the executor that runs a job again, from what its submission recorded."""

from __future__ import annotations

import socket
from pathlib import Path

from shipyard.domain.jobs import Job
from shipyard.errors import InvalidArgument
from shipyard.executors import DEFAULT_STATE_DIR, Executor, open_executor
from shipyard.jobs._submission import Submission

QUEUE_EXECUTOR = "queue"
"""The ``executor`` of a queued job: the agent that claims it picks the real one."""


def this_host() -> str:
    """This machine's name, recorded with local jobs (their state lives on this machine)."""
    return socket.gethostname()


def executor_for(name: str, submission: Submission) -> Executor:
    """The executor ``name`` configured as the submission recorded it."""
    if name == QUEUE_EXECUTOR:
        raise InvalidArgument(
            "a queued job is run by the agent that claims it, not from here",
            hint="start `shipyard agent --queue NAME` on the machine that should run it",
        )
    state_dir = Path(submission.state_dir) if submission.state_dir else DEFAULT_STATE_DIR
    return open_executor(
        name,
        ray_address=submission.ray_address,
        state_dir=state_dir,
        namespace=submission.namespace,
        image=submission.image,
    )


def reachable(job: Job, submission: Submission) -> bool:
    """Whether this process can ask the job's executor about it: a local job only from the
    machine that runs it; Ray and Kubernetes jobs from anywhere their API answers."""
    if job.queue is not None or job.executor == QUEUE_EXECUTOR:
        return False
    if job.executor == "local":
        folder = submission.state_dir
        return submission.host == this_host() and folder is not None and Path(folder).is_dir()
    return True
