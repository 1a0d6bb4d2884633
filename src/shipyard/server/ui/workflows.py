"""The hub's workflow pages: workflow runs, one run as a live DAG with job logs, and the watched
workflows with a "Run" button.

Everything comes from the store. The DAG is drawn on the server as SVG (columns by topological
level); the page's script polls :func:`workflow_state` for live statuses, shows a job's log (the
``workflow/output.log`` artifact of its run, stored when the job ends) and sends "Run", "Retry"
and "Cancel" to the REST API (a manual run is recorded as a request that the daemon carries out).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from shipyard.domain.triggers import redact_url
from shipyard.domain.workflows import WorkflowRun
from shipyard.errors import ShipyardError
from shipyard.server._deps import Store
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.routes.hooks import workflow_run_project
from shipyard.server.ui import _workflow_views as views
from shipyard.server.ui._templates import render
from shipyard.server.ui.pages import _page
from shipyard.store.base import RunStore
from shipyard.store.triggers import TriggerStore
from shipyard.store.workflows import WorkflowStore

router = APIRouter(include_in_schema=False)

MAX_RUNS = 200
MAX_REQUESTS = 50
LOG_PATH = "workflow/output.log"
"""Where the engine keeps a job's output, as an artifact of the job's run."""


def _workflows(store: RunStore) -> WorkflowStore:
    if not isinstance(store, WorkflowStore):
        raise ShipyardError(
            f"this hub's metadata store ({type(store).__name__}) does not keep workflows",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


@router.get("/workflows", dependencies=[rule(Need.USER)])
def workflows_page(request: Request, store: Store, caller: CallerDep) -> Response:
    """Workflow runs (newest first), watched workflows and recent requests."""

    def build() -> Response:
        runs = [
            r for r in _workflows(store).list_workflow_runs(limit=MAX_RUNS)
            if caller.sees(r.project)
        ]  # fmt: skip
        triggers = store if isinstance(store, TriggerStore) else None
        watches = triggers.list_workflow_watches() if triggers else []
        requests = triggers.list_workflow_requests(limit=MAX_REQUESTS) if triggers else []
        return render(
            request,
            "workflows.html",
            title="Workflows",
            nav="workflows",
            runs=runs,
            watches=watches,
            requests=requests,
            duration=views.duration,
            url_text=redact_url,
        )

    return _page(request, build)


@router.get(
    "/workflows/runs/{workflow_run_id}",
    dependencies=[rule(Need.READ, project=workflow_run_project)],
)
def workflow_run_page(request: Request, workflow_run_id: str, store: Store) -> Response:
    """One workflow run: its DAG with live statuses, its jobs, a job's log, Retry and Cancel."""

    def build() -> Response:
        workflows = _workflows(store)
        run = workflows.get_workflow_run(workflow_run_id)
        jobs = workflows.list_workflow_jobs(workflow_run_id)
        return render(
            request,
            "workflow_run.html",
            title=f"{run.name} · workflow run",
            nav="workflows",
            run=run,
            jobs=jobs,
            dag=views.layout(run, jobs),
            node_w=views.NODE_W,
            node_h=views.NODE_H,
            trigger=_trigger_text(run),
            duration=views.duration,
            state_json=json.dumps(views.state_json(run, jobs)),
        )

    return _page(request, build)


@router.get(
    "/workflows/runs/{workflow_run_id}/state.json",
    dependencies=[rule(Need.READ, project=workflow_run_project)],
)
def workflow_state(workflow_run_id: str, store: Store) -> Response:
    """The live state the run page polls: the run's and each job's status."""
    workflows = _workflows(store)
    run = workflows.get_workflow_run(workflow_run_id)
    data: dict[str, Any] = views.state_json(run, workflows.list_workflow_jobs(workflow_run_id))
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


def _trigger_text(run: WorkflowRun) -> str:
    return run.trigger.describe() if run.trigger is not None else "run by hand"
