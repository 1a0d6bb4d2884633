"""What a caller asks for when submitting a job: :class:`JobRequest`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.domain.jobs import validate_queue_name, validate_retries
from shipyard.errors import InvalidArgument
from shipyard.executors import EXECUTORS
from shipyard.executors.base import JobSpec

DEFAULT_IMAGE = "python:3.12-slim"
"""The image a Kubernetes dry run shows when none is given (a real submission needs one)."""


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A command to run as a tracked job, and how.

    Args:
        command: the program and its arguments, e.g. ``["python", "train.py", "--lr", "0.1"]``.
        project, name, params, tags, parent_id: of the job's run (name default: the script and
            4 hex digits, as ``shipyard run`` names runs).
        run_id: run the job as this existing ``RUNNING`` run instead of creating one (sweeps
            create their trial runs themselves); created with this id when it does not exist.
        executor: ``local``, ``ray`` or ``kubernetes``; ``None`` means ``local``, or, with
            ``queue``, whatever the claiming agent runs.
        ray_address: the Ray dashboard URL for ``ray``.
        cpus, gpus, memory_bytes: per worker; ``timeout_s`` ends the job ``TIMED_OUT``.
        env: added to the command's environment (the tracking settings and ``SHIPYARD_RUN_ID``
            are added after it).
        retries: how many times a failed or lost attempt is run again (same run; the run's tag
            ``shipyard.job.attempt`` counts attempts).
        workers: cooperating processes with the torch.distributed rendezvous variables.
        queue: only enqueue the job on the hub; an agent on that queue runs it.
        cwd: the folder whose code state is captured and where a local job runs (default: here).
        in_place: run a local job in ``cwd`` itself instead of a snapshot of its code.
        image, namespace: the container image and namespace of ``kubernetes`` jobs.

    Example::

        JobRequest(["python", "train.py"], project="iris", cpus=2, retries=1)
    """

    command: Sequence[str]
    project: str | None = None
    name: str | None = None
    executor: str | None = None
    ray_address: str | None = None
    cpus: float | None = None
    gpus: float | None = None
    memory_bytes: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float | None = None
    retries: int = 0
    workers: int = 1
    queue: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    tags: Mapping[str, object] = field(default_factory=dict)
    parent_id: str | None = None
    run_id: str | None = None
    cwd: Path | None = None
    in_place: bool = False
    image: str | None = None
    namespace: str = "default"

    def executor_name(self) -> str:
        """The executor that runs the job (``queue`` for a queued job). Raises
        ``InvalidArgument`` for an unknown one, or one named together with a queue."""
        if self.queue is not None:
            validate_queue_name(self.queue)
            if self.executor is not None:
                raise InvalidArgument(
                    f"a queued job runs on the executor of the agent that claims it; "
                    f"--executor {self.executor} cannot be combined with --queue",
                    hint="leave --executor out, and start the agent with --executor instead",
                )
            return "queue"
        name = self.executor or "local"
        if name not in EXECUTORS:
            raise InvalidArgument(
                f"unknown executor {name!r}", hint=f"use one of {', '.join(EXECUTORS)}"
            )
        if self.in_place and name != "local":
            raise InvalidArgument(
                f"--in-place is for local jobs; a {name} job runs a snapshot of the code",
                hint="leave --in-place out",
            )
        return name

    def job_spec(self) -> JobSpec:
        """The executor spec (validated) without a working folder or tracking variables."""
        validate_retries(self.retries)
        return JobSpec(
            command=list(self.command),
            env=dict(self.env),
            cpus=self.cpus,
            gpus=self.gpus,
            memory_bytes=self.memory_bytes,
            timeout_s=self.timeout_s,
            workers=self.workers,
            name=self.name,
        )

    def origin(self) -> Path:
        """The absolute folder the job is submitted from."""
        return (self.cwd or Path.cwd()).absolute()
