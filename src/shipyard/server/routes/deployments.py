"""Deployment routes: desired state (create, roll out, promote, roll back, delete), history, logs,
metrics, drift and alert rules.

The hub only records desired state; the deployment controller that ``shipyard server`` runs
(:mod:`shipyard.serving.controller`) reconciles it with server processes on the hub machine.
Access: the deployment's project decides (``READ`` to look and to run a drift check, ``WRITE`` to
change). Creating one needs ``WRITE`` on the project it goes to, checked in the handler since the
rule runs before the body is read; creating or rolling out also needs ``READ`` on the project of
the model it serves (a model the caller cannot see is "not found", as if it did not exist).
Changes are audited with their before and after versions; webhook URLs (which often hold a
secret) are shown with their path hidden.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from shipyard.api import deployments as api
from shipyard.api.deployments import (
    AlertFiringOut,
    AlertList,
    AlertRuleCreate,
    AlertRuleOut,
    DeploymentCreate,
    DeploymentList,
    DeploymentOut,
    DriftList,
    DriftReportOut,
    DriftRequest,
    EventList,
    EventOut,
    LogsOut,
    MetricsOut,
    ReferenceIn,
    RolloutRequest,
)
from shipyard.domain.serving import AlertRule, Deployment
from shipyard.errors import NotFound, ShipyardError
from shipyard.server._deps import errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, rule
from shipyard.server.audit import audit
from shipyard.serving import monitoring, scrape
from shipyard.serving.deployments import DeploymentManager, DeploymentStore, resolve_target
from shipyard.serving.drift import ReferenceSummary
from shipyard.store.serving import ServingStore

router = APIRouter(tags=["deployments"])
NO_CONTENT = 204


def get_deployments(request: Request) -> DeploymentStore:
    """The app's metadata store, as a deployment store."""
    store = request.app.state.store
    if not isinstance(store, ServingStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) keeps no deployments",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store  # type: ignore[return-value]  # a SQL store is also the registry and runs


Store = Annotated[DeploymentStore, Depends(get_deployments)]


def deployment_project(request: Request) -> str:
    """The project of the deployment named in the path (``NotFound`` when missing)."""
    return get_deployments(request).get_deployment(str(request.path_params["name"])).project


READ = [rule(Need.READ, project=deployment_project)]
WRITE = [rule(Need.WRITE, project=deployment_project)]


def _readable_model(store: DeploymentStore, caller: Caller, uri: str) -> str:
    """The project of the model ``uri`` names; ``NotFound`` when the caller may not read it."""
    project = resolve_target(store, uri).project
    if not caller.sees(project):
        raise NotFound(
            f"model {uri!r} not found",
            hint="check the URI (`shipyard models list`), and that you are a member of its project",
        )
    caller.require(project, Need.READ)
    return project


def _out(deployment: Deployment, status_code: int = 200) -> Response:
    return json_response(DeploymentOut.of(deployment), status_code=status_code)


def _revisions(deployment: Deployment) -> dict[str, Any]:
    return {
        "stable": deployment.stable_uri,
        "canary": deployment.canary_uri,
        "canary_percent": deployment.canary_percent,
    }


@router.post(
    api.DEPLOYMENTS,
    response_model=DeploymentOut,
    status_code=201,
    responses=errors(403, 404, 409),
    dependencies=[rule(Need.USER)],
    summary="Create a deployment",
    description="Deploy a model URI (an alias resolves to its version now; `follow_alias` rolls "
    "out the new version whenever the alias moves). The hub's controller starts its server; "
    "poll the deployment until it is READY (or FAILED: a model that fails to load never takes "
    "traffic). Needs WRITE on the project (default: the registered model's).",
)
def create_deployment(
    body: DeploymentCreate, request: Request, store: Store, caller: CallerDep
) -> Response:
    """Record a deployment."""
    model_project = _readable_model(store, caller, body.model_uri)
    project = body.project or model_project
    caller.require(project, Need.WRITE)
    deployment = DeploymentManager(store).create(
        body.name, body.model_uri, project=project, follow_alias=body.follow_alias,
        config=body.config, reference=body.reference, created_by=caller.user,
    )  # fmt: skip
    audit(request, "deployment.create", f"deployments/{body.name}", after=_revisions(deployment))
    return _out(deployment, 201)


@router.get(
    api.DEPLOYMENTS,
    response_model=DeploymentList,
    responses=errors(),
    dependencies=[rule(Need.USER)],
    summary="List deployments",
    description="Deployments by name (those of projects the caller may see), optionally of one "
    "project.",
)
def list_deployments(store: Store, caller: CallerDep, project: str | None = None) -> Response:
    """List deployments."""
    found = [d for d in store.list_deployments(project=project) if caller.sees(d.project)]
    return json_response(DeploymentList(deployments=[DeploymentOut.of(d) for d in found]))


