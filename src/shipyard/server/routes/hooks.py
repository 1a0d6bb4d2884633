"""Trigger routes: git webhooks (GitHub, GitLab), workflow requests and watched workflows.

The hub only records requests; a workflow daemon (``shipyard server`` starts one) claims them,
fetches the repository and starts the matching workflows. Webhooks authenticate by signature
(``SHIPYARD_WEBHOOK_SECRET``, kept in ``app.state.webhook_secret``); a rejected delivery is
audited as ``hook.rejected`` without the secret or the signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from shipyard.api import hooks as api
from shipyard.api.hooks import (
    HookAccepted,
    ManualRunIn,
    WorkflowRequestList,
    WorkflowRequestOut,
    WorkflowWatchList,
    WorkflowWatchOut,
)
from shipyard.domain.triggers import RequestSource, RequestStatus
from shipyard.domain.workflows import WorkflowStatus
from shipyard.errors import InvalidArgument, NotFound, ShipyardError, Unauthenticated
from shipyard.server._deps import errors, json_response
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.audit import audit
from shipyard.store.triggers import TriggerStore
from shipyard.store.workflows import WorkflowStore
from shipyard.workflows import hooks

router = APIRouter(tags=["workflow triggers"])


def get_triggers(request: Request) -> TriggerStore:
    """The app's metadata store, as a trigger store."""
    store = request.app.state.store
    if not isinstance(store, TriggerStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) does not keep workflow "
            "requests",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


Triggers = Annotated[TriggerStore, Depends(get_triggers)]


def _workflow_store(request: Request) -> WorkflowStore:
    store = request.app.state.store
    if not isinstance(store, WorkflowStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) does not keep workflows",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


def workflow_run_project(request: Request) -> str:
    """The project of the workflow run named in the path (``NotFound`` if there is none)."""
    run_id = str(request.path_params["workflow_run_id"])
    return _workflow_store(request).get_workflow_run(run_id).project


_HOOK_DOC = (
    "Accepted deliveries answer 202 with the recorded request id (events that start nothing, "
    "such as pings, tag pushes or deleted branches, answer 202 with accepted=false). "
    "401 for a missing or wrong signature (audited), 403 when the hub has no webhook secret."
)


@router.post(
    api.HOOK_GITHUB,
    response_model=HookAccepted,
    status_code=202,
    responses=errors(401, 403),
    dependencies=[rule(Need.PUBLIC)],
    summary="Receive a GitHub webhook",
    description="A GitHub push or pull_request delivery signed with X-Hub-Signature-256 "
    "(HMAC-SHA256 of the body with the hub's webhook secret). " + _HOOK_DOC,
)
async def github_hook(request: Request, triggers: Triggers) -> Response:
    """Verify, parse and record a GitHub delivery."""
    body = await request.body()
    secret = _secret(request)
    signature = request.headers.get(hooks.SIGNATURE_HEADER)
    _checked(request, "github", lambda: hooks.verify_github(body, signature, secret))
    kind = request.headers.get(hooks.GITHUB_EVENT_HEADER, "")
    found = hooks.parse_github(kind, _payload(body))
    return await run_in_threadpool(_record, triggers, found, kind)


@router.post(
    api.HOOK_GITLAB,
    response_model=HookAccepted,
    status_code=202,
    responses=errors(401, 403),
    dependencies=[rule(Need.PUBLIC)],
    summary="Receive a GitLab webhook",
    description="A GitLab Push Hook or Merge Request Hook delivery whose X-Gitlab-Token equals "
    "the hub's webhook secret. " + _HOOK_DOC,
)
async def gitlab_hook(request: Request, triggers: Triggers) -> Response:
    """Verify, parse and record a GitLab delivery."""
    body = await request.body()
    secret = _secret(request)
    token = request.headers.get(hooks.GITLAB_TOKEN_HEADER)
    _checked(request, "gitlab", lambda: hooks.verify_gitlab(token, secret))
    kind = request.headers.get(hooks.GITLAB_EVENT_HEADER, "")
    found = hooks.parse_gitlab(kind, _payload(body))
    return await run_in_threadpool(_record, triggers, found, kind)


