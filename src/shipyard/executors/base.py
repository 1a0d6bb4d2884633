"""The executor protocol: what every backend (local processes, Ray, Kubernetes) promises.

Contract (checked by ``shipyard.testing.executor_contract`` over every backend):

* ``submit(spec)`` returns a :class:`JobHandle` as soon as the backend has accepted the job. The
  job runs detached from the caller: it survives the submitting process, and any process that
  opens the same executor can find it again from ``str(handle)`` (see :meth:`JobHandle.parse`).
* ``status(handle)`` answers without waiting. States move forward only: ``PENDING`` ->
  ``RUNNING`` -> one terminal state (``SUCCEEDED``, ``FAILED``, ``CANCELLED``, ``TIMED_OUT``,
  ``LOST``). ``exit_code`` is the command's own exit status (``128 + N`` when a signal ``N`` killed
  it, as shells report it) and is ``None`` while running and when the executor ended the job
  (cancelled, timed out, lost). A command that cannot be started (not found, not executable)
  ends ``FAILED`` with 127 or 126. A job whose supervising process vanished without a verdict is
  ``LOST``.
* ``logs(handle)`` yields the output lines written so far (stdout and stderr interleaved in the
  order they were written, without line endings); with ``follow=True`` it keeps yielding lines as
  they are written and returns once the job has ended and every line was yielded. Lines of a
  multi-worker job start with ``"[rank i] "``.
* ``cancel(handle)`` stops the job and every process it started (the whole process tree):
  ``SIGTERM`` first, ``SIGKILL`` after a grace period. It returns once the job is terminal;
  cancelling a terminal job changes nothing (idempotent). (Ray cannot stop a job that still
  waits for resources: it stops it the moment it would start, so it may still be ``PENDING``.)
* ``wait(handle, timeout)`` blocks until the job is terminal and returns its final status, or
  returns the current status once ``timeout`` seconds have passed.
* Limits: ``timeout_s`` ends the job as ``TIMED_OUT``; ``cpus``, ``gpus`` and ``memory_bytes`` are
  per worker and enforced where the backend can (``JobStatus.notes`` says what was not).
* ``workers=N`` starts N cooperating processes with the standard rendezvous environment
  (:data:`RENDEZVOUS_VARS`: ``MASTER_ADDR``, ``MASTER_PORT``, ``WORLD_SIZE``, ``RANK``,
  ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``NODE_RANK``) so ``torch.distributed`` with ``env://``
  works unchanged. The job succeeds when every rank succeeds; when one fails the others are
  stopped. Every job, one worker included, gets these variables.
* Errors: an unknown job raises ``NotFound``; a handle of another executor raises
  ``InvalidArgument``; an unreachable backend raises ``Unavailable`` with a hint.
"""

from __future__ import annotations

import enum
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Protocol, runtime_checkable

from shipyard.errors import InvalidArgument

RENDEZVOUS_VARS = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "NODE_RANK",
)
MAX_WORKERS = 1024
MAX_NAME = 256
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HANDLE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)
_MEMORY_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