@router.get(
    api.DEPLOYMENT,
    response_model=DeploymentOut,
    responses=errors(404),
    dependencies=READ,
    summary="Read a deployment",
    description="Desired versions and traffic split, status, URL and the slots its server "
    "accepted last (`applied`). `generation` > `observed_generation` while a change is pending.",
)
def get_deployment(name: str, store: Store) -> Response:
    """Read a deployment."""
    return _out(store.get_deployment(name))


@router.delete(
    api.DEPLOYMENT,
    response_model=DeploymentOut,
    responses=errors(404),
    dependencies=WRITE,
    summary="Delete a deployment",
    description="Marks it DELETING; the controller stops its server and removes it with its "
    "history.",
)
def delete_deployment(name: str, request: Request, store: Store) -> Response:
    """Ask for a delete."""
    before = store.get_deployment(name)
    deployment = DeploymentManager(store).delete(name)
    audit(request, "deployment.delete", f"deployments/{name}", before=_revisions(before))
    return _out(deployment)


def _change(request: Request, name: str, action: str, store: DeploymentStore, do: Any) -> Response:
    before = store.get_deployment(name)
    after = do()
    audit(
        request,
        f"deployment.{action}",
        f"deployments/{name}",
        before=_revisions(before),
        after=_revisions(after),
    )
    return _out(after)


@router.post(
    api.DEPLOYMENT_ROLLOUT,
    response_model=DeploymentOut,
    responses=errors(404, 409),
    dependencies=WRITE,
    summary="Roll out a model version",
    description="With `canary_percent` 1-99 the new version takes that share of requests next "
    "to the stable one (then promote or roll back); without it (or 100) it replaces the stable "
    "version. A version that fails to load is reverted and never takes traffic.",
)
def rollout(
    name: str, body: RolloutRequest, request: Request, store: Store, caller: CallerDep
) -> Response:
    """Roll out a model."""
    _readable_model(store, caller, body.model_uri)
    manager = DeploymentManager(store)
    return _change(
        request, name, "rollout", store,
        lambda: manager.update(name, body.model_uri, canary_percent=body.canary_percent,
                               follow_alias=body.follow_alias),
    )  # fmt: skip


@router.post(
    api.DEPLOYMENT_PROMOTE,
    response_model=DeploymentOut,
    responses=errors(404, 409),
    dependencies=WRITE,
    summary="Promote the canary",
    description="The canary becomes the stable version and takes every request. 409 without a "
    "canary.",
)
def promote(name: str, request: Request, store: Store) -> Response:
    """Promote the canary."""
    manager = DeploymentManager(store)
    return _change(request, name, "promote", store, lambda: manager.promote(name))


@router.post(
    api.DEPLOYMENT_ROLLBACK,
    response_model=DeploymentOut,
    responses=errors(404, 409),
    dependencies=WRITE,
    summary="Roll back the canary",
    description="Drop the canary: the stable version takes every request again. 409 without a "
    "canary.",
)
def rollback(name: str, request: Request, store: Store) -> Response:
    """Roll back the canary."""
    manager = DeploymentManager(store)
    return _change(request, name, "rollback", store, lambda: manager.rollback(name))


