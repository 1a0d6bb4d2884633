"""Routes and wire models of workflow runs and their jobs (see :mod:`shipyard.store.workflows`)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from shipyard.api.routes import API_PREFIX
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.workflows import (
    StepStatus,
    TriggerEvent,
    WorkflowJob,
    WorkflowRun,
    WorkflowStatus,
)

WORKFLOW_RUNS = f"{API_PREFIX}/workflow-runs"
WORKFLOW_RUN = f"{WORKFLOW_RUNS}/{{workflow_run_id}}"
WORKFLOW_RUN_CANCEL = f"{WORKFLOW_RUN}/cancel"
WORKFLOW_RUN_STATUS = f"{WORKFLOW_RUN}/status"
WORKFLOW_JOB = f"{WORKFLOW_RUN}/jobs/{{job}}"
WORKFLOW_JOB_LOGS = f"{WORKFLOW_JOB}/logs"
WORKFLOW_CACHED_JOB = f"{API_PREFIX}/workflow-jobs/cached"
WORKFLOW_PREVIOUS_JOB = f"{API_PREFIX}/workflow-jobs/previous"

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", WORKFLOW_RUNS),
    ("POST", WORKFLOW_RUNS),
    ("GET", WORKFLOW_RUN),
    ("POST", WORKFLOW_RUN_CANCEL),
    ("POST", WORKFLOW_RUN_STATUS),
    ("PATCH", WORKFLOW_JOB),
    ("GET", WORKFLOW_JOB_LOGS),
    ("GET", WORKFLOW_CACHED_JOB),
    ("GET", WORKFLOW_PREVIOUS_JOB),
)
"""Every workflow route as ``(method, path template)``."""


class WorkflowJobOut(WireModel):
    """One job of a workflow run: its state, its run, why it ran or not, its outputs."""

    workflow_run_id: str
    name: str
    status: StepStatus
    position: int = 0
    run_id: str | None = None
    cache_key: str = ""
    reason: str = ""
    message: str = ""
    outputs: dict[str, str] = Field(default_factory=dict)
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    attempt: int = 1
    started_at: int | None = None
    ended_at: int | None = None

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a :class:`~shipyard.domain.workflows.WorkflowJob`."""
        assert isinstance(entity, WorkflowJob)
        data = {name: getattr(entity, name) for name in cls.model_fields}
        data["outputs"], data["fingerprint"] = dict(entity.outputs), dict(entity.fingerprint)
        return cls.model_validate(data)

    def to_domain(self) -> WorkflowJob:
        """Domain form."""
        return WorkflowJob(**self.model_dump())


class WorkflowRunOut(WireModel):
    """A workflow run, with its jobs when read alone (empty in listings)."""

    id: str
    name: str
    project: str
    path: str
    status: WorkflowStatus
    created_at: int
    spec: str = ""
    commit: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    user: str = ""
    message: str = ""
    ended_at: int | None = None
    cancel_requested: bool = False
    retry_of: str | None = None
    heartbeat_at: int | None = None
    jobs: list[WorkflowJobOut] = Field(default_factory=list)

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a :class:`~shipyard.domain.workflows.WorkflowRun` (no jobs)."""
        assert isinstance(entity, WorkflowRun)
        data = {name: getattr(entity, name) for name in cls.model_fields if name != "jobs"}
        data["params"] = dict(entity.params)
        data["trigger"] = None if entity.trigger is None else entity.trigger.to_dict()
        return cls.model_validate(data)

    def to_domain(self) -> WorkflowRun:
        """Domain form (without the jobs)."""
        data = self.model_dump(exclude={"jobs"})
        trigger = data.pop("trigger")
        return WorkflowRun(
            **data, trigger=None if trigger is None else TriggerEvent.from_dict(trigger)
        )


class WorkflowRunList(WireModel):
    """Workflow runs, newest first."""

    workflow_runs: list[WorkflowRunOut]


class LogLines(WireModel):
    """Output lines of a job."""

    lines: list[str]


MAX_JOBS = 1000
MAX_SPEC = 1 << 20


class WorkflowRunCreate(RequestModel):
    """A workflow run an engine outside the hub starts (``shipyard ci run`` against a hub)."""

    name: str = Field(min_length=1, max_length=256)
    project: str = Field(min_length=1, max_length=256)
    jobs: list[str] = Field(min_length=1, max_length=MAX_JOBS)
    path: str = Field(default="", max_length=4096)
    spec: str = Field(default="", max_length=MAX_SPEC)
    commit: str = Field(default="", max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    user: str = Field(default="", max_length=256)
    retry_of: str | None = Field(default=None, max_length=32)


class WorkflowStatusIn(RequestModel):
    """A workflow run's new status (and, when ending, why)."""

    status: WorkflowStatus
    message: str | None = Field(default=None, max_length=20000)


class WorkflowJobPatch(RequestModel):
    """The fields of a job to change; fields left out are kept."""

    status: StepStatus | None = None
    run_id: str | None = Field(default=None, min_length=1, max_length=32)
    cache_key: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=20000)
    message: str | None = Field(default=None, max_length=20000)
    outputs: dict[str, str] | None = None
    fingerprint: dict[str, Any] | None = None
    attempt: int | None = Field(default=None, ge=1)


class WorkflowJobFound(WireModel):
    """The answer to a step-cache lookup: the job found, or ``null``."""

    job: WorkflowJobOut | None = None
