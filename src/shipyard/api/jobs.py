"""Routes and wire models of jobs, queues and agents (see :mod:`shipyard.store.jobs`)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from shipyard.api.routes import API_PREFIX
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.jobs import MAX_AGENT, MAX_QUEUE, MAX_RETRIES, Job, JobAttempt, JobPhase

JOBS = f"{API_PREFIX}/jobs"
JOB = f"{JOBS}/{{run_id}}"
JOB_ATTEMPTS = f"{JOB}/attempts"
JOB_CANCEL = f"{JOB}/cancel"
JOB_HEARTBEAT = f"{JOB}/heartbeat"
JOB_COMPLETE = f"{JOB}/complete"
QUEUE_CLAIM = f"{API_PREFIX}/queues/{{queue}}/claim"

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", JOBS),
    ("GET", JOBS),
    ("GET", JOB),
    ("POST", JOB_ATTEMPTS),
    ("POST", JOB_CANCEL),
    ("POST", JOB_HEARTBEAT),
    ("POST", JOB_COMPLETE),
    ("POST", QUEUE_CLAIM),
)
"""Every job route as ``(method, path template)``."""


class JobAttemptOut(WireModel):
    """How one attempt ended."""

    attempt: int
    state: JobPhase
    exit_code: int | None = None
    message: str = ""
    handle: str | None = None
    agent: str | None = None
    started_at: int | None = None
    ended_at: int | None = None

    def to_domain(self) -> JobAttempt:
        """Domain form."""
        return JobAttempt(**self.model_dump())


class JobOut(WireModel):
    """A job: a run executed by an executor, directly or through a queue."""

    run_id: str
    executor: str
    spec: dict[str, Any]
    state: JobPhase
    attempts: int
    max_retries: int
    queue: str | None = None
    agent: str | None = None
    handle: str | None = None
    lease_s: float | None = None
    heartbeat_at: int | None = None
    cancel_requested: bool = False
    exit_code: int | None = None
    message: str = ""
    created_at: int
    updated_at: int
    started_at: int | None = None
    ended_at: int | None = None
    history: list[JobAttemptOut] = Field(default_factory=list)

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a :class:`~shipyard.domain.jobs.Job`."""
        assert isinstance(entity, Job)
        data = {name: getattr(entity, name) for name in cls.model_fields}
        data["spec"] = dict(entity.spec)
        data["history"] = [JobAttemptOut.model_validate(a) for a in entity.history]
        return cls.model_validate(data)

    def to_domain(self) -> Job:
        """Domain form."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        fields["history"] = tuple(item.to_domain() for item in self.history)
        return Job(**fields)


class JobList(WireModel):
    """Jobs, newest first."""

    jobs: list[JobOut]


class JobCreate(RequestModel):
    """Record the job of an existing run."""

    run_id: str
    executor: str
    spec: dict[str, Any]
    max_retries: int = Field(default=0, ge=0, le=MAX_RETRIES)
    queue: str | None = Field(default=None, max_length=MAX_QUEUE)


class AttemptStart(RequestModel):
    """Open the next attempt of a direct job (``handle``: where it was submitted, if known)."""

    attempt: int = Field(ge=1)
    handle: str | None = Field(default=None, min_length=1, max_length=512)


class ClaimRequest(RequestModel):
    """An agent asks for the oldest queued job of a queue."""

    agent: str = Field(min_length=1, max_length=MAX_AGENT)
    lease_s: float = Field(gt=0, description="Seconds without a heartbeat before it is LOST.")


class HeartbeatRequest(RequestModel):
    """The holder of an attempt renews its lease (and may say it runs, and where)."""

    attempt: int = Field(ge=1)
    agent: str | None = Field(default=None, max_length=MAX_AGENT)
    state: JobPhase | None = None
    handle: str | None = Field(default=None, max_length=512)


class CompleteRequest(RequestModel):
    """The holder of an attempt says how it ended."""

    attempt: int = Field(ge=1)
    state: JobPhase
    agent: str | None = Field(default=None, max_length=MAX_AGENT)
    exit_code: int | None = None
    message: str = ""
