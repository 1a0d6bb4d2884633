"""Jobs on a Ray cluster through Ray Jobs (submit, status, logs, stop from any process).

Every job's entrypoint is ``python -m shipyard.executors._ray_workers ... --command JSON``, so
Shipyard must be installed where the job runs (the cluster's Python). One worker: Ray reserves
``entrypoint_num_cpus/gpus/memory`` for it. N workers: the entrypoint creates a placement group
inside the job (see ``_ray_group``), so cancel and logs still go through Ray Jobs.
``ray`` is imported on first use.
"""

from __future__ import annotations

import asyncio
import shlex
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from shipyard.domain.ids import new_id
from shipyard.errors import InvalidArgument, NotFound, Unavailable
from shipyard.executors._ray_logs import LogFilter, split_lines
from shipyard.executors._ray_workers import (
    BEGIN,
    EXIT_TIMED_OUT,
    MARK,
    TIMED_OUT,
    Options,
    entrypoint_args,
)
from shipyard.executors.base import JobHandle, JobSpec, JobState, JobStatus, poll_until_terminal

INSTALL_HINT = "pip install 'shipyard[ray]'"
START_HINT = (
    "start a head node with `ray start --head --include-dashboard=true` and pass its dashboard "
    "address, e.g. http://127.0.0.1:8265"
)
STOP_WAIT_S = 60.0
PENDING_STOP_WAIT_S = 5.0
_LOST_ERRORS = {"JOB_SUPERVISOR_ACTOR_DIED"}
_STATES = {
    "PENDING": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "STOPPED": JobState.CANCELLED,
    "FAILED": JobState.FAILED,
}


