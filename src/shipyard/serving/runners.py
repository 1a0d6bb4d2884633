"""Where a deployment's model server runs.

* :class:`ProcessRunner` (embedded use, no hub): a detached local process started by the
  launcher of :mod:`shipyard.serving.deployment_server`; the deployment records its ``pid``.
* :class:`ExecutorRunner` (the hub): a job on one of Shipyard's executors (local processes under
  a supervisor, or a Ray cluster); the deployment records its job handle (``local:ID``,
  ``ray:ID``), so a restarted hub finds, watches and stops the same server.

Either way the server reads its config from, and writes its port, URL and log into, the
deployment's folder (:mod:`shipyard.serving._process`). With an executor that runs jobs on other
machines, that folder must be reachable there at the same path (a shared volume), and the hub's
Python environment must exist there too: the job runs ``<python> -m
shipyard.serving.deployment_server``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shipyard.errors import InvalidArgument, NotFound, Unavailable
from shipyard.executors import Executor, JobHandle, JobSpec
from shipyard.serving import _process

logger = logging.getLogger("shipyard.serving.runners")


@dataclass(frozen=True, slots=True)
class ServerRef:
    """How to find a started server again: its local ``pid`` or its executor ``job``."""

    pid: int | None = None
    job: str | None = None

    @property
    def started(self) -> bool:
        """Whether anything was started."""
        return bool(self.pid) or bool(self.job)


class ServerRunner(Protocol):
    """Starts, watches and stops deployment servers."""

    def start(self, folder: Path, name: str) -> ServerRef:
        """Start the server of the config in ``folder`` (detached: it outlives the caller)."""
        ...

    def running(self, ref: ServerRef) -> bool:
        """Whether the server has not ended (it may still be loading its models)."""
        ...

    def stop(self, ref: ServerRef) -> None:
        """Stop the server and wait until it is gone (nothing happens when it already is)."""
        ...


class ProcessRunner:
    """Servers as detached processes of this machine (the embedded default)."""

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python

    def start(self, folder: Path, name: str) -> ServerRef:
        """Start the server through its launcher (see :func:`_process.start`)."""
        return ServerRef(pid=_process.start(folder, self.python) or None)

    def running(self, ref: ServerRef) -> bool:
        """Whether the process is one of our servers and runs. A server that a hub started as
        an executor job counts as running: only its liveness check (the URL) can tell, and a
        second server must not be started next to it."""
        if ref.job:
            return True
        return bool(ref.pid) and _process.is_server(ref.pid or 0)

    def stop(self, ref: ServerRef) -> None:
        """SIGTERM its session, SIGKILL after a grace period."""
        if ref.job:
            logger.warning("cannot stop job %s without its executor; stop it there", ref.job)
        _process.stop(ref.pid)


class ExecutorRunner:
    """Servers as jobs of an executor (the hub's): one long-running job per server.

    Args:
        executor: the executor the jobs run on (``LocalExecutor``, ``RayExecutor``).
        python: the interpreter the job runs (the hub's, by default).
    """

    def __init__(self, executor: Executor, python: str = sys.executable) -> None:
        self.executor = executor
        self.python = python

    def start(self, folder: Path, name: str) -> ServerRef:
        """Submit ``python -m shipyard.serving.deployment_server --log server.log CONFIG``."""
        _process.clear_address(folder)
        spec = JobSpec(
            [self.python, "-m", _process.MODULE, "--log", str(folder / _process.LOG_FILE),
             str(folder / _process.CONFIG_FILE)],
            cwd=str(folder), name=f"deployment {name}", labels={"shipyard.deployment": name},
        )  # fmt: skip
        return ServerRef(job=str(self.executor.submit(spec)))

    def running(self, ref: ServerRef) -> bool:
        """Whether the job is still pending or running (an unknown job is not)."""
        handle = self._handle(ref)
        if handle is None:
            return False
        try:
            return not self.executor.status(handle).state.is_terminal
        except NotFound:
            return False
        except InvalidArgument as exc:  # a job of another executor (the hub's config changed)
            logger.warning("deployment job %s: %s", ref.job, exc.message)
            return False

    def stop(self, ref: ServerRef) -> None:
        """Cancel the job (its whole process tree); a server started as a local process by
        an earlier, embedded controller is stopped too."""
        _process.stop(ref.pid)
        handle = self._handle(ref)
        if handle is None:
            return
        try:
            self.executor.cancel(handle)
        except NotFound:
            return
        except (InvalidArgument, Unavailable) as exc:
            logger.warning("could not cancel %s: %s", ref.job, exc.message)

    def _handle(self, ref: ServerRef) -> JobHandle | None:
        if not ref.job:
            return None
        try:
            return JobHandle.parse(ref.job)
        except InvalidArgument:
            logger.warning("deployment job %r is not a job handle", ref.job)
            return None