@router.get(
    api.DEPLOYMENT_EVENTS,
    response_model=EventList,
    responses=errors(404),
    dependencies=READ,
    summary="A deployment's history",
    description="Created, rolled out, switched, failed, reverted, alias moved, alerts; newest "
    "first.",
)
def events(name: str, store: Store, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    """List events."""
    found = store.list_deployment_events(name, limit=limit)
    return json_response(EventList(events=[EventOut.of(e) for e in found]))


@router.get(
    api.DEPLOYMENT_LOGS,
    response_model=LogsOut,
    responses=errors(404),
    dependencies=READ,
    summary="A deployment's server log",
    description="The last `lines` lines of its server's output (on the hub machine).",
)
def logs(name: str, store: Store, lines: Annotated[int, Query(ge=1, le=10000)] = 100) -> Response:
    """Read the server log."""
    return json_response(LogsOut(text=monitoring.logs(store.get_deployment(name), lines)))


@router.get(
    api.DEPLOYMENT_METRICS,
    response_model=MetricsOut,
    responses=errors(404),
    dependencies=READ,
    summary="A deployment's request metrics",
    description="Requests and errors per second, p99 latency (seconds) and mean batch size per "
    "scrape interval since `since` (ms; default the last hour), and the totals of the last "
    "`window_s` seconds.",
)
def metrics(
    name: str,
    store: Store,
    since: Annotated[int | None, Query(ge=0)] = None,
    window_s: Annotated[int, Query(ge=1, le=86400)] = 300,
) -> Response:
    """Read metric series."""
    now = int(time.time() * 1000)
    samples = store.list_metric_samples(name, since=now - 3_600_000 if since is None else since)
    body = MetricsOut(series=scrape.series(samples), window=scrape.window(samples, window_s, now))
    return json_response(body)


@router.get(
    api.DEPLOYMENT_DRIFT,
    response_model=DriftList,
    responses=errors(404),
    dependencies=READ,
    summary="A deployment's drift reports",
    description="Stored drift checks, newest first (the controller runs one a minute when "
    "enough predictions were logged).",
)
def drift_reports(
    name: str, store: Store, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> Response:
    """List drift reports."""
    found = store.list_drift_reports(name, limit=limit)
    return json_response(DriftList(reports=[DriftReportOut.of(r) for r in found]))


@router.post(
    api.DEPLOYMENT_DRIFT,
    response_model=DriftReportOut,
    responses=errors(404),
    dependencies=READ,
    summary="Run a drift check now",
    description="Tests the predictions logged in the last `window_s` seconds against the "
    "reference, per feature (KS or Wasserstein for numbers, chi-squared, Z or Jensen-Shannon "
    "for categories), stores and returns the report. 404 without a reference or logged rows.",
)
def check_drift(name: str, body: DriftRequest, request: Request, store: Store) -> Response:
    """Run a drift check."""
    deployment = store.get_deployment(name)
    artifacts = request.app.state.artifacts
    report = monitoring.check(store, artifacts, deployment, None, body.window_s)  # type: ignore[arg-type]
    return json_response(DriftReportOut.of(report))


@router.put(
    api.DEPLOYMENT_REFERENCE,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE,
    summary="Set the drift reference",
    description="Store a summarised reference (`shipyard.serving.drift.summarize`) for drift "
    "checks, replacing the one from the model's lineage.",
)
def set_reference(name: str, body: ReferenceIn, request: Request, store: Store) -> Response:
    """Store a reference summary."""
    summary = ReferenceSummary.from_dict(body.reference)
    store.set_deployment_reference(name, summary.to_dict())
    audit(request, "deployment.reference", f"deployments/{name}", after={"rows": summary.rows})
    return Response(status_code=NO_CONTENT)


def redact_url(url: str | None) -> str | None:
    """``scheme://host/...``: a webhook's path often holds its secret."""
    if url is None:
        return None
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}/…" if slash and path else url


def _rule_out(found: AlertRule) -> AlertRuleOut:
    out = AlertRuleOut.model_validate(found)
    return out.model_copy(update={"webhook_url": redact_url(found.webhook_url)})


@router.get(
    api.DEPLOYMENT_ALERTS,
    response_model=AlertList,
    responses=errors(404),
    dependencies=READ,
    summary="A deployment's alert rules and firings",
    description="Rules (webhook URLs with their path hidden) and recent firings, newest first.",
)
def list_alerts(
    name: str, store: Store, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response:
    """List alert rules and firings."""
    rules = [_rule_out(r) for r in store.list_alert_rules(name)]
    firings = [
        AlertFiringOut.model_validate(f) for f in store.list_alert_firings(name, limit=limit)
    ]
    return json_response(AlertList(rules=rules, firings=firings))


@router.post(
    api.DEPLOYMENT_ALERTS,
    response_model=AlertRuleOut,
    status_code=201,
    responses=errors(404),
    dependencies=WRITE,
    summary="Add an alert rule",
    description="latency_p99 (seconds) and error_rate (0-1) over `window_s`, or drift (share of "
    "drifted features in the latest report). When it starts to hold it POSTs JSON to "
    "`webhook_url` and records an `alert` workflow request (for workflows with `on: alert`).",
)
def add_alert(name: str, body: AlertRuleCreate, request: Request, store: Store) -> Response:
    """Add an alert rule."""
    created = store.create_alert_rule(
        name, kind=body.kind, threshold=body.threshold, window_s=body.window_s,
        webhook_url=body.webhook_url, workflow=body.workflow,
    )  # fmt: skip
    after = {"id": created.id, "kind": created.kind.value, "threshold": created.threshold}
    audit(request, "deployment.alert.add", f"deployments/{name}", after=after)
    return json_response(_rule_out(created), status_code=201)


@router.delete(
    api.DEPLOYMENT_ALERT,
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE,
    summary="Remove an alert rule",
    description="Removes the rule and its firings.",
)
def delete_alert(name: str, rule_id: str, request: Request, store: Store) -> Response:
    """Remove an alert rule."""
    if not any(r.id == rule_id for r in store.list_alert_rules(name)):
        raise NotFound(
            f"deployment {name!r} has no alert rule {rule_id!r}",
            hint=f"`shipyard deployments alerts list {name}` shows its rules",
        )
    store.delete_alert_rule(rule_id)
    audit(request, "deployment.alert.delete", f"deployments/{name}", before={"id": rule_id})
    return Response(status_code=NO_CONTENT)