class RayExecutor:
    """Run jobs on the Ray cluster whose dashboard (Jobs API) is at ``address``.

    Args:
        address: the dashboard URL, e.g. ``"http://127.0.0.1:8265"``.
        python: the interpreter on the cluster's nodes that imports ``shipyard``.
        placement_strategy: how the ranks of a multi-worker job are placed: ``PACK`` (fill
            nodes), ``SPREAD``, ``STRICT_PACK`` (one node) or ``STRICT_SPREAD`` (one per node).
        grace_s: seconds a cancelled or timed-out rank gets between SIGTERM and SIGKILL (Ray
            kills the job's driver 3 s after asking it to stop, by default).

    Example::

        executor = RayExecutor("http://127.0.0.1:8265")
        handle = executor.submit(JobSpec(["python", "train.py"], workers=2, cpus=1))
    """

    name = "ray"

    def __init__(
        self,
        address: str,
        *,
        python: str = "python",
        placement_strategy: str = "PACK",
        grace_s: float = 2.0,
    ) -> None:
        if placement_strategy not in ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"):
            raise InvalidArgument(
                f"unknown placement strategy {placement_strategy!r}",
                hint="use PACK, SPREAD, STRICT_PACK or STRICT_SPREAD",
            )
        self.address = address
        self.python = python
        self.placement_strategy = placement_strategy
        self.grace_s = grace_s
        self._client: Any = None

    def submit(self, spec: JobSpec) -> JobHandle:
        """Submit ``spec`` as a Ray job; returns once Ray accepted it."""
        submission_id = f"shipyard-{new_id()}"
        kwargs: dict[str, Any] = {
            "entrypoint": self.entrypoint(spec),
            "submission_id": submission_id,
            "metadata": _metadata(spec),
            "runtime_env": {"env_vars": dict(spec.env)} if spec.env else None,
        }
        if spec.workers == 1:  # N workers reserve their resources in a placement group
            kwargs.update(
                entrypoint_num_cpus=spec.cpus,
                entrypoint_num_gpus=spec.gpus,
                entrypoint_memory=spec.memory_bytes,
            )
        self._call(lambda client: client.submit_job(**kwargs), submission_id)
        return JobHandle(self.name, submission_id)

    def entrypoint(self, spec: JobSpec) -> str:
        """The shell command Ray Jobs runs for ``spec``."""
        options = Options(
            command=list(spec.command),
            cwd=spec.cwd,
            timeout_s=spec.timeout_s,
            workers=spec.workers,
            cpus=spec.cpus,
            gpus=spec.gpus,
            memory_bytes=spec.memory_bytes,
            strategy=self.placement_strategy,
            grace_s=self.grace_s,
        )
        args = [self.python, "-m", "shipyard.executors._ray_workers", *entrypoint_args(options)]
        return shlex.join(args)

    def status(self, handle: JobHandle) -> JobStatus:
        """The job's status from Ray (``STOPPED`` is ``CANCELLED``)."""
        job_id = self._id(handle)
        info = self._call(lambda client: client.get_job_info(job_id), job_id)
        return _status_of(info)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The job's output lines (Ray's own lines left out); ``follow`` streams them."""
        job_id = self._id(handle)
        entrypoint = self._call(lambda client: client.get_job_info(job_id), job_id).entrypoint
        lines = LogFilter(job_id, entrypoint)

        def failed() -> bool:
            return self.status(handle).state is JobState.FAILED

        if follow:
            return lines.filter(self._tail(job_id), failed=failed)
        text = self._call(lambda client: client.get_job_logs(job_id), job_id)
        return lines.filter(iter(split_lines(text)), failed=failed)

    def cancel(self, handle: JobHandle) -> None:
        """Ask Ray to stop the job (SIGTERM to its process tree, SIGKILL 3 s later) and wait
        until it is terminal.

        Ray cannot stop a job that still waits for resources: it stops it the moment it gets
        them. Such a job may still be ``PENDING`` when this returns.
        """
        job_id = self._id(handle)
        state = self.status(handle).state
        if state.is_terminal:
            return
        self._call(lambda client: client.stop_job(job_id), job_id)
        patience = STOP_WAIT_S if state is JobState.RUNNING else PENDING_STOP_WAIT_S
        poll_until_terminal(lambda: self.status(handle), patience)

    def wait(self, handle: JobHandle, timeout: float | None = None) -> JobStatus:
        """Block until the job is terminal or ``timeout`` seconds passed; return its status."""
        return poll_until_terminal(lambda: self.status(handle), timeout)

    # --- helpers ---------------------------------------------------------------------------------

    def _id(self, handle: JobHandle) -> str:
        if handle.executor != self.name:
            raise InvalidArgument(
                f"job {handle} belongs to the {handle.executor!r} executor, not {self.name!r}",
                hint=f"open the {handle.executor!r} executor to manage it",
            )
        return handle.id

    def client(self) -> Any:
        """The ``JobSubmissionClient`` (created on first use)."""
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError as exc:
                raise InvalidArgument(
                    "the Ray executor needs the 'ray[default]' package", hint=INSTALL_HINT
                ) from exc
            try:
                self._client = JobSubmissionClient(self.address)
            except (ConnectionError, OSError) as exc:
                raise _unreachable(self.address) from exc
        return self._client

    def _call(self, call: Callable[[Any], Any], job_id: str) -> Any:
        client = self.client()
        try:
            return call(client)
        except (ConnectionError, OSError) as exc:
            raise _unreachable(self.address) from exc
        except RuntimeError as exc:
            raise _translate(exc, self.address, job_id) from exc

    def _tail(self, job_id: str) -> Iterator[str]:
        """Lines of ``tail_job_logs`` (an async iterator of chunks) as a plain iterator."""
        client = self.client()
        loop = asyncio.new_event_loop()
        chunks: AsyncIterator[str] = client.tail_job_logs(job_id)
        try:
            pending = ""
            while True:
                try:
                    chunk = _next_chunk(loop, chunks)
                except StopAsyncIteration:
                    break
                *lines, pending = (pending + chunk).split("\n")
                yield from lines
            if pending:
                yield pending
        except (ConnectionError, OSError) as exc:
            raise _unreachable(self.address) from exc
        finally:
            loop.run_until_complete(chunks.aclose())  # type: ignore[attr-defined]
            loop.close()


def _next_chunk(loop: asyncio.AbstractEventLoop, chunks: AsyncIterator[str]) -> str:
    with warnings.catch_warnings():
        # Ray passes ssl=None to aiohttp, which deprecates it; nothing to fix on our side
        warnings.filterwarnings("ignore", "ssl=None is deprecated", DeprecationWarning)
        return loop.run_until_complete(anext(chunks))


def _metadata(spec: JobSpec) -> dict[str, str]:
    data = {f"label.{key}": value for key, value in spec.labels.items()}
    data["shipyard.workers"] = str(spec.workers)
    if spec.name:
        data["shipyard.name"] = spec.name
    return data


def _status_of(info: Any) -> JobStatus:
    """A :class:`JobStatus` from Ray's ``JobDetails``."""
    state = _STATES.get(str(getattr(info.status, "value", info.status)), JobState.LOST)
    message = info.message or ""
    exit_code = info.driver_exit_code
    if state is JobState.FAILED:
        state, exit_code, message = _failure(exit_code, message, info.error_type)
    elif state is JobState.CANCELLED:
        exit_code = None
    return JobStatus(
        state,
        exit_code=exit_code,
        started_at=None if state is JobState.PENDING else info.start_time,
        ended_at=info.end_time if state.is_terminal else None,
        message=message,
    )


def _failure(exit_code: int | None, message: str, error_type: Any) -> tuple[JobState, Any, str]:
    """Tell a timeout (our marker, exit 124) and a lost supervisor from a plain failure."""
    lines = message.splitlines()
    marks = [line.removeprefix(MARK) for line in lines if line.startswith(MARK) and line != BEGIN]
    if exit_code == EXIT_TIMED_OUT and any(line.startswith(TIMED_OUT) for line in lines):
        return JobState.TIMED_OUT, None, marks[-1]
    if exit_code is None and str(getattr(error_type, "value", error_type)) in _LOST_ERRORS:
        return JobState.LOST, None, lines[0] if lines else "the job's supervisor died"
    if marks:
        return JobState.FAILED, exit_code, marks[-1]
    return JobState.FAILED, exit_code, lines[0] if lines else ""


def _translate(exc: RuntimeError, address: str, job_id: str) -> Exception:
    """Ray's SDK raises RuntimeError("Request failed with status code N: ...") for HTTP errors."""
    text = str(exc)
    if "status code 404" in text or "does not exist" in text:
        return NotFound(
            f"Ray job {job_id!r} not found at {address}",
            hint="check the job id and that this is the cluster it was submitted to",
        )
    if "status code 5" in text:
        return Unavailable(
            f"the Ray Jobs API at {address} could not serve the request: {text}",
            hint="retry in a moment (a head node that just started may not be ready)",
        )
    return exc


def _unreachable(address: str) -> Unavailable:
    return Unavailable(f"cannot reach the Ray cluster's Jobs API at {address}", hint=START_HINT)
