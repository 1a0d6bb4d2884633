"""Jobs as local processes, each watched by a detached supervisor (see ``_supervisor``).

The executor keeps no state in memory: every job is a folder under ``state_dir`` (layout in
``_jobdir``), so another process - a later CLI call, an agent - opening the same ``state_dir``
finds, follows and cancels the same jobs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import psutil

from shipyard.domain.ids import is_id, new_id
from shipyard.errors import InvalidArgument, NotFound, Unavailable
from shipyard.executors import _jobdir as files
from shipyard.executors._jobdir import JobDir
from shipyard.executors._process import terminate
from shipyard.executors.base import (
    JobHandle,
    JobSpec,
    JobState,
    JobStatus,
    poll_until_terminal,
)

FOLLOW_POLL_S = 0.1
START_TIMEOUT_S = 60.0
CANCEL_MARGIN_S = 10.0


class LocalExecutor:
    """Run jobs as processes on this machine.

    Args:
        state_dir: where job folders live (created if missing).
        grace_s: seconds between SIGTERM and SIGKILL when a job is cancelled or times out.
        python: the interpreter that runs the supervisor (it must import ``shipyard``).

    Example::

        executor = LocalExecutor(Path(".shipyard/jobs"))
        handle = executor.submit(JobSpec(["python", "train.py"], timeout_s=3600))
        for line in executor.logs(handle, follow=True):
            print(line)
    """

    name = "local"

    def __init__(self, state_dir: Path, *, grace_s: float = 5.0, python: str | None = None) -> None:
        if grace_s < 0:
            raise InvalidArgument(f"grace_s must be >= 0, got {grace_s}", hint="e.g. grace_s=5")
        self.state_dir = Path(state_dir).absolute()
        self.grace_s = grace_s
        self.python = python or sys.executable

    def submit(self, spec: JobSpec) -> JobHandle:
        """Start ``spec`` under a detached supervisor; returns once the supervisor runs.

        A spec without ``cwd`` runs in the current directory. Raises ``InvalidArgument`` if
        ``cwd`` is not a folder, ``Unavailable`` if the supervisor could not be started.
        """
        cwd = spec.cwd or os.getcwd()
        if not Path(cwd).is_dir():
            raise InvalidArgument(
                f"the job's working directory {cwd} is not a folder",
                hint="create it or pass another cwd",
            )
        job = self._new_job()
        config = {"spec": dataclasses.replace(spec, cwd=cwd).to_dict(), "grace_s": self.grace_s}
        job.write(files.SPEC, config)
        self._start_supervisor(job)
        return JobHandle(self.name, job.path.name)

    def status(self, handle: JobHandle) -> JobStatus:
        """The job's status, read from its folder; ``LOST`` if the supervisor vanished."""
        job = self._job(handle)
        for _ in range(2):  # a second look closes the race with a supervisor that just finished
            final = job.read(files.STATUS)
            if final is not None:
                return _status_from(final)
            running = job.read(files.RUNNING)
            if job.supervisor_alive():
                return _live_status(running)
        return _lost_status(job, job.read(files.RUNNING))

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The job's output lines; with ``follow`` keep reading until the job ended."""
        job = self._job(handle)
        return self._read_lines(handle, job.file(files.OUTPUT), follow)

    def cancel(self, handle: JobHandle) -> None:
        """SIGTERM the job's supervisor (which stops the tree and records ``CANCELLED``); if the
        supervisor is gone or does not answer, kill the ranks' process groups here."""
        job = self._job(handle)
        state = self.status(handle).state
        if state is JobState.LOST:
            self._kill_ranks(job)  # the state stays LOST; leftover processes still go
        if state.is_terminal:
            return
        job.file(files.CANCEL).touch()
        self._signal_supervisor(job, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s + CANCEL_MARGIN_S
        while time.monotonic() < deadline and job.is_live():
            time.sleep(0.05)
        if not job.file(files.STATUS).exists():
            self._signal_supervisor(job, signal.SIGKILL)
            self._kill_ranks(job)
            job.create(files.STATUS, _cancelled_record(job))

    def wait(self, handle: JobHandle, timeout: float | None = None) -> JobStatus:
        """Block until the job is terminal or ``timeout`` seconds passed; return its status."""
        return poll_until_terminal(lambda: self.status(handle), timeout)

    def handles(self) -> list[JobHandle]:
        """Every job recorded under ``state_dir``, oldest first (ids are time-ordered)."""
        if not self.state_dir.is_dir():
            return []
        ids = sorted(p.name for p in self.state_dir.iterdir() if is_id(p.name) and p.is_dir())
        return [JobHandle(self.name, job_id) for job_id in ids]

    def job_dir(self, handle: JobHandle) -> Path:
        """The folder that records the job (``output.log``, ``status.json``...)."""
        return self._job(handle).path

    # --- helpers ---------------------------------------------------------------------------------

    def _new_job(self) -> JobDir:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path = self.state_dir / new_id()
            path.mkdir(mode=0o700)  # spec.json may hold secrets passed in env
        except OSError as exc:
            raise InvalidArgument(
                f"cannot create a job folder under {self.state_dir}: {exc.strerror}",
                hint="pass a writable state_dir",
            ) from exc
        return JobDir(path)

    def _start_supervisor(self, job: JobDir) -> None:
        command = [self.python, "-m", "shipyard.executors._supervisor", str(job.path)]
        with job.file(files.SUPERVISOR_LOG).open("ab") as errors:
            try:
                done = subprocess.run(
                    command,
                    cwd=job.path,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    start_new_session=True,
                    timeout=START_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise _supervisor_failed(job, str(exc)) from exc
        if done.returncode != 0 or job.read(files.SUPERVISOR) is None:
            raise _supervisor_failed(job, f"exit code {done.returncode}")

    def _job(self, handle: JobHandle) -> JobDir:
        if handle.executor != self.name:
            raise InvalidArgument(
                f"job {handle} belongs to the {handle.executor!r} executor, not {self.name!r}",
                hint=f"open the {handle.executor!r} executor to manage it",
            )
        path = self.state_dir / handle.id
        if not is_id(handle.id) or not path.is_dir():
            raise NotFound(
                f"local job {handle.id!r} not found under {self.state_dir}",
                hint="check the job id, and that state_dir is the one the job was submitted with",
            )
        return JobDir(path)

    def _read_lines(self, handle: JobHandle, path: Path, follow: bool) -> Iterator[str]:
        with _open_when_created(path, follow, lambda: self.status(handle)) as fh:
            if fh is None:
                return
            pending = b""
            while True:
                chunk = fh.read(1 << 16)
                if chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    yield from (line.decode("utf-8", "replace") for line in lines)
                elif not follow:
                    break
                elif self.status(handle).state.is_terminal:
                    follow = False  # read what was written before the verdict, then stop
                else:
                    time.sleep(FOLLOW_POLL_S)
            if pending:
                yield pending.decode("utf-8", "replace")

    def _signal_supervisor(self, job: JobDir, sig: int) -> None:
        record = job.read(files.SUPERVISOR)
        if record is not None and job.supervisor_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(record["pid"]), sig)

    def _kill_ranks(self, job: JobDir) -> None:
        running = job.read(files.RUNNING)
        if running is None:
            return
        started = float(running["started_at"]) / 1000
        groups = [pid for pid in running["pids"] if _started_after(int(pid), started)]
        terminate(groups, [], self.grace_s)


@contextlib.contextmanager
def _open_when_created(
    path: Path, follow: bool, status: Callable[[], JobStatus]
) -> Iterator[IO[bytes] | None]:
    """Open ``path`` for reading; when following, wait for it while the job has not ended."""
    while True:
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            if not follow or status().state.is_terminal:
                yield None
                return
            time.sleep(FOLLOW_POLL_S)
            continue
        with fh:
            yield fh
        return


def _started_after(pid: int, since: float) -> bool:
    """Whether ``pid`` runs and was created at or after ``since`` (not a recycled pid)."""
    try:
        return psutil.Process(pid).create_time() >= since - 1.0
    except psutil.Error:
        return False


def _status_from(record: dict[str, Any]) -> JobStatus:
    return JobStatus(
        state=JobState(record["state"]),
        exit_code=record.get("exit_code"),
        started_at=record.get("started_at"),
        ended_at=record.get("ended_at"),
        message=record.get("message") or "",
        notes=tuple(record.get("notes") or ()),
    )


def _live_status(running: dict[str, Any] | None) -> JobStatus:
    if running is None:
        return JobStatus(JobState.PENDING)
    notes = tuple(running.get("notes") or ())
    return JobStatus(JobState.RUNNING, started_at=running["started_at"], notes=notes)


def _lost_status(job: JobDir, running: dict[str, Any] | None) -> JobStatus:
    record = job.read(files.SUPERVISOR) or {}
    return JobStatus(
        JobState.LOST,
        started_at=None if running is None else running["started_at"],
        message=f"the job's supervisor (pid {record.get('pid', '?')}) ended without a verdict; "
        f"see {job.file(files.SUPERVISOR_LOG)}",
    )


def _cancelled_record(job: JobDir) -> dict[str, Any]:
    running = job.read(files.RUNNING) or {}
    return {
        "state": JobState.CANCELLED.value,
        "exit_code": None,
        "started_at": running.get("started_at"),
        "ended_at": int(time.time() * 1000),
        "message": "cancelled; the supervisor did not answer, so its processes were killed",
        "notes": running.get("notes") or [],
    }


def _supervisor_failed(job: JobDir, why: str) -> Unavailable:
    log = job.file(files.SUPERVISOR_LOG)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
    return Unavailable(
        f"could not start the supervisor of local job {job.path.name} ({why}): {tail.strip()}",
        hint="check that this Python imports shipyard: python -m shipyard.executors._supervisor",
    )