@router.get(
    api.WORKFLOW_REQUESTS,
    response_model=WorkflowRequestList,
    responses=errors(),
    dependencies=[rule(Need.USER)],
    summary="List workflow requests",
    description="Requests to start workflows (webhooks, schedules, events, manual runs), newest "
    "first, optionally in some statuses.",
)
def list_requests(
    triggers: Triggers,
    status: Annotated[list[RequestStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """List workflow requests."""
    found = triggers.list_workflow_requests(statuses=status or (), limit=limit)
    return json_response(WorkflowRequestList(requests=[WorkflowRequestOut.of(r) for r in found]))


@router.post(
    api.WORKFLOW_REQUESTS,
    response_model=WorkflowRequestOut,
    status_code=202,
    responses=errors(404),
    dependencies=[rule(Need.USER)],
    summary="Run a watched workflow now",
    description="Record a manual request for one watched workflow (see GET "
    "/api/v1/workflow-watches); the daemon runs it on its branch head with the given params.",
)
def manual_run(body: ManualRunIn, triggers: Triggers, caller: CallerDep) -> Response:
    """Record a manual workflow request."""
    watch = next((w for w in triggers.list_workflow_watches() if w.id == body.watch_id), None)
    if watch is None:
        raise NotFound(
            f"watched workflow {body.watch_id!r} not found",
            hint="GET /api/v1/workflow-watches lists the workflows this hub knows",
        )
    created = triggers.create_workflow_request(
        source=RequestSource.MANUAL,
        event={"kind": "manual"},
        repo_url=watch.repo_url,
        ref=f"refs/heads/{watch.branch}" if watch.branch else "",
        workflow=watch.path,
        params=body.params,
        requested_by=caller.user,
    )
    return json_response(WorkflowRequestOut.of(created), status_code=202)


@router.get(
    api.WORKFLOW_REQUEST,
    response_model=WorkflowRequestOut,
    responses=errors(404),
    dependencies=[rule(Need.USER)],
    summary="Get a workflow request",
    description="One workflow request: its status, the workflow runs it started, its error.",
)
def get_request(request_id: str, triggers: Triggers) -> Response:
    """Read one workflow request."""
    return json_response(WorkflowRequestOut.of(triggers.get_workflow_request(request_id)))


@router.post(
    api.WORKFLOW_RETRY,
    response_model=WorkflowRequestOut,
    status_code=202,
    responses=errors(404),
    dependencies=[rule(Need.WRITE, project=workflow_run_project)],
    summary="Retry a workflow run on the hub",
    description="Record a request that the hub's workflow daemon carries out: a new workflow run "
    "that reuses the jobs that succeeded and runs the failed ones again. 400 when the run has "
    "not ended or succeeded.",
)
def retry_run(
    workflow_run_id: str, request: Request, triggers: Triggers, caller: CallerDep
) -> Response:
    """Record a retry request."""
    run = _workflow_store(request).get_workflow_run(workflow_run_id)
    if not run.status.is_terminal or run.status is WorkflowStatus.SUCCEEDED:
        raise InvalidArgument(
            f"workflow run {run.id} is {run.status.value}: only a failed or cancelled run can be "
            "retried",
            hint="wait for it to end or cancel it; start a succeeded workflow again instead",
        )
    created = triggers.create_workflow_request(
        source=RequestSource.MANUAL,
        event={"kind": "manual", "retry_of": run.id},
        requested_by=caller.user,
    )
    audit(request, "workflow.retry.requested", f"workflow-run:{run.id}",
          after={"request_id": created.id})  # fmt: skip
    return json_response(WorkflowRequestOut.of(created), status_code=202)


@router.get(
    api.WORKFLOW_WATCHES,
    response_model=WorkflowWatchList,
    responses=errors(),
    dependencies=[rule(Need.USER)],
    summary="List watched workflows",
    description="Workflow files the daemon knows: seen in repositories it fetched, or added "
    "with `shipyard workflow schedule add`; their schedules and event triggers.",
)
def list_watches(triggers: Triggers) -> Response:
    """List watched workflows."""
    found = triggers.list_workflow_watches()
    return json_response(WorkflowWatchList(watches=[WorkflowWatchOut.of(w) for w in found]))


# -- helpers ----------------------------------------------------------------------------------


def _secret(request: Request) -> str | None:
    secret = getattr(request.app.state, "webhook_secret", None)
    return secret if isinstance(secret, str) and secret else None


def _checked(request: Request, provider: str, verify: Callable[[], None]) -> None:
    """Run ``verify``; audit and re-raise a rejection (never with the secret or signature)."""
    try:
        verify()
    except Unauthenticated as exc:
        audit(request, "hook.rejected", f"hooks/{provider}", after={"reason": exc.message})
        raise


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidArgument(
            "the webhook body is not a JSON object",
            hint="configure the webhook with content type application/json",
        )
    return payload


def _record(triggers: TriggerStore, found: hooks.HookEvent | None, kind: str) -> Response:
    if found is None:
        message = f"event {kind[:64]!r} starts no workflow; ignored"
        return json_response(HookAccepted(accepted=False, message=message), status_code=202)
    created = triggers.create_workflow_request(
        source=found.source,
        event=found.event,
        repo_url=found.repo_url,
        ref=found.ref,
        commit=found.commit,
    )
    message = f"workflow request {created.id} recorded for {found.commit[:12]}"
    return json_response(
        HookAccepted(accepted=True, request_id=created.id, message=message), status_code=202
    )
