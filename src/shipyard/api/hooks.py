"""Routes and wire models of workflow triggers: git webhooks, workflow requests and watches
(see :mod:`shipyard.store.triggers`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from shipyard.api.routes import API_PREFIX
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.triggers import RequestSource, RequestStatus, redact_url

HOOK_GITHUB = f"{API_PREFIX}/hooks/github"
HOOK_GITLAB = f"{API_PREFIX}/hooks/gitlab"
WORKFLOW_REQUESTS = f"{API_PREFIX}/workflow-requests"
WORKFLOW_REQUEST = f"{WORKFLOW_REQUESTS}/{{request_id}}"
WORKFLOW_RETRY = f"{WORKFLOW_REQUESTS}/retry/{{workflow_run_id}}"
WORKFLOW_WATCHES = f"{API_PREFIX}/workflow-watches"

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", HOOK_GITHUB),
    ("POST", HOOK_GITLAB),
    ("GET", WORKFLOW_REQUESTS),
    ("POST", WORKFLOW_REQUESTS),
    ("GET", WORKFLOW_REQUEST),
    ("POST", WORKFLOW_RETRY),
    ("GET", WORKFLOW_WATCHES),
)
"""Every trigger route as ``(method, path template)``."""


class HookAccepted(WireModel):
    """The answer to a webhook delivery: the request recorded, or why nothing was."""

    accepted: bool = Field(description="Whether a workflow request was recorded.")
    request_id: str | None = None
    message: str = ""


class WorkflowRequestOut(WireModel):
    """A request to start workflows, and what became of it."""

    id: str
    source: RequestSource
    status: RequestStatus
    repo_url: str
    ref: str
    commit: str
    event: dict[str, Any]
    workflow: str | None = None
    params: dict[str, Any]
    created_at: int
    updated_at: int
    claimed_by: str | None = None
    lease_until: int | None = None
    attempts: int = 0
    workflow_run_ids: list[str] = []
    error: str = ""
    requested_by: str = ""

    @field_validator("repo_url")
    @classmethod
    def _hide_credentials(cls, value: str) -> str:
        return redact_url(value)


class WorkflowRequestList(WireModel):
    """Workflow requests, newest first."""

    requests: list[WorkflowRequestOut]


class ManualRunIn(RequestModel):
    """Run one watched workflow now (the daemon fetches its branch head)."""

    watch_id: str = Field(description="A watched workflow (GET /api/v1/workflow-watches).")
    params: dict[str, Any] = Field(default_factory=dict, description="Workflow params to set.")


class WorkflowWatchOut(WireModel):
    """A workflow file the daemon knows (its schedules and events)."""

    id: str
    repo_url: str
    path: str
    branch: str
    commit: str
    schedules: list[str]
    events: dict[str, Any]
    last_tick_at: int
    created_at: int
    updated_at: int

    @field_validator("repo_url")
    @classmethod
    def _hide_credentials(cls, value: str) -> str:
        return redact_url(value)


class WorkflowWatchList(WireModel):
    """Watched workflow files."""

    watches: list[WorkflowWatchOut]
