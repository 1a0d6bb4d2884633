""":class:`HttpDeployments`: deployments on a Shipyard hub, over its REST API.

The hub records desired state and its controller reconciles it, so changes return at once;
:meth:`HttpDeployments.wait` polls until the controller applied the latest change. Same methods
as :class:`shipyard.serving.local.LocalDeployments` (the embedded side), which the CLI picks by
tracking URI.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.api import deployments as api
from shipyard.api.deployments import (
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
    LogsOut,
    MetricsOut,
    ReferenceIn,
    RolloutRequest,
)
from shipyard.api.routes import url
from shipyard.domain.serving import (
    AlertFiring,
    AlertKind,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DriftReport,
)
from shipyard.errors import NotFound, Unavailable
from shipyard.sdk._http_store import HttpRunStore, wire

POLL_S = 0.5


class HttpDeployments:
    """Create, change and watch deployments on a hub.

    Example::

        deployments = HttpDeployments(HttpRunStore("http://127.0.0.1:8080"))
        deployments.create("iris", "models:/iris-clf@champion", follow_alias=True)
        ready = deployments.wait("iris", timeout_s=120)
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def create(
        self,
        name: str,
        model_uri: str,
        *,
        project: str | None = None,
        follow_alias: bool = False,
        config: Mapping[str, Any] | None = None,
        reference: Mapping[str, Any] | None = None,
    ) -> Deployment:
        """Record a deployment (the hub's controller starts it)."""
        body = wire(
            DeploymentCreate, name=name, model_uri=model_uri, project=project,
            follow_alias=follow_alias, config=dict(config or {}),
            reference=None if reference is None else dict(reference),
        )  # fmt: skip
        return self._deployment("POST", api.DEPLOYMENTS, body)

    def update(
        self,
        name: str,
        model_uri: str,
        *,
        canary_percent: int | None = None,
        follow_alias: bool | None = None,
    ) -> Deployment:
        """Roll out a model, as a canary or as the new stable version."""
        body = wire(
            RolloutRequest,
            model_uri=model_uri,
            canary_percent=canary_percent,
            follow_alias=follow_alias,
        )
        return self._deployment("POST", url(api.DEPLOYMENT_ROLLOUT, name=name), body)

    def promote(self, name: str) -> Deployment:
        """Make the canary the stable version."""
        return self._deployment("POST", url(api.DEPLOYMENT_PROMOTE, name=name))

    def rollback(self, name: str) -> Deployment:
        """Drop the canary."""
        return self._deployment("POST", url(api.DEPLOYMENT_ROLLBACK, name=name))

    def delete(self, name: str) -> Deployment | None:
        """Ask the hub to stop and remove the deployment."""
        return self._deployment("DELETE", url(api.DEPLOYMENT, name=name))

    def get(self, name: str) -> Deployment:
        """One deployment. Raises ``NotFound``."""
        return self._deployment("GET", url(api.DEPLOYMENT, name=name))

    def list_deployments(self, project: str | None = None) -> Sequence[Deployment]:
        """Deployments by name."""
        params = {} if project is None else {"project": project}
        found = self._http._get(DeploymentList, api.DEPLOYMENTS, params)
        return [d.to_domain() for d in found.deployments]

    def wait(self, name: str, timeout_s: float = 300.0) -> Deployment | None:
        """Poll until the controller applied the latest change (``None`` once deleted).
        Raises ``Unavailable`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                current = self.get(name)
            except NotFound:
                return None
            if current.settled and current.status.value != "DELETING":
                return current
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"deployment {name!r} is still {current.status.value} after {timeout_s:.0f}s",
                    hint="`shipyard deployments logs NAME` shows its server's output",
                )
            time.sleep(POLL_S)

    def events(self, name: str, limit: int = 50) -> Sequence[DeploymentEvent]:
        """History, newest first."""
        found = self._http._get(EventList, url(api.DEPLOYMENT_EVENTS, name=name), {"limit": limit})
        return [e.to_domain() for e in found.events]

    def logs(self, name: str, lines: int = 100) -> str:
        """The last lines of the server log."""
        path = url(api.DEPLOYMENT_LOGS, name=name)
        return self._http._get(LogsOut, path, {"lines": lines}).text

    def metrics(self, name: str, window_s: int = 300) -> dict[str, Any]:
        """``{"series": ..., "window": ...}`` (see the metrics route)."""
        path = url(api.DEPLOYMENT_METRICS, name=name)
        return self._http._get(MetricsOut, path, {"window_s": window_s}).model_dump()

    def drift(self, name: str, window_s: float | None = None) -> DriftReport:
        """Run a drift check now."""
        body = wire(DriftRequest, window_s=window_s)
        path = url(api.DEPLOYMENT_DRIFT, name=name)
        return self._http._send(DriftReportOut, "POST", path, body).to_domain()

    def drift_reports(self, name: str, limit: int = 20) -> Sequence[DriftReport]:
        """Stored drift reports, newest first."""
        found = self._http._get(DriftList, url(api.DEPLOYMENT_DRIFT, name=name), {"limit": limit})
        return [r.to_domain() for r in found.reports]

    def set_reference(self, name: str, reference: Mapping[str, Any]) -> None:
        """Store a drift reference summary."""
        body = wire(ReferenceIn, reference=dict(reference))
        self._http.request("PUT", url(api.DEPLOYMENT_REFERENCE, name=name), body=body)

    def add_alert(
        self,
        name: str,
        *,
        kind: AlertKind,
        threshold: float,
        window_s: int = 300,
        webhook_url: str | None = None,
        workflow: str | None = None,
    ) -> AlertRule:
        """Add an alert rule."""
        body = wire(
            AlertRuleCreate, kind=kind, threshold=threshold, window_s=window_s,
            webhook_url=webhook_url, workflow=workflow,
        )  # fmt: skip
        path = url(api.DEPLOYMENT_ALERTS, name=name)
        return self._http._send(AlertRuleOut, "POST", path, body).to_domain()

    def alerts(self, name: str) -> tuple[list[AlertRule], list[AlertFiring]]:
        """Rules and recent firings."""
        found = self._http._get(AlertList, url(api.DEPLOYMENT_ALERTS, name=name))
        return [r.to_domain() for r in found.rules], [f.to_domain() for f in found.firings]

    def delete_alert(self, name: str, rule_id: str) -> None:
        """Remove an alert rule."""
        self._http.request("DELETE", url(api.DEPLOYMENT_ALERT, name=name, rule_id=rule_id))

    def close(self) -> None:
        """Nothing to release (the HTTP store is closed by its owner)."""

    def _deployment(self, method: str, path: str, body: Any = None) -> Deployment:
        response = self._http.request(method, path, body=body)
        return DeploymentOut.model_validate_json(response.content).to_domain()