class JobState(enum.StrEnum):
    """Where a job is in its life; the last five are terminal."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (nothing will change any more)."""
        return self not in (JobState.PENDING, JobState.RUNNING)


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job's state. Times are milliseconds since the epoch (UTC); ``notes`` lists the limits
    the executor could not enforce."""

    state: JobState
    exit_code: int | None = None
    started_at: int | None = None
    ended_at: int | None = None
    message: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JobHandle:
    """How to find a job again: the executor's name and the backend's id for it.

    ``str(handle)`` is ``"<executor>:<id>"`` and :meth:`parse` reads it back, so the handle can be
    stored (in a run's tags, a queue) and used from another process.
    """

    executor: str
    id: str

    def __post_init__(self) -> None:
        for what, value in (("executor name", self.executor), ("job id", self.id)):
            if not _HANDLE_PART.match(value) or ".." in value or ":" in value:
                raise InvalidArgument(
                    f"invalid {what} {value!r} in a job handle",
                    hint="a handle looks like 'local:0193a5c1f2e04b7d9c1e2f3a4b5c6d7e'",
                )

    def __str__(self) -> str:
        return f"{self.executor}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> JobHandle:
        """Read a handle written by ``str(handle)``, e.g. ``JobHandle.parse("ray:shipyard-01")``."""
        executor, sep, job_id = text.strip().partition(":")
        if not sep:
            raise InvalidArgument(
                f"invalid job handle {text!r}: no executor name",
                hint="write it as EXECUTOR:ID, e.g. 'local:0193a5c1f2e04b7d9c1e2f3a4b5c6d7e'",
            )
        return cls(executor, job_id)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What to run and with which limits (``cpus``, ``gpus``, ``memory_bytes`` are per worker).

    The command is an argument list (no shell); ``env`` is added to the environment the
    executor gives the command; ``cwd`` is an absolute path on the machine that runs it.

    Example::

        JobSpec(["python", "train.py"], env={"LR": "0.1"}, cpus=2, memory_bytes=parse_memory("4G"))
    """

    command: Sequence[str]
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cpus: float | None = None
    gpus: float | None = None
    memory_bytes: int | None = None
    timeout_s: float | None = None
    workers: int = 1
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", _check_command(self.command))
        object.__setattr__(self, "cwd", _check_cwd(self.cwd))
        object.__setattr__(self, "env", _check_env(self.env))
        object.__setattr__(self, "labels", _check_labels(self.labels))
        _check_positive("cpus", self.cpus)
        _check_positive("gpus", self.gpus)
        _check_positive("timeout_s", self.timeout_s)
        _check_memory(self.memory_bytes)
        _check_workers(self.workers)
        _check_name(self.name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (the inverse of :meth:`from_dict`)."""
        return {
            "command": list(self.command),
            "cwd": self.cwd,
            "env": dict(self.env),
            "cpus": self.cpus,
            "gpus": self.gpus,
            "memory_bytes": self.memory_bytes,
            "timeout_s": self.timeout_s,
            "workers": self.workers,
            "name": self.name,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Rebuild (and re-validate) a spec written by :meth:`to_dict`."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidArgument(
                f"unknown job spec fields: {', '.join(unknown)}",
                hint=f"use only {', '.join(sorted(known))}",
            )
        return cls(**data)


@runtime_checkable
class Executor(Protocol):
    """Runs commands as jobs somewhere (see the module docstring for the contract)."""

    name: str

    def submit(self, spec: JobSpec) -> JobHandle:
        """Start ``spec`` detached and return its handle. Raises ``Unavailable`` if the backend
        cannot be reached, ``InvalidArgument`` for a spec it cannot run."""
        ...

    def status(self, handle: JobHandle) -> JobStatus:
        """The job's current status. Raises ``NotFound`` for an unknown job."""
        ...

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The job's output lines; with ``follow`` keep streaming until the job ends."""
        ...

    def cancel(self, handle: JobHandle) -> None:
        """Stop the job and its whole process tree; a no-op for a terminal job."""
        ...

    def wait(self, handle: JobHandle, timeout: float | None = None) -> JobStatus:
        """Block until the job is terminal (or ``timeout`` seconds passed); return its status."""
        ...


def parse_memory(text: str | int) -> int:
    """Bytes from a size such as ``"512M"``, ``"4G"``, ``"4Gi"``, ``"1.5GB"`` or ``1024``.

    ``K/M/G/T/P`` (with or without ``B``) are powers of 1000, ``Ki/Mi/Gi/Ti/Pi`` (or ``KiB``...)
    powers of 1024, as in Kubernetes; case does not matter.

    >>> parse_memory("4Gi")
    4294967296
    """
    if isinstance(text, int) and not isinstance(text, bool):
        _check_memory(text)
        return text
    match = _MEMORY.match(str(text))
    if not match or (match.group(3) and not match.group(2)):
        raise InvalidArgument(
            f"invalid memory size {text!r}",
            hint="write a number with an optional unit, e.g. 512M, 4G, 4Gi or 1073741824",
        )
    number, unit, binary = match.group(1), match.group(2).lower(), match.group(3)
    base = 1024 if binary else 1000
    size = int(float(number) * base ** _MEMORY_POWERS[unit])
    _check_memory(size)
    return size


def poll_until_terminal(
    status: Callable[[], JobStatus], timeout: float | None, interval: float = 0.1
) -> JobStatus:
    """Call ``status`` until it is terminal or ``timeout`` seconds passed; return the last one.

    Shared by the executors' ``wait``; the interval grows to 1 s for long waits.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    current = status()
    while not current.state.is_terminal:
        if deadline is not None and time.monotonic() >= deadline:
            break
        pause = interval if deadline is None else min(interval, deadline - time.monotonic())
        time.sleep(max(pause, 0.0))
        interval = min(interval * 1.25, 1.0)
        current = status()
    return current


def rendezvous_env(
    *,
    addr: str,
    port: int,
    world_size: int,
    rank: int,
    local_rank: int = 0,
    local_world_size: int = 1,
    node_rank: int = 0,
) -> dict[str, str]:
    """The torch.distributed ``env://`` variables for one rank."""
    return {
        "MASTER_ADDR": addr,
        "MASTER_PORT": str(port),
        "WORLD_SIZE": str(world_size),
        "RANK": str(rank),
        "LOCAL_RANK": str(local_rank),
        "LOCAL_WORLD_SIZE": str(local_world_size),
        "NODE_RANK": str(node_rank),
    }


def _check_command(command: Sequence[str]) -> tuple[str, ...]:
    if isinstance(command, str | bytes):
        raise InvalidArgument(
            f"the job command must be a list of arguments, not the string {command!r}",
            hint="split it, e.g. ['python', 'train.py'] or shlex.split(text)",
        )
    args = tuple(command)
    if not args or not all(isinstance(arg, str) for arg in args) or not args[0]:
        raise InvalidArgument(
            f"invalid job command {list(args)!r}",
            hint="pass a non-empty list of strings whose first item names the program",
        )
    if any("\0" in arg for arg in args):
        raise InvalidArgument("the job command contains a NUL character", hint="remove it")
    return args


def _check_cwd(cwd: str | os.PathLike[str] | None) -> str | None:
    if cwd is None:
        return None
    text = os.fspath(cwd)
    if not isinstance(text, str) or not PurePath(text).is_absolute():
        raise InvalidArgument(
            f"the job's working directory {text!r} is not an absolute path",
            hint="pass an absolute path, e.g. str(Path(folder).resolve())",
        )
    return text


def _check_env(env: Mapping[str, str]) -> dict[str, str]:
    checked = dict(env)
    for key, value in checked.items():
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise InvalidArgument(
                f"invalid environment variable name {key!r}",
                hint="use letters, digits and '_', not starting with a digit",
            )
        if not isinstance(value, str) or "\0" in value:
            raise InvalidArgument(
                f"environment variable {key} must be a string without NUL characters",
                hint=f"convert it, e.g. env={{'{key}': str(value)}}",
            )
        if key in RENDEZVOUS_VARS:
            raise InvalidArgument(
                f"environment variable {key} is set by the executor for each worker",
                hint=f"remove {key} from env; read it inside the job",
            )
    return checked


def _check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    checked = dict(labels)
    for key, value in checked.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidArgument(
                f"invalid job label {key!r}={value!r}", hint="labels map non-empty text to text"
            )
    return checked


def _check_positive(what: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{what} must be a number, got {value!r}", hint=f"e.g. {what}=2")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(
            f"{what} must be a positive number, got {value!r}",
            hint=f"pass a value above 0, or leave {what} unset for no limit",
        )


def _check_memory(value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgument(
            f"memory must be a positive number of bytes, got {value!r}",
            hint="pass bytes, or parse a size: parse_memory('4G')",
        )


def _check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InvalidArgument(
            f"workers must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}",
            hint="e.g. workers=2 for two cooperating processes",
        )


def _check_name(name: str | None) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not name.isprintable() or len(name) > MAX_NAME:
        raise InvalidArgument(
            f"invalid job name {name!r}", hint="use printable text of at most 256 characters"
        )
