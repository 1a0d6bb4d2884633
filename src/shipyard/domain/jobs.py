"""Jobs: a tracked run executed by an executor, directly or through a named queue.

A job *is* a run (``run_id`` is its identity); this entity holds what the run does not: where the
job runs (executor, handle), what was asked (``spec``: the command, its environment and limits),
its state, its attempts and, for queued jobs, the agent that holds it and its lease.

States::

    QUEUED ──claim──> PENDING ──> RUNNING ──> SUCCEEDED | FAILED | CANCELLED | TIMED_OUT | LOST
     (queues only)      ^                        │
                        └── retry (FAILED or LOST with retries left: QUEUED again on a queue) ┘

The run's status follows the job (:func:`run_status_of`): ``SUCCEEDED`` -> ``FINISHED``,
``FAILED``/``TIMED_OUT``/``LOST`` -> ``FAILED`` (with the message), ``CANCELLED`` -> ``KILLED``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.domain.entities import RunStatus
from shipyard.errors import InvalidArgument

MAX_QUEUE = 128
MAX_AGENT = 256
MAX_RETRIES = 100
DEFAULT_LEASE_S = 30.0
"""Seconds an agent may go without a heartbeat before the hub marks its job ``LOST``."""

_QUEUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class JobPhase(enum.StrEnum):
    """Where a job is in its life (the last five are terminal)."""

    QUEUED = "QUEUED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    LOST = "LOST"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended."""
        return self not in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.RUNNING)

    @property
    def is_retryable(self) -> bool:
        """Whether an attempt that ended so may be retried (a failure or a lost attempt)."""
        return self in (JobPhase.FAILED, JobPhase.LOST)


ACTIVE_PHASES = (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.RUNNING)
TERMINAL_PHASES = tuple(phase for phase in JobPhase if phase.is_terminal)


@dataclass(frozen=True, slots=True)
class JobAttempt:
    """How one attempt of a job ended (times in epoch milliseconds)."""

    attempt: int
    state: JobPhase
    exit_code: int | None = None
    message: str = ""
    handle: str | None = None
    agent: str | None = None
    started_at: int | None = None
    ended_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the inverse of :meth:`from_dict`)."""
        return {
            "attempt": self.attempt,
            "state": self.state.value,
            "exit_code": self.exit_code,
            "message": self.message,
            "handle": self.handle,
            "agent": self.agent,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobAttempt:
        """Read an attempt written by :meth:`to_dict`."""
        return cls(
            attempt=int(data["attempt"]),
            state=JobPhase(data["state"]),
            exit_code=data.get("exit_code"),
            message=str(data.get("message") or ""),
            handle=data.get("handle"),
            agent=data.get("agent"),
            started_at=data.get("started_at"),
            ended_at=data.get("ended_at"),
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored. ``attempts`` counts attempts started; ``max_retries`` how many more may
    follow a failed or lost one; ``history`` lists every attempt that ended, oldest first.

    ``spec`` is the submission as JSON (the executor's job spec and where the code runs); it never
    holds the tracking credentials, which each launcher adds itself.
    """

    run_id: str
    executor: str
    spec: Mapping[str, Any]
    state: JobPhase
    attempts: int = 0
    max_retries: int = 0
    queue: str | None = None
    agent: str | None = None
    handle: str | None = None
    lease_s: float | None = None
    heartbeat_at: int | None = None
    cancel_requested: bool = False
    exit_code: int | None = None
    message: str = ""
    created_at: int = 0
    updated_at: int = 0
    started_at: int | None = None
    ended_at: int | None = None
    history: tuple[JobAttempt, ...] = field(default_factory=tuple)

    @property
    def attempt_open(self) -> bool:
        """Whether an attempt started and has not ended yet (its executor may be running it)."""
        active = self.state in (JobPhase.PENDING, JobPhase.RUNNING)
        return active and self.attempts > len(self.history)

    @property
    def between_attempts(self) -> bool:
        """Whether the job waits for its next attempt to be submitted (a direct job's retry)."""
        return self.state is JobPhase.PENDING and self.attempts == len(self.history)

    @property
    def retries_left(self) -> int:
        """How many more attempts may follow the current one."""
        return max(0, self.max_retries + 1 - self.attempts)


def run_status_of(state: JobPhase) -> RunStatus:
    """The status a job's run gets when the job ends in ``state`` (``RUNNING`` while active)."""
    if not state.is_terminal:
        return RunStatus.RUNNING
    if state is JobPhase.SUCCEEDED:
        return RunStatus.FINISHED
    if state is JobPhase.CANCELLED:
        return RunStatus.KILLED
    return RunStatus.FAILED


def validate_queue_name(name: str) -> str:
    """A queue name: letters, digits, ``_.-`` (at most 128). Raises ``InvalidArgument``."""
    if not isinstance(name, str) or len(name) > MAX_QUEUE or not _QUEUE_RE.match(name):
        raise InvalidArgument(
            f"invalid queue name {name!r}",
            hint="use letters, digits, '_', '.' and '-' (at most 128), e.g. gpu-box",
        )
    return name


def validate_agent_name(name: str) -> str:
    """An agent name: printable text of 1 to 256 characters. Raises ``InvalidArgument``."""
    if not isinstance(name, str) or not name or len(name) > MAX_AGENT or not name.isprintable():
        raise InvalidArgument(
            f"invalid agent name {name!r}", hint="use printable text, e.g. the host name"
        )
    return name


def validate_retries(retries: int) -> int:
    """A retry count from 0 to 100. Raises ``InvalidArgument``."""
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise InvalidArgument(
            f"retries must be a whole number from 0 to {MAX_RETRIES}, got {retries!r}",
            hint="e.g. --retries 2 runs a failing job up to 3 times",
        )
    return retries


def validate_lease(lease_s: float) -> float:
    """A lease of 0.1 second to 1 day. Raises ``InvalidArgument``."""
    if isinstance(lease_s, bool) or not isinstance(lease_s, int | float):
        raise InvalidArgument(f"lease must be a number of seconds, got {lease_s!r}")
    if not math.isfinite(lease_s) or not 0.1 <= lease_s <= 86400.0:
        raise InvalidArgument(
            f"lease must be from 0.1 s to 1 day, got {lease_s!r} s", hint="e.g. --lease 30s"
        )
    return float(lease_s)


def parse_duration(text: str | float, *, what: str = "duration") -> float:
    """Seconds from ``"500ms"``, ``"30s"``, ``"2m"``, ``"1.5h"``, ``"1d"`` or a bare number.

    >>> parse_duration("1h")
    3600.0
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION_RE.match(str(text))
        if not match:
            raise InvalidArgument(
                f"invalid {what} {text!r}",
                hint="write a number with an optional unit ms, s, m, h or d, e.g. 30s or 1h",
            )
        seconds = float(match.group(1)) * _DURATION_UNITS[(match.group(2) or "s").lower()]
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidArgument(f"{what} must be above 0, got {text!r}", hint="e.g. 30s or 1h")
    return seconds
